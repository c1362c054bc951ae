import type { TokensByRole, VariantResult } from '../../../common/contracts/index.js';
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
  /** What generating each domain's dataset took (report/generation.ts); absent from inputs that predate it, and then the report says generation was not measured. */
  generation?: GenerationCompute[];
  /** Loss is summarised as the mean of the first N logged steps against the last N; unset, N is 10% of a curve's steps (at least 1). */
  lossWindow?: number;
}

/** A domain's generation as this run's episodes recorded it (episodes.jsonl), every episode counted: a rejected one cost as much as an accepted one. */
export interface GenerationCompute {
  domain: string;
  episodes: number;
  tokens: TokensByRole;
  /** USD by role, from the models' prices. */
  cost: TokensByRole;
  /** Episodes whose summary carries no cost (recorded before prices were): the USD total is then incomplete. */
  uncosted: number;
  /** Roles played by a paid model that has no price: the run counted them as free, so their USD is not known. Null: the report was not told which models are priced. */
  unpriced: string[] | null;
  /** Examples of the domain's set taken over from other runs (resume-from): generated, and paid for, there. */
  imported: { examples: number; runs: string[] };
  /** The run's generation wall time, every domain side by side; null where no run workflow recorded it. */
  wallSeconds: number | null;
  /** How many domains shared that time. */
  domains: number;
}
