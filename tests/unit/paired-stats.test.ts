import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_DEFAULTS, comparePaired, mcnemarExact, mulberry32, pairByItem, pairedBootstrap } from '../../common/paired-stats.js';

// --- independent references ----------------------------------------------------------------------

/** C(n, i) for i = 0..n as exact integers (Pascal's row). */
function pascalRow(n: number): bigint[] {
  let row = [1n];
  for (let m = 1; m <= n; m++) row = [1n, ...row.slice(1).map((x, i) => x + row[i]!), 1n];
  return row;
}

/** num / den as a double without overflowing either (both can be ~2^3000), to 60 significant bits whatever its size. */
function ratio(num: bigint, den: bigint): number {
  if (num === 0n) return 0;
  const shift = den.toString(2).length - num.toString(2).length + 60;
  const scaled = Number(shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift)));
  // Two steps: 2^-shift alone can underflow where the product does not.
  return scaled * 2 ** -Math.ceil(shift / 2) * 2 ** -Math.floor(shift / 2);
}

/**
 * scipy.stats.binomtest(k, n, 0.5).pvalue, computed as scipy does: the sum of P(X = i) over every
 * i no more likely than the observed k (exact integers, so no tolerance is needed).
 */
function scipyBinomTwoSided(k: number, n: number): number {
  const row = pascalRow(n);
  const observed = row[k]!;
  const num = row.filter((c) => c <= observed).reduce((s, c) => s + c, 0n);
  return Math.min(1, ratio(num, 2n ** BigInt(n)));
}

const vector = (pattern: string): boolean[] => [...pattern].map((c) => c === '1');

/** `n` pairs: `both` right in both, `gained` only in first, `lost` only in second, the rest wrong in both. */
function pairs(n: number, both: number, gained: number, lost: number): { first: boolean[]; second: boolean[] } {
  const first: boolean[] = [];
  const second: boolean[] = [];
  for (let i = 0; i < n; i++) {
    first.push(i < both + gained);
    second.push(i < both || (i >= both + gained && i < both + gained + lost));
  }
  return { first, second };
}

// --- McNemar ------------------------------------------------------------------------------------

describe('mcnemarExact', () => {
  it('gives the known values', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(5, 5)).toBe(1);
    expect(mcnemarExact(1, 9)).toBeCloseTo(22 / 1024, 14); // 0.021484375
    expect(mcnemarExact(0, 5)).toBeCloseTo(2 / 32, 14); // 0.0625: five discordant pairs all one way cannot reach 0.05
    expect(mcnemarExact(0, 6)).toBeCloseTo(2 / 64, 14); // 0.03125: six can
    expect(mcnemarExact(2, 10)).toBeCloseTo(158 / 4096, 14); // 0.0386
    expect(mcnemarExact(0, 1)).toBe(1);
    expect(mcnemarExact(4, 5)).toBe(1);
  });

  it("matches the textbook example (Agresti's presidential approval: 150 vs 86 discordant pairs, scipy.stats.binomtest(86, 236).pvalue = 3.7159e-5)", () => {
    // Exact binomial on the 236 discordant pairs of Agresti's Table 10.1; the chi-square version gives 1.75e-5 with z² = 17.36.
    const p = mcnemarExact(86, 150);
    expect(p).toBeCloseTo(3.7159361395714e-5, 16);
    expect(p).toBeCloseTo(scipyBinomTwoSided(86, 236), 15);
  });

  it('matches values printed by scipy.stats.binomtest(k, n).pvalue', () => {
    expect(mcnemarExact(3, 7)).toBeCloseTo(0.34375, 14);
    expect(mcnemarExact(400, 500) / 0.0009564441369189373).toBeCloseTo(1, 10);
    expect(mcnemarExact(300, 10) / 1.9342365111897645e-75).toBeCloseTo(1, 10);
  });

  it('equals the exact binomial two-sided p (scipy rule, exact integers) for every b, c ≤ 40', () => {
    for (let b = 0; b <= 40; b++) {
      for (let c = 0; c <= 40; c++) {
        const want = scipyBinomTwoSided(Math.min(b, c), b + c);
        const got = mcnemarExact(b, c);
        expect(Math.abs(got - want), `b=${b} c=${c}`).toBeLessThanOrEqual(1e-12 * Math.max(want, 1e-300) + 1e-300);
      }
    }
  });

  it('stays exact for benchmark-sized counts, where 2^n overflows a double', () => {
    for (const [b, c] of [[400, 500], [600, 610], [1000, 1200], [10, 300], [1100, 1099]] as const) {
      const want = scipyBinomTwoSided(Math.min(b, c), b + c);
      expect(want).toBeGreaterThan(0);
      expect(mcnemarExact(b, c) / want, `b=${b} c=${c}`).toBeCloseTo(1, 9);
    }
    // Below the smallest double (~1e-431): 0, not NaN.
    expect(mcnemarExact(10, 1500)).toBe(0);
  });

  it('is symmetric and never above 1', () => {
    for (const [b, c] of [[3, 7], [0, 12], [30, 31], [17, 2]] as const) {
      expect(mcnemarExact(b, c)).toBe(mcnemarExact(c, b));
      expect(mcnemarExact(b, c)).toBeLessThanOrEqual(1);
    }
    expect(mcnemarExact(30, 31)).toBe(1);
  });

  it('refuses what is not a count', () => {
    expect(() => mcnemarExact(-1, 3)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 3)).toThrow(/two counts/);
    expect(() => mcnemarExact(Number.NaN, 3)).toThrow(RangeError);
  });
});

