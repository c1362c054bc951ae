import { describe, expect, it } from 'vitest';
import { comparePaired, type ItemOutcome, mcnemarExact, mulberry32 } from '../../common/paired-stats.js';
import { comparePooled, seedSpread, signFlipP } from '../../common/seed-stats.js';

/** Outcomes on q0…q(n−1) from a 0/1 string, e.g. '1100' → q0, q1 right. */
const run = (bits: string, prefix = 'q'): ItemOutcome[] => [...bits].map((b, i) => ({ id: `${prefix}${i}`, correct: b === '1' }));
/** Right exactly on [from, to) of n items. */
const rightOn = (from: number, to: number, n = 200): ItemOutcome[] => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, correct: i >= from && i < to }));

describe('seedSpread', () => {
  it('gives the mean, the sample sd (n − 1) and the range over seeds', () => {
    const s = seedSpread([0.4, 0.5, 0.6]);
    expect(s.seeds).toBe(3);
    expect(s.mean).toBeCloseTo(0.5, 12);
    expect(s.sd).toBeCloseTo(0.1, 12);
    expect([s.min, s.max]).toEqual([0.4, 0.6]);
    // Two seeds 0.30 and 0.36: sd = |a − b| / √2.
    expect(seedSpread([0.3, 0.36]).sd).toBeCloseTo(0.06 / Math.SQRT2, 12);
  });

  it('has no sd for one run, and refuses none', () => {
    expect(seedSpread([0.42])).toEqual({ seeds: 1, mean: 0.42, sd: null, min: 0.42, max: 0.42 });
    expect(() => seedSpread([])).toThrow(RangeError);
  });
});

describe('signFlipP', () => {
  it("is McNemar's exact test when every weight is 1", () => {
    for (const [gained, lost] of [[0, 0], [3, 0], [1, 9], [10, 1], [20, 20], [7, 12], [40, 20], [150, 110]] as const) {
      const weights = [...Array<number>(gained).fill(1), ...Array<number>(lost).fill(-1), 0, 0];
      expect(signFlipP(weights, gained - lost), `${gained}/${lost}`).toBeCloseTo(mcnemarExact(gained, lost), 12);
    }
  });

  it('enumerates the sign flips of unequal weights exactly', () => {
    // ±1 ±2 ±3: sums 6, 4, 2, 0, 0, −2, −4, −6, each 1/8.
    expect(signFlipP([1, 2, 3], 6)).toBe(0.25);
    expect(signFlipP([1, -2, 3], -4)).toBe(0.5);
    expect(signFlipP([1, 2, 3], 2)).toBe(0.75);
    expect(signFlipP([1, 2, 3], 0)).toBe(1);
    expect(signFlipP([0, 0], 0)).toBe(1);
  });
});

describe('comparePooled', () => {
  it('is comparePaired, to the last digit, when each side has one run', () => {
    const random = mulberry32(7);
    const a = Array.from({ length: 300 }, (_, i) => ({ id: `q${i}`, correct: random() < 0.55 }));
    // b misses five of a's items and scores two of its own: both left out and counted.
    const b = [...Array.from({ length: 295 }, (_, i) => ({ id: `q${i}`, correct: random() < 0.45 })), { id: 'x1', correct: true }, { id: 'x2', correct: false }];
    const paired = comparePaired(a, b, { seed: 11, resamples: 2000 });
    const pooled = comparePooled([a], [b], { seed: 11, resamples: 2000 });
    expect(pooled).toEqual({ ...paired, firstSeeds: 1, secondSeeds: 1 });
  });

  it("pools a cut's seeds per item: Δ of the means, items gained and lost, and the exact sign-flip p", () => {
    // Per item, A's share right over its two runs: 1, ½, 0, ½; B's one run: 0, 0, 0, 1.
    const c = comparePooled([run('1100'), run('1001')], [run('0001')], { resamples: 500 });
    expect(c).toMatchObject({ n: 4, firstSeeds: 2, secondSeeds: 1, firstAccuracy: 0.5, secondAccuracy: 0.25, delta: 0.25, gained: 2, lost: 1, onlyFirst: 0, onlySecond: 0 });
    // Differences in halves: 2, 1, 0, −1 (sum 2); of the 8 sign flips of (2, 1, 1), 6 reach |S| ≥ 2.
    expect(c.p).toBe(0.75);
    expect(c.ci.low).toBeLessThanOrEqual(c.delta);
    expect(c.ci.high).toBeGreaterThanOrEqual(c.delta);
  });

  it('carries the seed-to-seed noise in its interval', () => {
    // Three runs at 30%, 50% and 70% against a base at 50%, all nested: the mean ties base, but a
    // resample that draws the 30% run three times (1 in 27) sits 20 points below it.
    const noisy = comparePooled([rightOn(0, 60), rightOn(0, 100), rightOn(0, 140)], [rightOn(0, 100)]);
    expect(noisy.delta).toBeCloseTo(0, 12);
    expect(noisy.ci.low).toBeLessThan(-0.1);
    expect(noisy.ci.high).toBeGreaterThan(0.1);
    // The same three runs agreeing with each other: no seed noise and, with identical items, none at all.
    expect(comparePooled([rightOn(0, 100), rightOn(0, 100), rightOn(0, 100)], [rightOn(0, 100)]).ci).toEqual({ low: 0, high: 0 });
  });

  it('pairs only the items every run of both sides scored, counts the rest, and is deterministic', () => {
    const a = [run('1111'), run('110')];
    const b = [run('0000'), run('00001')];
    const c = comparePooled(a, b);
    expect(c.n).toBe(3);
    expect([c.onlyFirst, c.onlySecond]).toEqual([1, 2]);
    expect(comparePooled(a, b)).toEqual(c);
    expect(() => comparePooled([], b)).toThrow(RangeError);
  });
});
