/**
 * Paired statistics for two variants scored on the same eval items. Two accuracies measured on the
 * same items are correlated (an easy item is easy for both), so comparing their separate intervals
 * throws away most of the evidence: only the items the two disagree on can tell them apart. Pure
 * and deterministic: the same outcomes and seed give the same numbers on every machine.
 */

/** How an item fared for each of two variants. */
export interface ItemOutcome {
  id: string;
  correct: boolean;
}

/**
 * McNemar's exact test: the two-sided exact binomial test of `gained` against `lost` (the items
 * only the first variant got right, and only the second), each equally likely under "no
 * difference". p = min(1, 2 · P(X ≤ min(gained, lost))), X ~ Binomial(gained + lost, ½), which is
 * what scipy.stats.binomtest(k, n, 0.5) gives (at p = ½ its likelihood rule and doubling agree).
 * No discordant items at all gives p = 1: nothing tells the two apart. A p below the smallest
 * double (e.g. 10 against 1,500) reads 0.
 */
export function mcnemarExact(gained: number, lost: number): number {
  if (!Number.isInteger(gained) || !Number.isInteger(lost) || gained < 0 || lost < 0) {
    throw new RangeError(`mcnemarExact needs two counts, got ${gained} and ${lost}`);
  }
  const n = gained + lost;
  const k = Math.min(gained, lost);
  // k = ⌊n/2⌋ makes the doubled tail 1 or more exactly; summed in floats it can land a hair below.
  if (2 * k + 1 >= n) return 1;
  // In logs: C(n, i) / 2^n under- and overflows doubles long before n reaches a benchmark's size.
  const logHalfN = n * Math.log(0.5);
  let logC = 0; // log C(n, 0)
  const logs: number[] = [];
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    logs.push(logC + logHalfN);
  }
  const top = Math.max(...logs);
  const tail = Math.exp(top) * logs.reduce((s, l) => s + Math.exp(l - top), 0);
  return Math.min(1, 2 * tail);
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1); the bootstrap's resamples depend on the seed alone. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  /** Coverage of the interval, e.g. 0.95. */
  level?: number;
}

export const BOOTSTRAP_DEFAULTS = { resamples: 10_000, seed: 20_251_125, level: 0.95 } as const;

/**
 * Percentile interval of mean(first) − mean(second) from a paired bootstrap: each resample draws
 * items (pairs, never the two sides apart) with replacement. `first[i]` and `second[i]` must be the
 * same item. Sums stay integers until the end, so the bounds are exact multiples of 1/n; identical
 * vectors give [0, 0] and n = 0 gives [0, 0] with nothing to resample.
 */
export function pairedBootstrap(first: readonly boolean[], second: readonly boolean[], options: BootstrapOptions = {}): { low: number; high: number } {
  if (first.length !== second.length) throw new RangeError(`pairedBootstrap needs paired vectors, got ${first.length} and ${second.length} items`);
  const { resamples, seed, level } = { ...BOOTSTRAP_DEFAULTS, ...options };
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const n = first.length;
  const d = Int8Array.from(first, (a, i) => Number(a) - Number(second[i]));
  if (n === 0 || d.every((x) => x === 0)) return { low: 0, high: 0 };
  const random = mulberry32(seed);
  const sums = new Int32Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[Math.floor(random() * n)]!;
    sums[r] = s;
  }
  sums.sort();
  const { lo, hi } = percentileIndices(resamples, level);
  return { low: sums[lo]! / n, high: sums[hi]! / n };
}

/** The order statistics of `resamples` sorted draws that leave at most (1 − level)/2 of them outside on each side. */
export function percentileIndices(resamples: number, level: number): { lo: number; hi: number } {
  const tail = (1 - level) / 2;
  return { lo: Math.min(resamples - 1, Math.floor(tail * resamples)), hi: Math.max(0, Math.ceil((1 - tail) * resamples) - 1) };
}

/** A run's outcomes by id (a repeated id is one item: its first outcome). */
export function outcomesById(run: readonly ItemOutcome[]): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const o of run) if (!m.has(o.id)) m.set(o.id, o.correct);
  return m;
}

/** Two variants' outcomes paired by item id; ids scored for only one side are counted, not used. */
export interface PairedOutcomes {
  first: boolean[];
  second: boolean[];
  ids: string[];
  onlyFirst: number;
  onlySecond: number;
}

export function pairByItem(first: readonly ItemOutcome[], second: readonly ItemOutcome[]): PairedOutcomes {
  const other = outcomesById(second);
  const seen = new Set<string>();
  const out: PairedOutcomes = { first: [], second: [], ids: [], onlyFirst: 0, onlySecond: 0 };
  for (const o of first) {
    // A repeated id is one item: counting it twice would weigh it twice in the test.
    if (seen.has(o.id)) continue;
    seen.add(o.id);
    const b = other.get(o.id);
    if (b === undefined) out.onlyFirst++;
    else {
      out.ids.push(o.id);
      out.first.push(o.correct);
      out.second.push(b);
    }
  }
  out.onlySecond = [...other.keys()].filter((id) => !seen.has(id)).length;
  return out;
}

/** A paired comparison of `first` against `second` (Δ = first − second): what the report prints for every pair of variants. */
export interface PairedComparison {
  /** Items scored for both. */
  n: number;
  /** Items only `first` got right, and only `second`: the discordant pairs McNemar's test weighs. */
  gained: number;
  lost: number;
  /** Accuracies on the paired items, and their difference first − second. */
  firstAccuracy: number;
  secondAccuracy: number;
  delta: number;
  /** Paired bootstrap percentile interval of delta. */
  ci: { low: number; high: number };
  level: number;
  /** McNemar's exact two-sided p. */
  p: number;
  onlyFirst: number;
  onlySecond: number;
}

export function comparePaired(first: readonly ItemOutcome[], second: readonly ItemOutcome[], options: BootstrapOptions = {}): PairedComparison {
  const paired = pairByItem(first, second);
  let gained = 0;
  let lost = 0;
  let both = 0;
  paired.first.forEach((a, i) => {
    const b = paired.second[i]!;
    if (a && b) both++;
    else if (a) gained++;
    else if (b) lost++;
  });
  const n = paired.ids.length;
  const share = (k: number) => (n === 0 ? 0 : k / n);
  return {
    n,
    gained,
    lost,
    firstAccuracy: share(both + gained),
    secondAccuracy: share(both + lost),
    delta: share(gained - lost),
    ci: pairedBootstrap(paired.first, paired.second, options),
    level: options.level ?? BOOTSTRAP_DEFAULTS.level,
    p: mcnemarExact(gained, lost),
    onlyFirst: paired.onlyFirst,
    onlySecond: paired.onlySecond,
  };
}