// --- bootstrap ----------------------------------------------------------------------------------

describe('pairedBootstrap', () => {
  const { first, second } = pairs(400, 150, 60, 30); // Δ = (60 − 30) / 400 = +0.075

  it('is deterministic for a seed, and the seed matters', () => {
    const a = pairedBootstrap(first, second, { seed: 7 });
    expect(pairedBootstrap(first, second, { seed: 7 })).toEqual(a);
    expect(pairedBootstrap(first, second)).toEqual(pairedBootstrap(first, second, { seed: BOOTSTRAP_DEFAULTS.seed }));
    const others = [1, 2, 3, 4].map((seed) => pairedBootstrap(first, second, { seed }));
    expect(others.some((o) => o.low !== a.low || o.high !== a.high)).toBe(true);
  });

  it('contains the observed difference, and agrees with the normal approximation for a large sample', () => {
    const ci = pairedBootstrap(first, second);
    expect(ci.low).toBeLessThan(0.075);
    expect(ci.high).toBeGreaterThan(0.075);
    // se of a paired difference: sqrt(((b + c)/n − Δ²) / n) = 0.02342; 1.96 · se = 0.0459.
    const se = Math.sqrt(((60 + 30) / 400 - 0.075 ** 2) / 400);
    expect(ci.low).toBeCloseTo(0.075 - 1.96 * se, 2);
    expect(ci.high).toBeCloseTo(0.075 + 1.96 * se, 2);
  });

  it('gives bounds that are differences some resample can have (multiples of 1/n)', () => {
    const ci = pairedBootstrap(first, second);
    for (const x of [ci.low, ci.high]) expect(Math.abs(x * 400 - Math.round(x * 400))).toBeLessThan(1e-9);
  });

  it('is a point at 0 for identical vectors and for no items, and at ±1 when one side is always right', () => {
    const v = vector('1101001110');
    expect(pairedBootstrap(v, [...v])).toEqual({ low: 0, high: 0 });
    expect(pairedBootstrap([], [])).toEqual({ low: 0, high: 0 });
    expect(pairedBootstrap(vector('1111'), vector('0000'))).toEqual({ low: 1, high: 1 });
    expect(pairedBootstrap(vector('0000'), vector('1111'))).toEqual({ low: -1, high: -1 });
  });

  it('flips with the order of the two sides', () => {
    const ab = pairedBootstrap(first, second);
    const ba = pairedBootstrap(second, first);
    expect(ba.low).toBeCloseTo(-ab.high, 12);
    expect(ba.high).toBeCloseTo(-ab.low, 12);
  });

  it('widens with the level and narrows with more items', () => {
    const ci95 = pairedBootstrap(first, second);
    const ci80 = pairedBootstrap(first, second, { level: 0.8 });
    expect(ci80.low).toBeGreaterThanOrEqual(ci95.low);
    expect(ci80.high).toBeLessThanOrEqual(ci95.high);
    const big = pairs(1600, 600, 240, 120);
    const wide = ci95.high - ci95.low;
    const narrow = pairedBootstrap(big.first, big.second);
    expect(narrow.high - narrow.low).toBeLessThan(wide * 0.6);
  });

  it('covers the true difference about 95% of the time', () => {
    // 200 simulated evals of 100 items where first is right 10 points more often; the interval should hold +0.10 ~95% of the time.
    const random = mulberry32(11);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const a: boolean[] = [];
      const b: boolean[] = [];
      for (let i = 0; i < 100; i++) {
        const u = random();
        // P(both) 0.4, P(only first) 0.2, P(only second) 0.1, P(neither) 0.3.
        a.push(u < 0.6);
        b.push(u < 0.4 || (u >= 0.6 && u < 0.7));
      }
      const ci = pairedBootstrap(a, b, { resamples: 2000, seed: t });
      if (ci.low <= 0.1 && 0.1 <= ci.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.995);
  });

  it('refuses vectors that are not paired and options that make no interval', () => {
    expect(() => pairedBootstrap([true], [true, false])).toThrow(/paired vectors, got 1 and 2/);
    expect(() => pairedBootstrap([true], [false], { resamples: 0 })).toThrow(RangeError);
    expect(() => pairedBootstrap([true], [false], { level: 1 })).toThrow(RangeError);
  });

  it('draws the published mulberry32 sequence (a changed generator would move every reported interval)', () => {
    const r = mulberry32(42);
    expect([r(), r(), r()]).toEqual([0.6011037519201636,0.44829055899754167,0.8524657934904099]);
  });
});

