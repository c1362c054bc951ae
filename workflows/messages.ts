import { ApplicationFailure, defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DomainProgress, StopReason } from './logic/progress.js';

/** Message names, defined once and shared by workflows, the worker, the CLI and tests. */

export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[]>('resume');
export const stopSignal = defineSignal<[{ reason?: StopReason }?]>('stop');

export interface DomainStatus extends DomainProgress {
  stage: 'decontaminating' | 'generating' | 'paused' | 'draining' | 'done';
  inFlight: number;
  concurrency: number;
  stopReason?: StopReason;
  /** Runs of this domain loop so far (continue-as-new). */
  generation: number;
  /** Increases with every report: signals sent in one workflow task may arrive out of order. */
  seq: number;
  /** The complexity the Attacker is asked for now (moved by the adaptive controller when on). */
  targetComplexity: number;
}

export interface RunStatus {
  runId: string;
  stage: 'generating' | 'paused' | 'exporting' | 'training' | 'reporting' | 'done';
  paused: boolean;
  domains: Record<string, DomainStatus>;
  accepted: number;
  episodes: number;
  tokens: { attacker: number; defender: number; judge: number; embedding: number; total: number };
  dataset?: { path: string; examples: number };
  /** Each variant's accuracy once the stages ran (null: not evaluated or failed). */
  variants?: { domain: string; variant: string; accuracy: number | null; n: number; error: string | null }[];
  report?: string;
}

export const statusQuery = defineQuery<RunStatus>('status');
export const domainStatusQuery = defineQuery<DomainStatus>('domainStatus');

/** Changes episode concurrency; answered with the value in force, so the caller knows it took. */
export const setConcurrencyUpdate = defineUpdate<{ concurrency: number }, [{ concurrency: number }]>('setConcurrency');

export const MAX_CONCURRENCY = 256;
/** The update's validator: a bad value is refused before it enters history. */
export function validateConcurrency({ concurrency }: { concurrency: number }): void {
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw ApplicationFailure.nonRetryable(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`, 'InvalidArgument');
  }
}

/** The run passes a concurrency change on to its domain loops. */
export const setConcurrencySignal = defineSignal<[{ concurrency: number }]>('concurrency');

/** A domain loop tells its run how it stands after each episode (the run aggregates and enforces the token budget). */
export const domainProgressSignal = defineSignal<[DomainStatus]>('domainProgress');
