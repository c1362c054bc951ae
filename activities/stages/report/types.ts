import type { VariantResult } from '../../../common/contracts/index.js';
import type { ItemOutcome } from '../../../common/paired-stats.js';
import type { Distribution } from '../../dataset/measures.js';

/**
 * A variant as the report shows it: its result (result.json, activities/stages/results.ts), the
 * points of its loss curve, read from the file its fine-tune wrote (none for base or when the backend
 * wrote no curve), and how each eval item fared (scores.json; absent for results that predate it),
 * which the paired tests between variants need.
 */
export interface ReportedVariant extends VariantResult {
  lossPoints?: { step: number; loss: number }[];
  items?: ItemOutcome[];
}

export interface ReportInput {
  runId: string;
  generatedAt: string; // ISO time, passed in (the report must be deterministic given its input)
  models: { attacker: string; defender: string; judge: string; student: string; backend: string };
  domains: { name: string; benchmark: string; evalItems: number; datasetExamples: number }[];
  variants: ReportedVariant[];
  /** variants the ablation skipped, with why (e.g. "2 examples < minExamples 5") */
  skipped?: { domain: string; variant: string; reason: string }[];
  /** What the run measured about its verdicts (activities/dataset/measures.ts): the Judge's calibration lines and the accepted examples' score levels. */
  dataset?: { calibration: string[]; levels: Distribution[] };
  /** Loss is summarised as the mean of the first N logged steps against the last N; unset, N is 10% of a curve's steps (at least 1). */
  lossWindow?: number;
}
