import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { EvaluateConfig, FineTuneConfig } from '../../common/config.js';
import type { FineTuneResult } from '../../common/contracts/index.js';
import { MissingResource } from '../../common/errors.js';
import { activity, cancellationSignal, reportProgress } from '../kit/boundary.js';
import type { StageDeps } from './deps.js';
import { evaluateBatchFile, type EvalTarget } from './eval/run-eval.js';
import { usagePath } from './eval/usage.js';
import * as L from './layout.js';
import { isInDataDir, packReturnedFiles, unpackFiles } from './shipping.js';
import { matchesTunedTokens, trainingOf } from './training-data.js';

/** A config names a file the worker cannot see: no retry will make it appear, so the stage fails at once, naming the field. */
export function mustExist(path: string, field: string): string {
  if (!existsSync(path)) throw new MissingResource(`${field}: ${path} not found on the worker (relative paths are taken from the project root)`);
  return path;
}

/** The stages' heavy half, on `nanoflux-train` (and a host's own train queue): fine-tunes and evaluation batches. */
export function createComputeActivities(deps: StageDeps) {
  const { home } = deps;
  return {
    /**
     * One fine-tune, start to finish; called again after a crash, the backend resumes it. `shipped`:
     * its training files from the run's owner (shipping.ts), for a host with no shared filesystem; the
     * result then names this host's own queue (where its adapter is evaluated) and carries the loss
     * curve back. Without it (histories from before shipping), the files are read where they lie.
     */
    fineTune: activity(async (a: { runId: string; domain: string; variant: string; finetune: FineTuneConfig }, shipped?: Uint8Array): Promise<FineTuneResult> => {
      if (shipped) unpackFiles(home, shipped, deps.owner?.id);
      const f = a.finetune;
      const backend = deps.fineTuneBackend(f);
      const t = trainingOf(f);
      const matchTokensOf = matchesTunedTokens(t, a.variant) ? mustExist(L.trainDataPath(home, a.runId, a.domain, 'tuned'), 'finetune.training.match "tokens" (the tuned training file)') : undefined;
      const trained = await backend.train(
        {
          runId: a.runId,
          domain: a.domain,
          variant: a.variant,
          dataPath: L.trainDataPath(home, a.runId, a.domain, a.variant),
          outDir: L.finetuneDir(home, a.runId, a.domain, a.variant),
          baseModel: f.baseModel,
          hyper: { epochs: f.epochs, learningRate: f.learningRate, loraR: f.loraR, batchSize: f.batchSize, maxLength: f.maxLength, maxSteps: f.maxSteps, seed: f.seed, saveEvery: f.saveEvery, thinking: t.thinking, ...(matchTokensOf ? { matchTokensOf } : {}) },
        },
        { heartbeat: reportProgress, signal: cancellationSignal() },
      );
      const result = trained.budget ? trained : { ...trained, budget: { by: 'epochs' as const, epochs: f.epochs } };
      if (!shipped) return result;
      const curve = result.lossCurve && existsSync(result.lossCurve) && isInDataDir(home, result.lossCurve) ? result.lossCurve : undefined;
      return {
        ...result,
        ...(deps.trainHost ? { trainedOn: deps.trainHost } : {}),
        returned: { files: packReturnedFiles(home, curve ? [curve] : [], `the loss curve of ${a.variant}`), ...(curve ? { lossCurve: relative(home, curve) } : {}) },
      };
    }),

    /** Predictions of one variant on one batch of items (kept per batch: a retry redoes one batch at most). `shipped`: the batch's prompts from the owner; the predictions then go back in the result. */
    evaluateBatch: activity(async (a: { runId: string; domain: string; batch: number; target: EvalTarget; evaluate: EvaluateConfig }, shipped?: Uint8Array): Promise<{ items: number; cached: boolean; files?: string }> => {
      if (shipped) unpackFiles(home, shipped, deps.owner?.id);
      const outPath = L.predictionsPath(home, a.runId, a.domain, a.target.variant, a.batch);
      const done = await evaluateBatchFile({
        itemsPath: L.evalBatchPath(home, a.runId, a.domain, a.batch),
        outPath,
        target: a.target,
        evaluate: a.evaluate,
        signal: cancellationSignal(),
        progress: (message) => reportProgress({ message, batch: a.batch }),
      });
      if (!shipped) return done;
      const files = [outPath, usagePath(outPath)].filter((p) => existsSync(p));
      return { ...done, files: packReturnedFiles(home, files, `the predictions of ${a.target.variant} on batch ${a.batch}`) };
    }),

  };
}
