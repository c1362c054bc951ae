import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../common/contracts/index.js';
import { type ComplexityController, observe } from '../../workflows/logic/controller.js';
import { decideBySolveRate } from '../../workflows/logic/decide.js';
import { mulberry32 as rng } from '../support/prng.js';

const cfg = { targetWinRate: 0.5, window: 10, tolerance: 0.1, min: 1, max: 5 };

describe('adaptive complexity controller', () => {
  it('does nothing when off, and ignores outcomes that say nothing about the level', () => {
    const c: ComplexityController = { level: 3, recent: [] };
    expect(observe(c, 'accepted', undefined)).toBe(c);
    for (const o of ['duplicate', 'invalid_question', 'reference_wrong', 'failed'] as Outcome[]) expect(observe(c, o, cfg)).toBe(c);
  });

  it('raises the level when the Defender solves too much, lowers it when the Attacker wins too much, stays in range', () => {
    let c: ComplexityController = { level: 3, recent: [] };
    for (let i = 0; i < 10; i++) c = observe(c, 'defender_correct', cfg);
    expect(c).toEqual({ level: 4, recent: [] });
    for (let i = 0; i < 20; i++) c = observe(c, 'defender_correct', cfg);
    expect(c.level).toBe(5);
    for (let i = 0; i < 10; i++) c = observe(c, 'accepted', cfg);
    expect(c.level).toBe(4);
    for (let i = 0; i < 100; i++) c = observe(c, 'accepted', cfg);
    expect(c.level).toBe(1);
  });

  it('leaves the level alone inside the tolerance, and steps down when losses are mostly too hard', () => {
    let c: ComplexityController = { level: 3, recent: [] };
    for (let i = 0; i < 10; i++) c = observe(c, i % 2 ? 'accepted' : 'defender_correct', cfg);
    expect(c.level).toBe(3);
    for (let i = 0; i < 10; i++) c = observe(c, i < 2 ? 'accepted' : 'too_hard', cfg);
    expect(c.level).toBe(2);
  });

  it('settles where a scripted Defender fails at the target rate', () => {
    // The Defender's failure probability by complexity: the Attacker wins about half the time at level 4.
    const failRate: Record<number, number> = { 1: 0.05, 2: 0.15, 3: 0.3, 4: 0.5, 5: 0.8 };
    const random = rng(42);
    let c: ComplexityController = { level: 1, recent: [] };
    const levels: number[] = [];
    for (let episode = 0; episode < 600; episode++) {
      c = observe(c, random() < failRate[c.level]! ? 'accepted' : 'defender_correct', cfg);
      levels.push(c.level);
    }
    const late = levels.slice(300);
    const mean = late.reduce((a, b) => a + b, 0) / late.length;
    expect(mean).toBeGreaterThan(3.4);
    expect(mean).toBeLessThan(4.6);
    expect(late.filter((l) => l === 4).length / late.length).toBeGreaterThan(0.4);
  });
});

describe('solve-rate decision', () => {
  const band = { min: 0.3, max: 0.7 };
  const v = (flags: boolean[], valid = true, ref = true) => ({ questionValid: valid, referenceCorrect: ref, defendersCorrect: flags });
  it.each([
    [[true, false, false], 'accepted', 1 / 3],
    [[true, true, false], 'accepted', 2 / 3],
    [[true, true, true], 'defender_correct', 1],
    [[false, false, false], 'too_hard', 0],
  ] as const)('%o → %s', (flags, outcome, rate) => {
    const r = decideBySolveRate(v([...flags]), band);
    expect(r.outcome).toBe(outcome);
    expect(r.solveRate).toBeCloseTo(rate);
  });
  it('checks validity and the reference first', () => {
    expect(decideBySolveRate(v([true, false], false), band).outcome).toBe('invalid_question');
    expect(decideBySolveRate(v([true, false], true, false), band).outcome).toBe('reference_wrong');
  });
});
