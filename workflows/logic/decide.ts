import type { Outcome, Verdict } from '../../common/contracts/index.js';

/**
 * The Attacker wins when the question is valid, its reference verified, and the Defender wrong.
 * The order of checks decides the reason recorded for a loss, so it is fixed: a broken question
 * is `invalid_question` even if its reference is also wrong.
 */
export function decide(verdict: Pick<Verdict, 'questionValid' | 'referenceCorrect' | 'defenderCorrect'>): Exclude<Outcome, 'duplicate' | 'failed' | 'too_hard'> {
  if (!verdict.questionValid) return 'invalid_question';
  if (!verdict.referenceCorrect) return 'reference_wrong';
  if (verdict.defenderCorrect) return 'defender_correct';
  return 'accepted';
}

/**
 * Solve-rate mode: a valid, verified question wins when the share of Defender samples that solved
 * it lies in [min, max]; above, it was too easy; below, too hard.
 */
export function decideBySolveRate(
  verdict: { questionValid: boolean; referenceCorrect: boolean; defendersCorrect: boolean[] },
  band: { min: number; max: number },
): { outcome: Exclude<Outcome, 'duplicate' | 'failed'>; solveRate: number } {
  const solveRate = verdict.defendersCorrect.filter(Boolean).length / verdict.defendersCorrect.length;
  if (!verdict.questionValid) return { outcome: 'invalid_question', solveRate };
  if (!verdict.referenceCorrect) return { outcome: 'reference_wrong', solveRate };
  if (solveRate > band.max) return { outcome: 'defender_correct', solveRate };
  if (solveRate < band.min) return { outcome: 'too_hard', solveRate };
  return { outcome: 'accepted', solveRate };
}

/** Reasoning quality 1.0–5.0 binned as in the paper: L4 = 3.5–4.49. */
export function qualityLevel(quality: number): 'L1' | 'L2' | 'L3' | 'L4' | 'L5' {
  if (quality < 1.5) return 'L1';
  if (quality < 2.5) return 'L2';
  if (quality < 3.5) return 'L3';
  if (quality < 4.5) return 'L4';
  return 'L5';
}
