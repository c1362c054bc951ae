import type { ModelRef } from '../config.js';
import type { BenchmarkName } from './stages.js';

/**
 * Preflight: what a run checks before any episode, on the workers that will do the work
 * (activities/game/preflight.ts on `nanoflux-llm`, activities/store/preflight.ts on `nanoflux`).
 * A problem pauses the run with its line in status, the memo and the search attributes.
 */
/**
 * Attempts of each preflight activity (its retry policy, workflows/options.ts): a transient failure
 * (429, 5xx, a timeout) is rethrown for a retry until the last one, then reported as a problem.
 */
export const PREFLIGHT_ATTEMPTS = 3;

export type PreflightCheck = 'key' | 'endpoint' | 'tools' | 'embeddings' | 'benchmark' | 'sandbox';

export interface PreflightProblem {
  check: PreflightCheck;
  /** What was checked: `judge (openai:gpt-4o-mini)`, `gsm8k test split`, `python sandbox`. */
  subject: string;
  /** The failure type (common/errors.ts ErrorType) the run would have failed with. */
  type: string;
  /** One line: what is wrong and what to do. */
  message: string;
}

/** One chat model to try, once however many roles name it. */
export interface ChatModelCheck {
  roles: string[];
  ref: ModelRef;
  /** Whether any role that uses it calls tools (the Judge). */
  tools: boolean;
}

export interface ModelPreflight {
  models: ChatModelCheck[];
  /** The domain packs in play: the Judge's python tool runs in this worker's sandbox. */
  packs: string[];
}

export interface StorePreflight {
  embedding: ModelRef;
  /** Decontamination sets and the evaluate stage's shipped benchmarks, which must be readable. */
  benchmarks: Array<{ name: 'gsm8k' | 'pubmedqa'; use: 'decontamination' | 'evaluation' }>;
  /** Files the config names (an evaluation benchmark's data, a baseline's training set), as given; `benchmark`: parsed by its loader too. Absent in plans made before it. */
  files?: Array<{ field: string; path: string; benchmark?: BenchmarkName }>;
  /** The domain packs in play: a pack's executed check runs programs in this worker's sandbox. */
  packs: string[];
}
