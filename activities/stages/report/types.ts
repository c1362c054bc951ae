/** One variant's score on one benchmark, as the eval step reports it: the report's only input besides the run's identity. */
export interface VariantScore {
  domain: string;
  /** 'base' | 'tuned' | 'full-train' | 'ablation-complexity-3' | 'ablation-quality-L4' | 'ablation-size-50' | any user baseline name */
  variant: string;
  /** Set for ablation cuts only. value: '1'..'5' for complexity, 'L1'..'L5' for quality, '50' etc for size. */
  cut?: { axis: 'complexity' | 'quality' | 'size'; value: string };
  benchmark: string; // 'gsm8k' | 'gsmhard' | 'pubmedqa' | 'mcq'
  n: number;
  correct: number;
  accuracy: number;
  ci95: { low: number; high: number };
  trainExamples: number | null; // null for base
  trainTokens: number | null; // null for base or unknown
  trainSeconds: number | null;
  firstLoss: number | null;
  lastLoss: number | null;
  lossCurve?: { step: number; loss: number }[];
}

export type AblationAxis = NonNullable<VariantScore['cut']>['axis'];

export interface ReportInput {
  runId: string;
  generatedAt: string; // ISO time, passed in (the report must be deterministic given its input)
  models: { attacker: string; defender: string; judge: string; student: string; backend: string };
  domains: { name: string; benchmark: string; evalItems: number; datasetExamples: number }[];
  variants: VariantScore[];
  /** variants the ablation skipped, with why (e.g. "2 examples < minExamples 5") */
  skipped?: { domain: string; variant: string; reason: string }[];
}
