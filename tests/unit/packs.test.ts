import { afterAll, describe, expect, it } from 'vitest';
import type { Attack } from '../../common/contracts/index.js';
import { closePythonSandbox } from '../../activities/game/judge/python-sandbox.js';
import { PACKS, programCheck } from '../../activities/game/packs.js';

const attack = (program: string | undefined, referenceAnswer = '15'): Attack => ({
  question: 'Ana buys 12 pens and gets one free for every four. How many pens does she have?',
  referenceAnswer,
  solutionSteps: ['12 / 4 = 3 free pens.', '12 + 3 = 15.'],
  skill: 'division',
  annotation: 'The free pens are easy to forget.',
  ...(program === undefined ? {} : { program }),
});

describe('the executed reference check (math: the Attacker\'s program in the sandbox)', () => {
  afterAll(() => closePythonSandbox());

  it('verifies a reference its program prints, with numeric tolerance and the last line taken', async () => {
    const r = await programCheck(attack('bought = 12\nfree = bought // 4\nprint("free:", free)\nprint(bought + free)'));
    expect(r).toMatchObject({ method: 'program', verified: true });
    expect(r.program?.stdout).toBe('free: 3\n15\n');
    expect((await programCheck(attack('print(15.0000001)'))).verified).toBe(true);
    expect((await programCheck(attack('print(30 / 2)', '$15'))).verified).toBe(true);
  });

  it('refutes a reference its program contradicts (the program ran and printed another number)', async () => {
    const r = await programCheck(attack('print(12 + 12 // 4)', '16'));
    expect(r.verified).toBe(false);
    expect(r.program?.error).toBeUndefined();
    expect(r.detail).toBe('the program printed 15; the stated answer is 16');
  });

  it('verifies nothing without a program, or when it raises, loops, or prints no number', async () => {
    expect(await programCheck(attack(undefined))).toMatchObject({ verified: false, detail: 'the Attacker gave no program to compute its answer' });
    const raised = await programCheck(attack('print(1 / 0)'));
    expect(raised.verified).toBe(false);
    expect(raised.program?.error).toMatch(/ZeroDivisionError/);
    const looped = await programCheck(attack('while True:\n    pass'));
    expect(looped.verified).toBe(false);
    expect(looped.program?.error).toMatch(/^timeout/);
    const words = await programCheck(attack('print("fifteen")'));
    expect(words).toMatchObject({ verified: false, detail: 'the program printed no number' });
  }, 30_000);

  it('keeps hostile programs inside the sandbox', async () => {
    const r = await programCheck(attack('import os\nprint(os.listdir("/"))'));
    expect(r.verified).toBe(false);
    const js = await programCheck(attack('import js\nprint(js.process.env)'));
    expect(js.verified).toBe(false);
    expect(js.program?.error).toBeDefined();
  }, 30_000);
});

describe('options packs', () => {
  const mcq = (referenceAnswer: string): Attack => ({ ...attack(undefined, referenceAnswer), question: 'Which is first-line?\nA. Thiazide\nB. Nitrate\nC. Statin' });
  it('verify that the reference is one of the stated options, and leave free text to the Judge', async () => {
    expect(await PACKS.medical.verify(mcq('A'))).toMatchObject({ method: 'options', verified: true });
    expect(await PACKS.medical.verify(mcq('D'))).toMatchObject({ method: 'options', verified: false });
    expect(await PACKS.genomics.verify({ ...attack(undefined, 'DNA ligase'), question: 'Which enzyme joins Okazaki fragments?' })).toMatchObject({ method: 'none', verified: null });
    expect(PACKS.math.requiresProgram).toBe(true);
    expect(PACKS.medical.requiresProgram).toBe(false);
  });
});