// --- pairing by item ----------------------------------------------------------------------------

describe('pairByItem and comparePaired', () => {
  const outcomes = (pattern: string, ids = [...pattern].map((_, i) => `q${i}`)) => [...pattern].map((c, i) => ({ id: ids[i]!, correct: c === '1' }));

  it('pairs by id, not by position, and counts the items only one side has', () => {
    const tuned = outcomes('1101', ['a', 'b', 'c', 'x']);
    const base = outcomes('0110', ['c', 'b', 'a', 'y']);
    const p = pairByItem(tuned, base);
    expect(p.ids).toEqual(['a', 'b', 'c']);
    expect(p.first).toEqual([true, true, false]);
    expect(p.second).toEqual([true, true, false]);
    expect(p).toMatchObject({ onlyFirst: 1, onlySecond: 1 });
  });

  it('counts a repeated id once', () => {
    const p = pairByItem(outcomes('11', ['a', 'a']), outcomes('00', ['a', 'a']));
    expect(p).toMatchObject({ ids: ['a'], onlyFirst: 0, onlySecond: 0 });
  });

  it('gives Δ = first − second with its interval and McNemar p on the discordant items', () => {
    // 10 items: tuned alone right on 9 (q1..q9), base alone right on 1 (q0).
    const tuned = outcomes('0111111111');
    const base = outcomes('1000000000');
    const c = comparePaired(tuned, base);
    expect(c).toMatchObject({ n: 10, gained: 9, lost: 1, firstAccuracy: 0.9, secondAccuracy: 0.1, onlyFirst: 0, onlySecond: 0, level: 0.95 });
    expect(c.delta).toBeCloseTo(0.8, 12);
    expect(c.p).toBeCloseTo(22 / 1024, 14);
    expect(c.ci.low).toBeGreaterThan(0);
    expect(c.ci.low).toBeLessThanOrEqual(c.delta);
    expect(c.ci.high).toBeGreaterThanOrEqual(c.delta);
    const reversed = comparePaired(base, tuned);
    expect(reversed.delta).toBeCloseTo(-0.8, 12);
    expect(reversed.p).toBe(c.p);
  });

  it('leaves out unpaired items from Δ and the test', () => {
    const tuned = outcomes('111', ['a', 'b', 'only-tuned']);
    const base = outcomes('10', ['a', 'b']);
    const c = comparePaired(tuned, base);
    expect(c).toMatchObject({ n: 2, gained: 1, lost: 0, onlyFirst: 1, onlySecond: 0, firstAccuracy: 1, secondAccuracy: 0.5 });
    expect(comparePaired([], base)).toMatchObject({ n: 0, delta: 0, p: 1, ci: { low: 0, high: 0 }, onlySecond: 2 });
  });
});
