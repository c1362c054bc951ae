import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FineTuneConfig } from '../../common/config.js';
import type { FineTuneResult } from '../../common/contracts/index.js';
import { activity } from '../kit/boundary.js';
import type { StageDeps } from './deps.js';
import * as L from './layout.js';
import { packFiles, unpackFiles } from './shipping.js';
import { matchesTunedTokens, trainingOf } from './training-data.js';

/**
 * The owner's half of shipping stage files (shipping.ts): what a fine-tune or an evaluation batch on
 * another host needs, and what they send back, kept beside the run. On the owner's queue, with the
 * other stage file steps.
 */
export function createShippingActivities(deps: StageDeps) {
  const { home } = deps;
  return {
    /** A variant's training files (its own, and the tuned set a token-matched baseline is measured against), for a fine-tune on another host. */
    shipTrainingFiles: activity(async (a: { runId: string; domain: string; variant: string; finetune: FineTuneConfig }): Promise<Uint8Array> => {
      const match = matchesTunedTokens(trainingOf(a.finetune), a.variant) ? [L.trainDataPath(home, a.runId, a.domain, 'tuned')] : [];
      return packFiles(home, [L.trainDataPath(home, a.runId, a.domain, a.variant), ...match].filter((p) => existsSync(p)), deps.owner?.id ?? '');
    }),

    /** A batch's prompts for an evaluation on another host; null when the owner already has its predictions (a re-entered run). */
    shipEvalBatch: activity(async (a: { runId: string; domain: string; variant: string; batch: number }): Promise<Uint8Array | null> => {
      if (existsSync(L.predictionsPath(home, a.runId, a.domain, a.variant, a.batch))) return null;
      return packFiles(home, [L.evalBatchPath(home, a.runId, a.domain, a.batch)], deps.owner?.id ?? '');
    }),

    /** What a fine-tune sent back (its loss curve) kept beside the run; the result as the owner records it, its loss curve read here. */
    keepFineTune: activity(async (a: { train: FineTuneResult }): Promise<FineTuneResult> => {
      const { returned, ...train } = a.train;
      if (!returned) return train;
      unpackFiles(home, returned.files);
      return returned.lossCurve ? { ...train, lossCurve: join(home, returned.lossCurve) } : train;
    }),

    /** An evaluation batch's predictions and usage record, sent back from the host that predicted them. */
    keepPredictions: activity(async (a: { files: string }): Promise<void> => {
      unpackFiles(home, a.files);
    }),

  };
}
