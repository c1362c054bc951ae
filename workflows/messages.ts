import type { BilledTokens } from '../common/contracts/index.js';
import { ApplicationFailure, defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ErrorType } from '../common/errors.js';
import type { CalibrationOutcome } from '../common/contracts/calibration.js';
import type { PreflightProblem } from '../common/contracts/preflight.js';
import type { Budget, BudgetExceeded, DomainProgress, StopReason } from './logic/progress.js';
import type { BreakerTrip, FailureReason } from './logic/breaker.js';

/** Message names, defined once and shared by workflows, the worker, the CLI and tests. */

export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[]>('resume');
export const stopSignal = defineSignal<[{ reason?: StopReason }?]>('stop');
/** `nanoflux resume <run> --accept-judge`: go on with a Judge that failed its calibration; recorded in the memo, status, report and dataset card. */
export const acceptJudgeSignal = defineSignal<[{ by?: string }?]>('acceptJudge');

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
  /** The target of accepted examples in force (absent in reports from older code). */
  targetAccepted?: number;
  /** resume-from: accepted examples taken over from the earlier run (included in `accepted`). */
  imported?: number;
  /** Set while the circuit breaker holds the domain (K consecutive same-type failures); `resume` closes it. */
  breaker?: BreakerTrip;
}

export interface RunStatus {
  runId: string;
  stage: 'preflight' | 'calibrating' | 'generating' | 'paused' | 'exporting' | 'training' | 'reporting' | 'done';
  paused: boolean;
  /** Why generation is paused: by an operator, by the budget, by a Judge that failed its calibration, by preflight's problems (one line each). */
  pausedBy?: { user: boolean; budget?: BudgetExceeded; calibration?: string; preflight?: string[] };
  /** Domains whose loop failed as a whole (a decontamination set that could not be embedded, a bug): the run went on without them. */
  failedDomains?: { domain: string; error: string }[];
  /** The most frequent reasons episodes failed, over all domains, with the last message (absent until one fails). */
  failures?: Array<{ type: string } & FailureReason>;
  /** What preflight found (absent: not run, e.g. turned off or a run from before it existed). */
  preflight?: { ok: boolean; problems: PreflightProblem[] };
  /** The Judge's calibration per domain (absent: not calibrated, e.g. turned off or a run from before it existed). */
  calibration?: CalibrationOutcome[];
  /** `--accept-judge`: the run went on with a Judge below the bar, and who said so. */
  judgeAccepted?: { by?: string };
  budget: Budget;
  domains: Record<string, DomainStatus>;
  accepted: number;
  episodes: number;
  tokens: { attacker: number; defender: number; judge: number; embedding: number; total: number };
  /** USD by role and in all, from the models' prices. */
  cost: { attacker: number; defender: number; judge: number; embedding: number; total: number };
  /** Of `tokens`, those the provider billed from its prompt cache or at flex, by role (absent until it says so of a call). */
  billed?: BilledTokens;
  dataset?: { path: string; examples: number };
  /** The queue of the worker that owns the run's data (its store, ledger and files), and where that data dir is when this execution claimed it. */
  store?: { queue: string; host?: string; home?: string };
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
    throw ApplicationFailure.nonRetryable(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`, ErrorType.InvalidArgument);
  }
}

/** The run passes a concurrency change on to its domain loops. */
export const setConcurrencySignal = defineSignal<[{ concurrency: number }]>('concurrency');

/** A domain loop tells its run how it stands after each episode (the run aggregates and enforces the token budget). */
export const domainProgressSignal = defineSignal<[DomainStatus]>('domainProgress');

/** Raises (or lowers) the run's budget; a run paused by its budget resumes once under it. Answered with the budget in force. */
export const setBudgetUpdate = defineUpdate<Budget, [Budget]>('setBudget');
/** The same as a signal, for `temporal workflow signal --name budget --input '{"maxTokens": 2000000}'`. */
export const setBudgetSignal = defineSignal<[Budget]>('budget');

export function validateBudget(b: Budget): void {
  const bad = (['maxTokens', 'maxCost'] as const).filter((k) => b[k] !== undefined && !(typeof b[k] === 'number' && Number.isFinite(b[k]) && b[k] > 0));
  if (bad.length > 0 || (b.maxTokens === undefined && b.maxCost === undefined)) {
    throw ApplicationFailure.nonRetryable(`a budget needs maxTokens and/or maxCost, each a positive number${bad.length ? ` (bad: ${bad.join(', ')})` : ''}`, ErrorType.InvalidArgument);
  }
}

/** Changes a domain's target of accepted examples (all domains when `domain` is absent). */
export const setTargetUpdate = defineUpdate<{ targets: Record<string, number> }, [{ targetAccepted: number; domain?: string }]>('setTarget');
/** The run passes a target change on to the domain loop. */
export const setTargetSignal = defineSignal<[{ targetAccepted: number }]>('target');

export function validateTarget(t: { targetAccepted: number; domain?: string }): void {
  if (!Number.isInteger(t.targetAccepted) || t.targetAccepted < 1) {
    throw ApplicationFailure.nonRetryable(`targetAccepted must be a positive integer, got ${t.targetAccepted}`, ErrorType.InvalidArgument);
  }
}

/** An accepted example waiting for a human decision (review mode). */
export interface ReviewItem {
  runId: string;
  domain: string;
  episode: number;
  workflowId: string;
  question: string;
  answer: string;
  solutionSteps: string[];
  scores: { complexity: number; hops: number; quality: number; qualityLevel: string; novelty: number };
  /** Epoch ms when the wait began, and when the timeout policy decides. */
  waitingSince: number;
  decidesAt: number;
  onTimeout: 'approve' | 'reject';
}

/** Sent to an episode workflow that awaits review: approve stores the example, reject records the episode as rejected. */
export const reviewSignal = defineSignal<[{ approve: boolean; reviewer?: string; note?: string }]>('review');
/** What an episode awaiting review shows; null when it awaits nothing. */
export const reviewQuery = defineQuery<ReviewItem | null>('reviewItem');
