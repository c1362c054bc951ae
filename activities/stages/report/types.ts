import type { VariantResult } from '../../../common/contracts/index.js';
import type { Distribution } from '../../dataset/measures.js';

/**
 * A variant as the report shows it: its result (result.json, activities/stages/results.ts) and the
 * points of its loss curve, read from the file its fine-tune wrote (none for base or when the backend
 * wrote no curve).
 */
export interface ReportedVariant extends VariantResult {
  lossPoints?: { step: number; loss: number }[];
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
}
