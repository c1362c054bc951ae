/**
 * One interface for every fine-tune backend (OpenAI fine-tuning API, the project's Python LoRA
 * trainer, a user's trainer command). A backend is called from a long activity on the
 * `nanoflux-train` queue and may be called again for the same job after a worker crash: it must
 * then resume (its last checkpoint, its existing remote job) rather than start over or start twice.
 */

import type { FineTuneBackendName, FineTuneResult } from '../../../common/contracts/index.js';

export interface FineTuneHyper {
  epochs: number;
  learningRate: number;
  loraR: number;
  batchSize: number;
  maxLength: number;
  /** Undefined: as many steps as `epochs` make. */
  maxSteps?: number;
  seed: number;
  /** Checkpoint every this many steps (local trainer). */
  saveEvery: number;
  /** The student's chat-template thinking switch (finetune.training.thinking); local trainer. Undefined: the template's default. */
  thinking?: boolean;
  /**
   * training.match "tokens": the training file whose token count (with these epochs, batch size,
   * seed and maxSteps) this job trains to instead of its epochs; local trainer.
   */
  matchTokensOf?: string;
}

export interface FineTuneJob {
  runId: string;
  domain: string;
  /** `tuned`, `full-train`, `ablation-complexity-3`, …: unique within (runId, domain). */
  variant: string;
  /** Chat-format JSONL (`{"messages":[…]}` per line, OpenAI fine-tuning format). */
  dataPath: string;
  /** Where the backend keeps its outputs and resume state; the same on every attempt of the job. */
  outDir: string;
  /** HF model directory or GGUF file (local, command), or a provider's model name (openai). */
  baseModel: string;
  hyper: FineTuneHyper;
}

export interface FineTuneProgress {
  /** One line for the heartbeat details and logs, e.g. "step 12/24 loss 1.93" or "job ftjob-1 running". */
  message: string;
  step?: number;
  totalSteps?: number;
  loss?: number;
  jobId?: string;
  status?: string;
}

export interface FineTuneContext {
  heartbeat(progress: FineTuneProgress): void;
  /** Aborted when the activity is cancelled or the worker shuts down. */
  signal: AbortSignal;
}

export interface FineTuneBackend {
  readonly name: FineTuneBackendName;
  train(job: FineTuneJob, ctx: FineTuneContext): Promise<FineTuneResult>;
}
