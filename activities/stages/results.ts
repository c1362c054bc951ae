import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluationCompute, VariantResult } from '../../common/contracts/index.js';
import type { ItemOutcome } from '../../common/paired-stats.js';
import { readJsonlRows, writeFileAtomic } from '../kit/files.js';
import type { ReportedVariant } from './report/types.js';
import { batchUsages, variantEvaluation } from './eval/usage.js';
import * as L from './layout.js';

/**
 * The finished variants on disk: a variant is finished once its result.json is written (the last
 * step of scoring it). The run's report, `nanoflux report` and a re-entered run all read them here,
 * so result.json keeps the fields older runs wrote.
 */

export function writeVariantResult(home: string, runId: string, result: VariantResult): void {
  writeFileAtomic(L.resultPath(home, runId, result.domain, result.variant), JSON.stringify(result, null, 2));
}

export function readVariantResult(home: string, runId: string, domain: string, variant: string): VariantResult | null {
  const file = L.resultPath(home, runId, domain, variant);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as VariantResult) : null;
}

/**
 * What evaluating a variant took, from its batches' usage records (eval/usage.ts), as its result
 * carries it: nothing when no batch recorded any (predictions from before they were measured).
 */
export function evaluationOf(home: string, runId: string, domain: string, variant: string, batches: number, items: number): { evaluation?: EvaluationCompute } {
  const files = Array.from({ length: batches }, (_, b) => L.predictionsPath(home, runId, domain, variant, b));
  const evaluation = variantEvaluation(batchUsages(files), items);
  return evaluation ? { evaluation } : {};
}

/** The variants of a domain with a result on disk, in name order (the order the report lists them in). */
export function finishedVariants(home: string, runId: string, domain: string): string[] {
  const dir = join(L.domainStageDir(home, runId, domain), 'variants');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .filter((v) => existsSync(L.resultPath(home, runId, domain, v)));
}

export function finishedVariantResults(home: string, runId: string, domain: string): VariantResult[] {
  return finishedVariants(home, runId, domain).flatMap((v) => readVariantResult(home, runId, domain, v) ?? []);
}

/**
 * A result as the report reads it: with the points of its loss curve, where its fine-tune left one,
 * and each eval item's outcome from its scores.json, which the report's paired tests match by id.
 */
export function reportedVariant(home: string, runId: string, r: VariantResult): ReportedVariant {
  const curve = r.train?.lossCurve;
  const items = readItemOutcomes(L.scoresPath(home, runId, r.domain, r.variant));
  return { ...r, ...(curve && existsSync(curve) ? { lossPoints: readLossCurve(curve) } : {}), ...(items ? { items } : {}) };
}

/** scores.json's items as id and correctness; null when the file is absent or holds no item list (the report then says the test could not be made). */
function readItemOutcomes(file: string): ItemOutcome[] | null {
  if (!existsSync(file)) return null;
  const items = (JSON.parse(readFileSync(file, 'utf8')) as { items?: unknown }).items;
  if (!Array.isArray(items)) return null;
  return items
    .map((i) => i as { id?: unknown; correct?: unknown })
    .filter((i): i is ItemOutcome => typeof i.id === 'string' && typeof i.correct === 'boolean')
    .map(({ id, correct }) => ({ id, correct }));
}

function readLossCurve(file: string): { step: number; loss: number }[] {
  return readJsonlRows(file)
    .map(({ value }) => value as { step?: unknown; loss?: unknown })
    .filter((v): v is { step: number; loss: number } => typeof v.step === 'number' && typeof v.loss === 'number')
    .map(({ step, loss }) => ({ step, loss }));
}
