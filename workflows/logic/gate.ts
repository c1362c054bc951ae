import type { Outcome } from '../../common/contracts/game.js';
import type { ReferenceCheck, Verification } from '../../common/contracts/verification.js';
import { type AnswerKind, correctByRule } from '../../common/answer-kind.js';
import { decide, decideBySolveRate } from './decide.js';

/**
 * The verified gate: the Judge's verdict, overruled wherever a deterministic check decides. The
 * reference check (an executed program, stated options) runs before the Defender is called, so a
 * refuted reference ends the episode there (`referenceGate`); the Defender's correctness is decided
 * by rule (number, option) where both answers parse, by the Judge otherwise.
 */

/** Before the Defender: a reference the check refutes, or that it requires and could not run, loses here. */
export function referenceGate(check: ReferenceCheck): Extract<Outcome, 'reference_wrong' | 'reference_unverified'> | null {
  if (check.verified !== false) return null;
  // A program that ran and printed another answer refutes the reference; a missing or failing one only fails to verify it.
  return check.method === 'program' && check.program && !check.program.error && check.program.stdout.trim() !== '' ? 'reference_wrong' : 'reference_unverified';
}

export interface GateInput {
  verdict: { questionValid: boolean; referenceCorrect: boolean; defendersCorrect: boolean[] };
  check: ReferenceCheck;
  kind: AnswerKind;
  defenderAnswers: string[];
  /** Solve-rate mode's band; absent: one Defender, accepted when it is wrong. */
  solveRate?: { min: number; max: number };
}

export function decideVerified(g: GateInput): { outcome: Exclude<Outcome, 'duplicate' | 'failed'>; solveRate?: number; verification: Verification } {
  const byRule = g.defenderAnswers.map((a) => correctByRule(g.kind, a));
  const defendersCorrect = byRule.map((r, i) => r ?? g.verdict.defendersCorrect[i] ?? false);
  const referenceCorrect = g.check.verified ?? g.verdict.referenceCorrect;
  const verification: Verification = {
    method: g.check.method,
    referenceVerified: g.check.verified,
    detail: g.check.detail,
    ...(g.check.program ? { program: g.check.program } : {}),
    defenderDecidedBy: byRule.map((r) => (r === undefined ? 'judge' : 'rule')),
    disagreements: {
      reference: g.check.verified !== null && g.check.verified !== g.verdict.referenceCorrect,
      defenders: byRule.filter((r, i) => r !== undefined && r !== g.verdict.defendersCorrect[i]).length,
    },
  };
  const judged = { questionValid: g.verdict.questionValid, referenceCorrect, defendersCorrect };
  if (g.solveRate) {
    const r = decideBySolveRate(judged, g.solveRate);
    return { outcome: r.outcome, solveRate: r.solveRate, verification };
  }
  return { outcome: decide({ ...judged, defenderCorrect: defendersCorrect[0] ?? false }), verification };
}
