import { type CalibrationReport, pct, VERDICT_FIELDS, type VerdictField } from '../../../common/contracts/calibration.js';
import type { Rate } from '../../../common/stats.js';
import { rate } from '../../../common/stats.js';
import { acceptable, type CalibrationItem, type CalibrationLabels } from './set.js';

export type { CalibrationReport };

/** The Judge's answer on one calibration item (null: the call failed, counted as a disagreement). */
export type JudgeAnswer = { questionValid: boolean; referenceCorrect: boolean; defenderCorrect: boolean } | null;

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
