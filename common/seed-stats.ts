import { BOOTSTRAP_DEFAULTS, type BootstrapOptions, type ItemOutcome, mulberry32, outcomesById, percentileIndices } from './paired-stats.js';

/**
 * Statistics over seeded runs: an ablation cut trained with several seeds, each run scored on the
 * same eval items. Pure and deterministic, like common/paired-stats.ts, and reducing to it exactly
 * when each side has one run: a single-seed report reads as it always did.
 */

/** A cut's accuracy over its seeds: the mean, the sample sd (n − 1; null for one seed) and the range. */
export interface SeedSpread {
  seeds: number;
  mean: number;
  sd: number | null;
  min: number;
  max: number;
}

export function seedSpread(accuracies: readonly number[]): SeedSpread {
  if (accuracies.length === 0) throw new RangeError('seedSpread needs at least one run');
  const k = accuracies.length;
  const mean = accuracies.reduce((s, a) => s + a, 0) / k;
  const sd = k < 2 ? null : Math.sqrt(accuracies.reduce((s, a) => s + (a - mean) ** 2, 0) / (k - 1));
  return { seeds: k, mean, sd, min: Math.min(...accuracies), max: Math.max(...accuracies) };
}

/** Two groups of seeded runs compared on the items every run of both scored; Δ = first − second. */
export interface PooledComparison {
  n: number;
  firstSeeds: number;
  secondSeeds: number;
  /** Mean over the paired items of the share of each side's runs that answered right: the mean of the runs' accuracies there. */
  firstAccuracy: number;
  secondAccuracy: number;
  delta: number;
  /** Items the first side's runs got right more often, and less often (with one run each: McNemar's discordant pairs). */
  gained: number;
  lost: number;
  /** Percentile interval from a bootstrap over items (paired) that also redraws each side's runs. */
  ci: { low: number; high: number };
  level: number;
  /** Exact two-sided sign-flip test over items of the seed-averaged differences; McNemar's exact p with one run each. */
  p: number;
  /** Items some run of one side scored that are not paired (missing from a run of either side). */
  onlyFirst: number;
  onlySecond: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The ids every run scored, in the first run's order. */
function commonIds(runs: Map<string, boolean>[]): string[] {
  return [...runs[0]!.keys()].filter((id) => runs.every((r) => r.has(id)));
}

/**
 * P(|S| ≥ |observed|) where S = Σ ±w_i with independent fair signs: the permutation distribution of
 * the items' paired differences under "the two sides are exchangeable on every item". Weights are
 * small integers, so the distribution is built exactly by convolving one binomial per weight.
 */
export function signFlipP(weights: readonly number[], observed: number): number {
  const ws = weights.map(Math.abs).filter((w) => w !== 0);
  if (observed === 0 || ws.length === 0) return 1;
  const counts = new Map<number, number>();
  for (const w of ws) counts.set(w, (counts.get(w) ?? 0) + 1);
  // dist[s + offset] = P(S = s); grows as each weight's items are added.
  let dist = new Float64Array([1]);
  let offset = 0;
  for (const [w, c] of counts) {
    const next = new Float64Array(dist.length + 2 * w * c);
    const logHalf = c * Math.log(0.5);
    let logC = 0;
    for (let j = 0; j <= c; j++) {
      if (j > 0) logC += Math.log((c - j + 1) / j);
      const pj = Math.exp(logC + logHalf);
      if (pj === 0) continue;
      // j items of weight w drew +, c − j drew −: a shift of w(2j − c), from 0 to 2wc in the new array.
      const shift = w * 2 * j;
      for (let s = 0; s < dist.length; s++) if (dist[s] !== 0) next[s + shift]! += dist[s]! * pj;
    }
    offset += w * c;
    dist = next;
  }
  const bound = Math.abs(observed);
  let tail = 0;
  for (let i = 0; i < dist.length; i++) if (Math.abs(i - offset) >= bound) tail += dist[i]!;
  return Math.min(1, tail);
}

/**
 * Compares two groups of seeded runs (e.g. a cut's three seeds against the previous cut's three,
 * or against base's one run) item by item. The eval item is the pairing unit: seed k of one cut and
 * seed k of another share only a number (their training data differ, so do their batches and
 * adapters), so runs are pooled per item — the share of a side's runs that got the item right —
 * rather than paired by seed. The interval redraws items (pairs) and, per resample, each side's
 * runs with replacement, so it carries the seed-to-seed noise; p holds the trained runs fixed and
 * asks only whether the items' differences could be sign noise. With one run a side both reduce to
 * comparePaired's bootstrap (same seed, same draws) and McNemar's exact test.
 */
export function comparePooled(first: readonly (readonly ItemOutcome[])[], second: readonly (readonly ItemOutcome[])[], options: BootstrapOptions = {}): PooledComparison {
  if (first.length === 0 || second.length === 0) throw new RangeError('comparePooled needs at least one run a side');
  const { resamples, seed, level } = { ...BOOTSTRAP_DEFAULTS, ...options };
  const a = first.map(outcomesById);
  const b = second.map(outcomesById);
  const shared = new Set(commonIds(b));
  const ids = commonIds(a).filter((id) => shared.has(id));
  const paired = new Set(ids);
  const unpaired = (runs: Map<string, boolean>[]) => new Set(runs.flatMap((r) => [...r.keys()]).filter((id) => !paired.has(id))).size;
  const ka = a.length;
  const kb = b.length;
  // Differences in units of 1/lcm(ka, kb): integers, so the sign-flip distribution is exact.
  const unit = (ka * kb) / gcd(ka, kb);
  const right = (runs: Map<string, boolean>[], id: string) => runs.reduce((s, r) => s + Number(r.get(id)), 0);
  const z = ids.map((id) => right(a, id) * (unit / ka) - right(b, id) * (unit / kb));
  const n = ids.length;
  const total = z.reduce((s, x) => s + x, 0);
  const share = (runs: Map<string, boolean>[], k: number) => (n === 0 ? 0 : ids.reduce((s, id) => s + right(runs, id), 0) / (k * n));
  return {
    n,
    firstSeeds: ka,
    secondSeeds: kb,
    firstAccuracy: share(a, ka),
    secondAccuracy: share(b, kb),
    delta: n === 0 ? 0 : total / unit / n,
    gained: z.filter((x) => x > 0).length,
    lost: z.filter((x) => x < 0).length,
    ci: pooledBootstrap(ids, a, b, { resamples, seed, level }),
    level,
    p: signFlipP(z, total),
    onlyFirst: unpaired(a),
    onlySecond: unpaired(b),
  };
}

/**
 * The two-level bootstrap: per resample, each side's runs redrawn with replacement (a side with one
 * run draws nothing, which keeps the item draws in step with pairedBootstrap), then n items.
 * Items are grouped by their pattern of right and wrong over the runs, so a resample costs one
 * pass over the patterns and n draws.
 */
function pooledBootstrap(ids: string[], a: Map<string, boolean>[], b: Map<string, boolean>[], o: Required<BootstrapOptions>): { low: number; high: number } {
  const n = ids.length;
  if (n === 0) return { low: 0, high: 0 };
  const mask = (runs: Map<string, boolean>[], id: string) => runs.reduce((m, r, i) => (r.get(id) ? m | (1 << i) : m), 0);
  const patterns = new Map<string, { ma: number; mb: number; index: number }>();
  const itemPattern = new Int32Array(n);
  ids.forEach((id, i) => {
    const ma = mask(a, id);
    const mb = mask(b, id);
    const key = `${ma}:${mb}`;
    if (!patterns.has(key)) patterns.set(key, { ma, mb, index: patterns.size });
    itemPattern[i] = patterns.get(key)!.index;
  });
  const list = [...patterns.values()];
  const random = mulberry32(o.seed);
  const draw = (k: number): number[] => {
    const w = new Array<number>(k).fill(0);
    if (k === 1) w[0] = 1;
    else for (let i = 0; i < k; i++) w[Math.floor(random() * k)]!++;
    return w;
  };
  const value = (m: number, w: number[]) => w.reduce((s, c, i) => (m & (1 << i) ? s + c : s), 0) / w.length;
  const diffs = new Float64Array(list.length);
  const means = new Float64Array(o.resamples);
  for (let r = 0; r < o.resamples; r++) {
    const wa = draw(a.length);
    const wb = draw(b.length);
    list.forEach((p, i) => (diffs[i] = value(p.ma, wa) - value(p.mb, wb)));
    let s = 0;
    for (let j = 0; j < n; j++) s += diffs[itemPattern[Math.floor(random() * n)]!]!;
    means[r] = s / n;
  }
  means.sort();
  const { lo, hi } = percentileIndices(o.resamples, o.level);
  return { low: means[lo]!, high: means[hi]! };
}
