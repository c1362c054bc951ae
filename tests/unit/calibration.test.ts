import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractNumericAnswer, numericEqual } from '../../common/answers.js';
import { rate, wilson } from '../../common/stats.js';
import { loadBenchmark, loadPubmedQaRecords } from '../../activities/kit/benchmarks.js';
import { readJsonl } from '../../activities/kit/files.js';
import { acceptable, buildCalibrationSet, calibrationSource, perturbNumber } from '../../activities/game/calibration/set.js';
import { type JudgeAnswer, scoreCalibration } from '../../activities/game/calibration/score.js';

const DATASETS = join(import.meta.dirname, '..', '..', 'datasets');
const meta = { source: 'gsm8k-train', judgeModel: 'scripted', promptVersion: 'v1', minAgreement: 0.75 };

describe('the calibration set', () => {
  it('is built from GSM8K train only: no item is a test question', () => {
    const items = buildCalibrationSet('gsm8k-train', DATASETS, 40);
    const test = new Set(loadBenchmark('gsm8k', join(DATASETS, 'gsm8k', 'test.jsonl')).map((i) => i.question));
    const train = new Set((readJsonl(join(DATASETS, 'gsm8k', 'train.jsonl')) as { question: string }[]).map((r) => r.question));
    expect(items).toHaveLength(40);
    for (const it of items.filter((i) => i.kind !== 'junk')) {
      expect(test.has(it.attack.question)).toBe(false);
      expect(train.has(it.attack.question)).toBe(true);
    }
  });

  it('is built from PubMedQA\'s labelled set less its test split', () => {
    const items = buildCalibrationSet('pubmedqa-train', DATASETS, 20);
    const testIds = new Set(loadPubmedQaRecords(join(DATASETS, 'pubmedqa')).map((r) => r.id));
    expect(testIds.size).toBe(500);
    for (const it of items) expect(testIds.has(it.id.split('/')[0]!.replace('pubmedqa-train-', ''))).toBe(false);
    const wrong = items.filter((i) => i.kind === 'reference_wrong');
    expect(wrong.length).toBeGreaterThan(0);
    for (const it of wrong) expect(['yes', 'no', 'maybe']).toContain(it.attack.referenceAnswer);
  });

  it('mixes the kinds, and each corruption really changes the answer', () => {
    const items = buildCalibrationSet('gsm8k-train', DATASETS, 40);
    const kinds = new Map<string, number>();
    for (const it of items) kinds.set(it.kind, (kinds.get(it.kind) ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ defender_wrong: 12, defender_right: 12, reference_wrong: 12, junk: 4 });
    for (const it of items.filter((i) => i.kind === 'reference_wrong')) {
      expect(numericEqual(it.attack.referenceAnswer, it.defense.answer)).toBe(false);
      expect(it.labels).toEqual({ questionValid: true, referenceCorrect: false, defenderCorrect: true });
    }
    for (const it of items.filter((i) => i.kind === 'defender_wrong')) {
      expect(numericEqual(it.attack.referenceAnswer, it.defense.answer)).toBe(false);
      expect(acceptable(it.labels)).toBe(true);
      // The wrong answer is the one the reasoning ends on, so the Defender is consistently wrong.
      expect(extractNumericAnswer(it.defense.reasoning)).toBe(it.defense.answer);
    }
    for (let k = 0; k < 20; k++) for (const x of ['0', '1', '72', '0.5', '-3', '1000000']) expect(numericEqual(perturbNumber(x, k), x)).toBe(false);
  });

  it('is the same set for the same seed and another for another seed', () => {
    const ids = (seed: number) => buildCalibrationSet('gsm8k-train', DATASETS, 12, seed).map((i) => i.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(2)).not.toEqual(ids(1));
  });

  it('picks its source by pack or benchmark, none where no labelled set exists', () => {
    expect(calibrationSource('math', undefined)).toBe('gsm8k-train');
    expect(calibrationSource('none', 'gsmhard')).toBe('gsm8k-train');
    expect(calibrationSource('medical', undefined)).toBe('pubmedqa-train');
    expect(calibrationSource('genomics', undefined)).toBeUndefined();
  });
});

describe('scoring a Judge against the labels', () => {
  const items = buildCalibrationSet('gsm8k-train', DATASETS, 40);

  it('passes a Judge that answers as the labels say', () => {
    const answers: JudgeAnswer[] = items.map((it) => ({ questionValid: it.labels.questionValid, referenceCorrect: it.labels.referenceCorrect ?? false, defenderCorrect: it.labels.defenderCorrect ?? false }));
    const r = scoreCalibration(items, answers, meta);
    expect(r.passed).toBe(true);
    expect(r.agreement.questionValid.rate).toBe(1);
    expect(r.badAccepted.rate).toBe(0);
    expect(r.goodAccepted.rate).toBe(1);
  });

  it('fails a Judge that says "valid, verified, Defender wrong" to everything, saying why', () => {
    const r = scoreCalibration(items, items.map(() => ({ questionValid: true, referenceCorrect: true, defenderCorrect: false })), meta);
    expect(r.passed).toBe(false);
    expect(r.agreement.referenceCorrect.rate).toBeCloseTo(24 / 36);
    expect(r.badAccepted.rate).toBe(1);
    expect(r.reasons.join('\n')).toMatch(/referenceCorrect agrees .* 67% of 36 items/);
    expect(r.reasons.join('\n')).toMatch(/accepts 100% of 16 wrong-reference and junk items/);
  });

  it('counts a failed Judge call as a disagreement', () => {
    const r = scoreCalibration(items, items.map(() => null), meta);
    expect(r.failedCalls).toBe(40);
    expect(r.agreement.questionValid.k).toBe(0);
    expect(r.passed).toBe(false);
  });
});

describe('Wilson intervals', () => {
  it('match known values and stay inside [0, 1]', () => {
    // 8 of 10: the textbook Wilson 95% interval is [0.490, 0.943].
    const w = wilson(8, 10);
    expect(w.low).toBeCloseTo(0.4902, 3);
    expect(w.high).toBeCloseTo(0.9433, 3);
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(10, 10).high).toBeCloseTo(1, 12);
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
    expect(rate(3, 4)).toMatchObject({ k: 3, n: 4, rate: 0.75 });
  });
});
