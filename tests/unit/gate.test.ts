import { describe, expect, it } from 'vitest';
import type { AnswerKind } from '../../common/answer-kind.js';
import type { ReferenceCheck } from '../../common/contracts/verification.js';
import { decideVerified, referenceGate } from '../../workflows/logic/gate.js';

const ran = (stdout: string, verified: boolean, error?: string): ReferenceCheck => ({
  method: 'program',
  verified,
  detail: `printed ${stdout}`,
  program: { code: 'print(15)', stdout, durationMs: 40, ...(error ? { error } : {}) },
});
const yesJudge = { questionValid: true, referenceCorrect: true, defendersCorrect: [false] };
const num = { kind: 'numeric', reference: '15' } as const;

describe('referenceGate: before the Defender is called', () => {
  it('refuted by a program that printed another answer: reference_wrong', () => {
    expect(referenceGate(ran('16', false))).toBe('reference_wrong');
  });
  it('a program that raised, printed nothing, or is missing: reference_unverified', () => {
    expect(referenceGate(ran('', false, 'ZeroDivisionError'))).toBe('reference_unverified');
    expect(referenceGate(ran('', false))).toBe('reference_unverified');
    expect(referenceGate({ method: 'program', verified: false, detail: 'no program' })).toBe('reference_unverified');
  });
  it('confirmed, or nothing to check: goes on', () => {
    expect(referenceGate(ran('15', true))).toBeNull();
    expect(referenceGate({ method: 'none', verified: null, detail: '' })).toBeNull();
  });
});

describe('decideVerified: the deterministic check wins, disagreements counted', () => {
  it('a yes-Judge cannot pass off a Defender who got it right by number', () => {
    const r = decideVerified({ verdict: yesJudge, check: ran('15', true), kind: num, defenderAnswers: ['The answer is 15.'] });
    expect(r.outcome).toBe('defender_correct');
    expect(r.verification.defenderDecidedBy).toEqual(['rule']);
    expect(r.verification.disagreements).toEqual({ reference: false, defenders: 1 });
  });

  it('accepts a verified reference the Defender missed, even when the Judge doubted the reference', () => {
    const r = decideVerified({ verdict: { ...yesJudge, referenceCorrect: false }, check: ran('15', true), kind: num, defenderAnswers: ['14'] });
    expect(r.outcome).toBe('accepted');
    expect(r.verification.disagreements).toEqual({ reference: true, defenders: 0 });
  });

  it('leaves to the Judge what no rule decides', () => {
    const free = { kind: 'free' } as const;
    const none: ReferenceCheck = { method: 'none', verified: null, detail: 'no check for this domain' };
    expect(decideVerified({ verdict: yesJudge, check: none, kind: free, defenderAnswers: ['DNA ligase'] }).outcome).toBe('accepted');
    expect(decideVerified({ verdict: { ...yesJudge, referenceCorrect: false }, check: none, kind: free, defenderAnswers: ['x'] }).outcome).toBe('reference_wrong');
    expect(decideVerified({ verdict: { ...yesJudge, questionValid: false }, check: ran('15', true), kind: num, defenderAnswers: ['14'] }).outcome).toBe('invalid_question');
    // A Defender answer with no number is the Judge's call.
    const r = decideVerified({ verdict: { ...yesJudge, defendersCorrect: [true] }, check: ran('15', true), kind: num, defenderAnswers: ['fifteen'] });
    expect(r.outcome).toBe('defender_correct');
    expect(r.verification.defenderDecidedBy).toEqual(['judge']);
  });

  it('options: the Defender is right only when it picks the reference option', () => {
    const opt: AnswerKind = { kind: 'options', choices: ['yes', 'no', 'maybe'], reference: 'no' };
    const check: ReferenceCheck = { method: 'options', verified: true, detail: 'one of yes/no/maybe' };
    expect(decideVerified({ verdict: yesJudge, check, kind: opt, defenderAnswers: ['No.'] }).outcome).toBe('defender_correct');
    expect(decideVerified({ verdict: yesJudge, check, kind: opt, defenderAnswers: ['Yes, it does.'] }).outcome).toBe('accepted');
  });

  it('solve-rate mode counts the rule-decided answers', () => {
    const r = decideVerified({ verdict: { ...yesJudge, defendersCorrect: [false, false, false, false] }, check: ran('15', true), kind: num, defenderAnswers: ['15', '15', '14', '13'], solveRate: { min: 0.25, max: 0.75 } });
    expect(r.outcome).toBe('accepted');
    expect(r.solveRate).toBe(0.5);
    expect(r.verification.disagreements.defenders).toBe(2);
  });
});
