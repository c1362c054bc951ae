import { BOOTSTRAP_DEFAULTS } from '../../../common/paired-stats.js';
import { comparePooled, type PooledComparison, seedSpread, type SeedSpread } from '../../../common/seed-stats.js';
import type { AblationAxis } from '../../../common/contracts/index.js';
import type { ReportedVariant } from './types.js';

/**
 * An ablation cut as the report shows it: the seeded runs of one (axis, value, benchmark), their
 * mean and spread, and what it was trained on. A cut scored before seeds existed is a group of one.
 */
export interface CutGroup {
  axis: AblationAxis;
  value: string;
  benchmark: string;
  /** In replicate order. */
  runs: ReportedVariant[];
  spread: SeedSpread;
  /** The trainer seeds of the runs, where recorded. */
  seeds: number[];
  /** Training examples of each run (the same file for every seed), and the level's examples before size matching. */
  trainExamples: number | null;
  available: number | null;
  /** Mean over the runs; null when a run's backend could not count them. */
  trainTokens: number | null;
  /** Unseeded results of a cut that also has seeded ones (an ablation from before seeds): left out of the mean. */
  superseded: string[];
}

/**
 * The cuts of one axis, grouped, in the order the scores come (variants.ts sorts them by rank).
 * Where a cut has seeded runs, an older unseeded result of the same name stem is left out: it was
 * trained on a cut that was not size-matched, and pooling it would mix two experiments.
 */
export function cutGroups(scores: ReportedVariant[]): CutGroup[] {
  const groups = new Map<string, ReportedVariant[]>();
  for (const v of scores) {
    const key = `${v.cut!.axis}\u0000${v.cut!.value}\u0000${v.benchmark}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  return [...groups.values()].map((all) => {
    const seeded = all.filter((v) => v.cut!.replicate !== undefined).sort((x, y) => x.cut!.replicate! - y.cut!.replicate!);
    const runs = seeded.length > 0 ? seeded : all;
    const tokens = runs.map((r) => r.train?.trainTokens);
    return {
      axis: runs[0]!.cut!.axis,
      value: runs[0]!.cut!.value,
      benchmark: runs[0]!.benchmark,
      runs,
      spread: seedSpread(runs.map((r) => r.accuracy)),
      seeds: runs.flatMap((r) => (r.cut!.seed === undefined ? [] : [r.cut!.seed])),
      trainExamples: runs[0]!.trainExamples,
      available: runs[0]!.cut!.available ?? null,
      trainTokens: tokens.every((t): t is number => typeof t === 'number') ? tokens.reduce((s, t) => s + t, 0) / tokens.length : null,
      superseded: seeded.length > 0 ? all.filter((v) => v.cut!.replicate === undefined).map((v) => v.variant) : [],
    };
  });
}

/** One side of a cut comparison: a cut's runs, or base's single run. */
export type Side = CutGroup | ReportedVariant;
const runsOf = (s: Side): ReportedVariant[] => ('runs' in s ? s.runs : [s]);
const meanOf = (s: Side): number => ('runs' in s ? s.spread.mean : s.accuracy);

export interface CutContrast {
  /** Mean accuracy difference first − second when either side lacks per-item outcomes. */
  unpaired: number;
  pooled: PooledComparison | null;
}

/** A cut against base or against another cut, pooled over seeds per item (common/seed-stats.ts says why). */
export function cutContrast(first: Side, second: Side): CutContrast {
  const a = runsOf(first);
  const b = runsOf(second);
  const unpaired = meanOf(first) - meanOf(second);
  if (![...a, ...b].every((r) => r.items)) return { unpaired, pooled: null };
  return { unpaired, pooled: comparePooled(a.map((r) => r.items!), b.map((r) => r.items!), { seed: BOOTSTRAP_DEFAULTS.seed }) };
}

/** What the report says once, under the first ablation table, about how its numbers were made. */
export const SEEDED_METHOD =
  'Each cut was fine-tuned once per seed (the variants -s1, -s2, …, seeded finetune.seed, +1, …) on one training file: ' +
  'the seeds differ in LoRA initialisation and batch order only, so the spread over seeds (sample sd, min–max) is training noise, not a different sample of the data. ' +
  'Complexity and quality cuts are size-matched unless the config says otherwise: each level subsampled to the same number of examples ' +
  '(a fixed hash order of the example ids, the same for every seed; "12 of 30" is 12 used of the 30 at that level). ' +
  "Δ pools a cut's seeds item by item (per item, the share of its seeds that answered right; paired by item, not by seed number, " +
  'since seed k of two cuts shares nothing but the number); its 95% interval comes from a bootstrap over the items that also redraws each side\'s seeds, ' +
  'so it carries the seed noise; p is an exact sign-flip test over the items of the seed-averaged differences (McNemar\'s exact test when both sides have one run), ' +
  'which holds the trained runs fixed: it asks whether these runs differ on the items, the interval and the spread whether the cut would with other seeds.';
