import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluateConfig, FineTuneConfig } from '../../common/config.js';
import { writeFileAtomic } from '../kit/files.js';
import * as L from './layout.js';

/** What a fine-tune or an evaluation depends on besides its data: equal settings are a precondition of reuse. */
export function stageSettings(finetune: FineTuneConfig | undefined, evaluate: EvaluateConfig | undefined): string {
  const { parallelism: _p, ...ft } = finetune ?? ({} as Partial<FineTuneConfig>);
  // loadAdapters only when on: settings written before the option existed stay equal to its default.
  const { loadAdapters, ...endpoint } = evaluate?.endpoint ?? { loadAdapters: false };
  const ev = evaluate ? { via: evaluate.via, endpoint: evaluate.endpoint ? { ...endpoint, ...(loadAdapters ? { loadAdapters } : {}) } : null, maxNewTokens: evaluate.maxNewTokens, thinking: evaluate.thinking ?? null } : null;
  return JSON.stringify({ finetune: finetune ? ft : null, evaluate: ev });
}

export const settingsPath = (home: string, runId: string, domain: string): string => join(L.domainStageDir(home, runId, domain), 'settings.json');

export function writeStageSettings(home: string, runId: string, domain: string, settings: string): void {
  writeFileAtomic(settingsPath(home, runId, domain), settings);
}

const sameFile = (a: string, b: string) => existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));

/** Whether the earlier run evaluated on exactly these items in exactly these batches. */
function sameEvalItems(home: string, earlier: string, runId: string, domain: string): boolean {
  const dir = L.evalDir(home, runId, domain);
  if (!existsSync(dir)) return false;
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  return files.length > 0 && files.every((f) => sameFile(join(dir, f), join(L.evalDir(home, earlier, domain), f)));
}

/**
 * resume-from: copies the earlier run's finished work for `variants` into this run, where it is the
 * same work — the same settings, a byte-identical training file (for the fine-tune) and the same
 * evaluation items (for the predictions, of the base model or of a reused fine-tune). The stage
 * activities then find those files and skip the work (the full-train baseline is the big saving).
 * Returns the variants whose fine-tune or predictions were taken over.
 */
export function reuseEarlierStages(home: string, earlier: string, runId: string, domain: string, variants: string[]): string[] {
  if (!sameFile(settingsPath(home, earlier, domain), settingsPath(home, runId, domain))) return [];
  const itemsSame = sameEvalItems(home, earlier, runId, domain);
  const reused: string[] = [];
  for (const v of variants) {
    const from = L.variantDir(home, earlier, domain, v);
    const to = L.variantDir(home, runId, domain, v);
    let modelSame = v === 'base';
    if (v !== 'base' && sameFile(L.trainDataPath(home, earlier, domain, v), L.trainDataPath(home, runId, domain, v)) && existsSync(join(from, 'finetune'))) {
      if (!existsSync(join(to, 'finetune'))) cpSync(join(from, 'finetune'), join(to, 'finetune'), { recursive: true });
      modelSame = true;
    }
    let took = modelSame && v !== 'base';
    if (modelSame && itemsSame && existsSync(join(from, 'predictions')) && !existsSync(join(to, 'predictions'))) {
      // Only complete batch files are copied: a `.partial` of an interrupted endpoint batch is not the earlier run's answer.
      cpSync(join(from, 'predictions'), join(to, 'predictions'), { recursive: true, filter: (src) => !src.endsWith('.partial') && !src.endsWith('.tmp') });
      took = true;
    }
    if (took) reused.push(v);
  }
  return reused;
}
