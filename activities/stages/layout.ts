import { join } from 'node:path';
import { runDir } from '../kit/files.js';

/**
 * Where the fine-tune, evaluate and ablation stages keep their files. Every path is a function of
 * (run, domain, variant, batch) alone, so a retried activity finds what an earlier attempt wrote
 * and a finished step is never redone:
 *
 *   runs/<run>/stages/<domain>/eval/items.jsonl            the benchmark items evaluated (same for every variant)
 *   runs/<run>/stages/<domain>/eval/batch-000.jsonl        their prompts, one file per evaluation activity
 *   runs/<run>/stages/<domain>/variants/<variant>/train.jsonl        chat-format training data
 *   runs/<run>/stages/<domain>/variants/<variant>/finetune/          the backend's outputs and resume state
 *   runs/<run>/stages/<domain>/variants/<variant>/predictions/batch-000.jsonl
 *   runs/<run>/stages/<domain>/variants/<variant>/scores.json        per-item outputs and correctness
 *   runs/<run>/stages/<domain>/variants/<variant>/result.json        the variant's summary (the report reads these)
 */
export const stagesDir = (home: string, runId: string): string => join(runDir(home, runId), 'stages');
export const domainStageDir = (home: string, runId: string, domain: string): string => join(stagesDir(home, runId), domain);
export const evalDir = (home: string, runId: string, domain: string): string => join(domainStageDir(home, runId, domain), 'eval');
export const evalItemsPath = (home: string, runId: string, domain: string): string => join(evalDir(home, runId, domain), 'items.jsonl');
export const evalBatchPath = (home: string, runId: string, domain: string, batch: number): string =>
  join(evalDir(home, runId, domain), `batch-${pad(batch)}.jsonl`);
export const variantDir = (home: string, runId: string, domain: string, variant: string): string =>
  join(domainStageDir(home, runId, domain), 'variants', variant);
export const trainDataPath = (home: string, runId: string, domain: string, variant: string): string =>
  join(variantDir(home, runId, domain, variant), 'train.jsonl');
export const finetuneDir = (home: string, runId: string, domain: string, variant: string): string =>
  join(variantDir(home, runId, domain, variant), 'finetune');
export const predictionsPath = (home: string, runId: string, domain: string, variant: string, batch: number): string =>
  join(variantDir(home, runId, domain, variant), 'predictions', `batch-${pad(batch)}.jsonl`);
export const scoresPath = (home: string, runId: string, domain: string, variant: string): string =>
  join(variantDir(home, runId, domain, variant), 'scores.json');
export const resultPath = (home: string, runId: string, domain: string, variant: string): string =>
  join(variantDir(home, runId, domain, variant), 'result.json');

const pad = (n: number) => String(n).padStart(3, '0');
