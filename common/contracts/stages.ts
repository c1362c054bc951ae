/**
 * What the fine-tune, evaluate and ablation stages pass between workflows/stages.ts and
 * activities/stages/, and what they keep on disk (result.json is a VariantResult: a `resume-from`
 * of an older run and `nanoflux report` read it back, so its fields only ever grow).
 */

/** The benchmarks the evaluate stage scores on: gsm8k/gsmhard numeric, pubmedqa yes/no/maybe, mcq letters. */
export const BENCHMARKS = ['gsm8k', 'gsmhard', 'pubmedqa', 'mcq'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** What an ablation cuts the dataset by: complexity level (1–5), quality level (L1–L5), size, the annotation's place (omit, prepend, append). */
export const ABLATION_AXES = ['complexity', 'quality', 'size', 'annotation'] as const;
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
  /**
   * The queue of the host whose data dir holds the outputs (common/queues.ts trainHostQueue): its
   * adapter or model directory is evaluated there. Absent from fine-tunes from before stage files
   * were shipped between hosts: those are evaluated on any `nanoflux-train` worker, as then.
   */
  trainedOn?: string;
  /** What the fine-tune sends back to the run's owner (activities/stages/shipping.ts); the owner keeps it and drops this field. */
  returned?: { files: string; lossCurve?: string };
  /**
   * How its length was set: finetune.epochs passes, or (a baseline under training.match "tokens")
   * the training tokens `tuned` sees. Absent from results written before it was recorded.
   */
  budget?: { by: 'epochs'; epochs: number } | { by: 'tokens'; tokens: number; of: string };
  /**
   * What the training ran on, as the trainer recorded it (the local trainer: trainer/nanoflux_trainer/hardware.py).
   * Absent where nothing recorded it (the openai backend: the provider's; a command backend that
   * does not write it; summaries from before it was recorded): the report then says device-hours
   * were not measured, and why.
   */
  hardware?: Hardware;
}

/** The devices a job used: device-hours are `devices` × its hours. */
export interface Hardware {
  /** torch's device type: 'cuda', 'cpu', 'mps'. */
  kind: string;
  /** The GPU's name ("NVIDIA H100 80GB HBM3") or the CPU's model name; null when the system does not say. */
  name: string | null;
  /** Devices the job ran on (the local trainer uses one: no data parallelism). */
  devices: number;
  /** Devices the process could see (GPUs, or CPU cores for 'cpu'). */
  visible: number | null;
  /** CPU threads torch used ('cpu' only). */
  threads?: number;
}

/**
 * What evaluating a variant took, summed over the batches that recorded it (activities/stages/eval/usage.ts).
 * A batch taken over from an earlier run, or predicted before this was recorded, has no record:
 * `measuredItems` < `items` then, and the report says the totals are incomplete instead of printing them as whole.
 */
export interface EvaluationCompute {
  via: 'trainer' | 'endpoint';
  items: number;
  measuredItems: number;
  /** Prompt tokens as the model saw them (chat template applied); null when not counted (an endpoint that returned no usage). */
  promptTokens: number | null;
  completionTokens: number | null;
  /** Wall time of the measured batches, model loading included (each trainer batch loads the model). */
  wallSeconds: number;
  /** Trainer evaluation: the device it ran on; endpoint: null (the server's hardware is not known here). */
  hardware: Hardware | null;
}

/**
 * Where an ablation variant sits: its cut, and which of the cut's seeded runs it is. `replicate`,
 * `seed` and `available` are absent from results of ablations run before seeds and size matching.
 */
export interface CutSpec {
  axis: AblationAxis;
  /** '1'..'5' for complexity, 'L1'..'L5' for quality, '50' etc for size, 'omit' | 'prepend' | 'append' for annotation. */
  value: string;
  /** 1..ablation.seeds: the variant name ends in `-s<replicate>`. */
  replicate?: number;
  /** The trainer's seed for this run: finetune.seed + replicate − 1 (set by the stages workflow). */
  seed?: number;
  /** Examples at this level before size matching; the training file holds trainExamples of them. */
  available?: number;
}

/** One variant of a domain to fine-tune and evaluate. */
export interface VariantSpec {
  /** 'base' | 'tuned' | 'full-train' | 'ablation-complexity-3-s1' | 'ablation-quality-L4-s2' | 'ablation-size-50-s1' | any user baseline name */
  variant: string;
  /** Set for ablation cuts only. */
  cut?: CutSpec;
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
  cut?: CutSpec;
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
  /** Absent from results written before evaluation was measured. */
  evaluation?: EvaluationCompute;
}

/** The score part of a variant's result. */
export type VariantScore = Pick<VariantResult, 'benchmark' | 'n' | 'correct' | 'accuracy' | 'ci95'>;
