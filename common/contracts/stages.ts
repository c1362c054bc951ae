/**
 * What the fine-tune, evaluate and ablation stages pass between workflows/stages.ts and
 * activities/stages/, and what they keep on disk (result.json is a VariantResult: a `resume-from`
 * of an older run and `nanoflux report` read it back, so its fields only ever grow).
 */

/** The benchmarks the evaluate stage scores on: gsm8k/gsmhard numeric, pubmedqa yes/no/maybe, mcq letters. */
export const BENCHMARKS = ['gsm8k', 'gsmhard', 'pubmedqa', 'mcq'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** What an ablation cuts the dataset by: complexity level (1–5), quality level (L1–L5), size. */
export const ABLATION_AXES = ['complexity', 'quality', 'size'] as const;
export type AblationAxis = (typeof ABLATION_AXES)[number];

export type FineTuneBackendName = 'local' | 'openai' | 'command';

/** What a fine-tune backend returns (activities/stages/finetune/backend.ts). */
export interface FineTuneResult {
  backend: FineTuneBackendName;
  /**
   * What evaluation loads: `adapter` → a PEFT adapter directory on top of the base model;
   * `model-dir` → a full model directory; `remote` → a model id served by the provider.
   */
  kind: 'adapter' | 'model-dir' | 'remote';
  model: string;
  /** Tokens the training saw (summed over epochs); null when the backend cannot tell. */
  trainTokens: number | null;
  /** Wall time of the training itself, summed over resumed attempts. */
  wallSeconds: number;
  steps: number | null;
  firstLoss: number | null;
  lastLoss: number | null;
  /** Path of the loss curve (JSONL of {step, loss, …}) when the backend writes one. */
  lossCurve?: string;
  /** Remote job id (openai). */
  jobId?: string;
  /** Where this attempt resumed from (checkpoint path or existing job id), if it did. */
  resumedFrom?: string | null;
}

/** One variant of a domain to fine-tune and evaluate. */
export interface VariantSpec {
  /** 'base' | 'tuned' | 'full-train' | 'ablation-complexity-3' | 'ablation-quality-L4' | 'ablation-size-50' | any user baseline name */
  variant: string;
  /** Set for ablation cuts only. value: '1'..'5' for complexity, 'L1'..'L5' for quality, '50' etc for size. */
  cut?: { axis: AblationAxis; value: string };
  /** Examples in its training file; 0 for base. */
  trainExamples: number;
}

/** A domain's stage files written, and the variants they serve. */
export interface PreparedDomain {
  domain: string;
  benchmark: BenchmarkName | null;
  evalItems: number;
  batches: number;
  variants: VariantSpec[];
  skipped: { variant: string; reason: string }[];
  /** resume-from: variants whose fine-tune or predictions were taken over from the earlier run. */
  reused?: string[];
}

/**
 * A scored variant: its score on the benchmark (benchmark, n, correct, accuracy, ci95: what
 * activities/stages/eval/score.ts gives) and how it was trained. The report reads these.
 */
export interface VariantResult {
  domain: string;
  variant: string;
  cut?: { axis: AblationAxis; value: string };
  benchmark: BenchmarkName;
  n: number;
  correct: number;
  accuracy: number;
  /** The 95% Wilson interval of the accuracy. */
  ci95: { low: number; high: number };
  /** null for base. */
  trainExamples: number | null;
  /** null for base. */
  train: FineTuneResult | null;
}

/** The score part of a variant's result. */
export type VariantScore = Pick<VariantResult, 'benchmark' | 'n' | 'correct' | 'accuracy' | 'ci95'>;
