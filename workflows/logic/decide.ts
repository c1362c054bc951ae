import type { Outcome, Verdict } from '../../common/game.js';

/**
 * The Attacker wins when the question is valid, its reference verified, and the Defender wrong.
 * The order of checks decides the reason recorded for a loss, so it is fixed: a broken question
 * is `invalid_question` even if its reference is also wrong.
 */
export function decide(verdict: Verdict): Exclude<Outcome, 'duplicate' | 'failed'> {
  if (!verdict.questionValid) return 'invalid_question';
  if (!verdict.referenceCorrect) return 'reference_wrong';
  if (verdict.defenderCorrect) return 'defender_correct';
  return 'accepted';
}

/** Reasoning quality 1.0–5.0 binned as in the paper: L4 = 3.5–4.49. */
export function qualityLevel(quality: number): 'L1' | 'L2' | 'L3' | 'L4' | 'L5' {
  if (quality < 1.5) return 'L1';
  if (quality < 2.5) return 'L2';
  if (quality < 3.5) return 'L3';
  if (quality < 4.5) return 'L4';
  return 'L5';
}
