import { BOOTSTRAP_DEFAULTS, comparePaired, type PairedComparison } from '../../../common/paired-stats.js';
import { MISSING, pct, signedPoints, thousands } from './format.js';
import type { ReportedVariant } from './types.js';

/**
 * Two variants scored on the same items, compared item by item with the paper's sign: `first` is
 * the NanoFlux side (tuned, a cut) and `second` the baseline, so Δ = first − second and a NanoFlux
 * gain reads positive. Every comparison uses the same bootstrap seed: the report is the same bytes
 * for the same results.
 */
export interface Contrast {
  first: ReportedVariant;
  second: ReportedVariant;
  /** null when either side has no per-item outcomes (a result written before scores.json was kept). */
  paired: PairedComparison | null;
}

export function contrast(first: ReportedVariant, second: ReportedVariant): Contrast {
  const paired = first.items && second.items ? comparePaired(first.items, second.items, { seed: BOOTSTRAP_DEFAULTS.seed }) : null;
  return { first, second, paired };
}

/** Below this many discordant items a percentile bootstrap of a paired difference under-covers badly (one resample in 50 may draw none). */
export const FEW_DISCORDANT = 10;

/** What the report's opening says every comparison is. */
export const PAIRED_METHOD =
  `Variants scored on the same eval items are compared item by item. Δ is NanoFlux − baseline in percentage points ` +
  `(tuned − base, tuned − full-train, tuned − each user baseline; every other variant and each ablation cut − base; a cut − the cut before it), ` +
  `with a 95% paired bootstrap interval (${thousands(BOOTSTRAP_DEFAULTS.resamples)} resamples of the items, seed ${BOOTSTRAP_DEFAULTS.seed}) ` +
  `and McNemar's exact two-sided p (a binomial test on the discordant items, those exactly one of the two answered correctly). ` +
  `With fewer than ${FEW_DISCORDANT} discordant items the bootstrap interval is too narrow (it can leave out 0 where p is large): go by p there. ` +
  `Items scored for only one of the two are left out and counted. The Wilson intervals describe each accuracy alone; whether they overlap decides nothing.`;

/** p to three decimals, and "< 0.001" below that (more digits would claim a precision the eval set does not have). */
export const formatP = (p: number): string => (p < 0.001 ? '< 0.001' : p.toFixed(3));
const pIs = (p: number): string => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

const ciPoints = (ci: { low: number; high: number }): string => `${signedPoints(ci.low)} to ${signedPoints(ci.high)}`;

const excluded = (c: PairedComparison): string => {
  const { onlyFirst, onlySecond } = c;
  return onlyFirst + onlySecond === 0 ? '' : `; ${onlyFirst + onlySecond} item(s) scored for only one of the two left out (${onlyFirst} only first, ${onlySecond} only second)`;
};

/** One finding: "tuned − base: +10.0 points (…); 95% CI …; McNemar exact p = …". */
export function contrastLine(c: Contrast, on: string, md: (s: string) => string): string {
  const a = md(c.first.variant);
  const b = md(c.second.variant);
  const head = `${a} − ${b}${on}`;
  const p = c.paired;
  if (!p) {
    const lacking = [c.first, c.second].filter((v) => !v.items).map((v) => md(v.variant)).join(' and ');
    return `${head}: ${signedPoints(c.first.accuracy - c.second.accuracy)} points (${a} ${pct(c.first.accuracy)}, ${b} ${pct(c.second.accuracy)}); no paired test: no per-item outcomes for ${lacking}.`;
  }
  const few = p.gained + p.lost < FEW_DISCORDANT ? ` Only ${p.gained + p.lost} discordant items: the interval is too narrow, go by p.` : '';
  return (
    `${head}: ${signedPoints(p.delta)} points (${a} ${pct(p.firstAccuracy)}, ${b} ${pct(p.secondAccuracy)} on ${p.n} paired items${excluded(p)}); ` +
    `95% CI ${ciPoints(p.ci)} points (paired bootstrap); McNemar exact ${pIs(p.p)} (${p.gained} items right only for ${a}, ${p.lost} only for ${b}).${few}`
  );
}

/** A table cell: "+2.0 (-3.0 to +7.0)" in points; unpaired, the plain difference marked as such. */
export function deltaCell(c: Contrast | undefined): string {
  if (!c) return MISSING;
  if (!c.paired) return `${signedPoints(c.first.accuracy - c.second.accuracy)} (unpaired)`;
  return `${signedPoints(c.paired.delta)} (${ciPoints(c.paired.ci)})`;
}

export const pCell = (c: Contrast | undefined): string => (c?.paired ? formatP(c.paired.p) : MISSING);
