import { type Rate, rate } from '../../../common/stats.js';
import { acceptable, type CalibrationItem, type CalibrationKind, type CalibrationLabels } from './set.js';

/** The Judge's answer on one calibration item (null: the call failed, counted as a disagreement). */
export type JudgeAnswer = { questionValid: boolean; referenceCorrect: boolean; defenderCorrect: boolean } | null;

export const VERDICT_FIELDS = ['questionValid', 'referenceCorrect', 'defenderCorrect'] as const;
export type VerdictField = (typeof VERDICT_FIELDS)[number];

export interface CalibrationReport {
  source: string;
  judgeModel: string;
  promptVersion: string;
  items: number;
  byKind: Partial<Record<CalibrationKind, number>>;
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

const verdictAccepts = (a: NonNullable<JudgeAnswer>) => a.questionValid && a.referenceCorrect && !a.defenderCorrect;

/**
 * Agreement of the Judge with the labels. It passes when every field agrees on at least
 * `minAgreement` of its items and the Judge lets through at most 1 − minAgreement of the bad items
 * (so a Judge that says "valid, verified" to everything fails on both counts).
 */
export function scoreCalibration(
  items: CalibrationItem[],
  answers: JudgeAnswer[],
  meta: { source: string; judgeModel: string; promptVersion: string; minAgreement: number },
): CalibrationReport {
  const agreement = Object.fromEntries(
    VERDICT_FIELDS.map((f) => {
      const scored = items.map((it, i) => ({ label: it.labels[f as keyof CalibrationLabels], answer: answers[i] })).filter((x) => x.label !== null);
      return [f, rate(scored.filter((x) => x.answer && x.answer[f] === x.label).length, scored.length)];
    }),
  ) as Record<VerdictField, Rate>;
  const bad = items.map((it, i) => ({ it, a: answers[i] })).filter((x) => x.it.kind === 'reference_wrong' || x.it.kind === 'junk');
  const good = items.map((it, i) => ({ it, a: answers[i] })).filter((x) => acceptable(x.it.labels));
  const badAccepted = rate(bad.filter((x) => x.a && verdictAccepts(x.a)).length, bad.length);
  const goodAccepted = rate(good.filter((x) => x.a && verdictAccepts(x.a)).length, good.length);
  const reasons = [
    ...VERDICT_FIELDS.filter((f) => agreement[f].n > 0 && agreement[f].rate < meta.minAgreement).map(
      (f) => `${f} agrees with the labels on ${pct(agreement[f].rate)} of ${agreement[f].n} items (< ${pct(meta.minAgreement)})`,
    ),
    ...(badAccepted.rate > 1 - meta.minAgreement ? [`accepts ${pct(badAccepted.rate)} of ${badAccepted.n} wrong-reference and junk items (> ${pct(1 - meta.minAgreement)})`] : []),
  ];
  const byKind: CalibrationReport['byKind'] = {};
  for (const it of items) byKind[it.kind] = (byKind[it.kind] ?? 0) + 1;
  return {
    ...meta,
    items: items.length,
    byKind,
    agreement,
    badAccepted,
    goodAccepted,
    failedCalls: answers.filter((a) => a === null).length,
    passed: reasons.length === 0,
    reasons,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** One line for status, logs and the demo: the weakest field's agreement and the bad-item accept rate. */
export function calibrationLine(r: CalibrationReport): string {
  const fields = VERDICT_FIELDS.map((f) => `${f} ${pct(r.agreement[f].rate)} [${pct(r.agreement[f].ci95.low)}–${pct(r.agreement[f].ci95.high)}]`).join(', ');
  return `judge ${r.judgeModel} ${r.passed ? 'passed' : 'FAILED'} calibration on ${r.items} ${r.source} items: ${fields}; accepts ${pct(r.badAccepted.rate)} of bad items`;
}
