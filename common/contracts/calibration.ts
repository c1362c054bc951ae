import type { Rate } from '../stats.js';

/**
 * The Judge's calibration: how often it agrees with labelled items before a run spends anything
 * (activities/game/calibration/). Shown in status, the run's memo, the report and the dataset card.
 */
export const VERDICT_FIELDS = ['questionValid', 'referenceCorrect', 'defenderCorrect'] as const;
export type VerdictField = (typeof VERDICT_FIELDS)[number];

export interface CalibrationReport {
  source: string;
  judgeModel: string;
  promptVersion: string;
  items: number;
  byKind: Partial<Record<'defender_right' | 'defender_wrong' | 'reference_wrong' | 'junk', number>>;
  /** Per verdict field: agreement with the labels, on the items where the field has a label. */
  agreement: Record<VerdictField, Rate>;
  /** Of the items that must not become training data (wrong reference, junk), the share the Judge's verdict would accept. */
  badAccepted: Rate;
  /** Of the items that should (true reference, Defender wrong), the share the Judge's verdict accepts. */
  goodAccepted: Rate;
  failedCalls: number;
  minAgreement: number;
  passed: boolean;
  /** One line per reason it failed; empty when it passed. */
  reasons: string[];
}

export type CalibrationOutcome = { domain: string; report: CalibrationReport; cached: boolean } | { domain: string; skipped: string };

/** A share as a whole percentage, e.g. `75%`. */
export const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

/** One line for status, logs and the demo: the weakest field's agreement and the bad-item accept rate. */
export function calibrationLine(r: CalibrationReport): string {
  const fields = VERDICT_FIELDS.map((f) => `${f} ${pct(r.agreement[f].rate)} [${pct(r.agreement[f].ci95.low)}–${pct(r.agreement[f].ci95.high)}]`).join(', ');
  return `judge ${r.judgeModel} ${r.passed ? 'passed' : 'FAILED'} calibration on ${r.items} ${r.source} items: ${fields}; accepts ${pct(r.badAccepted.rate)} of bad items`;
}
