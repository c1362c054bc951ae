import { compareCuts } from './format.js';
import { ABLATION_AXES, type AblationAxis } from '../../../common/contracts/index.js';
import type { ReportedVariant, ReportInput } from './types.js';

export const AXES: readonly AblationAxis[] = ABLATION_AXES;

/** The comparisons the report is about come first, in the order a reader asks about them. */
const LEADING = ['base', 'tuned', 'full-train'];

/** One domain's scores, sorted the way its tables and charts show them. */
export interface DomainScores {
  name: string;
  /** Safe in a file name and unique among the run's domains. */
  slug: string;
  declared: ReportInput['domains'][number] | undefined;
  /** The declared benchmark first, then any other a variant was scored on. */
  benchmarks: string[];
  /** Whole-dataset variants: base, tuned, full-train, then user baselines in input order. */
  comparisons: ReportedVariant[];
  /** Only the axes the run cut along, each with its cuts in rank order (L1 before L5, 50 before 200). */
  ablations: { axis: AblationAxis; scores: ReportedVariant[] }[];
}

export function domainScores(input: ReportInput): DomainScores[] {
  const names = unique([...input.domains.map((d) => d.name), ...input.variants.map((v) => v.domain)]);
  const slugs = uniqueSlugs(names);
  return names.map((name, i) => {
    const declared = input.domains.find((d) => d.name === name);
    const scores = input.variants.filter((v) => v.domain === name);
    const benchmarks = unique([...(declared ? [declared.benchmark] : []), ...scores.map((v) => v.benchmark)]);
    const byBenchmark = (a: ReportedVariant, b: ReportedVariant) => benchmarks.indexOf(a.benchmark) - benchmarks.indexOf(b.benchmark);
    const comparisons = scores.filter((v) => v.cut === undefined).sort((a, b) => byBenchmark(a, b) || rank(a.variant) - rank(b.variant));
    const ablations = AXES.map((axis) => ({
      axis,
      scores: scores.filter((v) => v.cut?.axis === axis).sort((a, b) => compareCuts(a.cut!.value, b.cut!.value) || byBenchmark(a, b)),
    })).filter((a) => a.scores.length > 0);
    return { name, slug: slugs[i]!, declared, benchmarks, comparisons, ablations };
  });
}

export const findVariant = (scores: ReportedVariant[], variant: string, benchmark: string): ReportedVariant | undefined =>
  scores.find((v) => v.variant === variant && v.benchmark === benchmark);

/** Variant name as a chart shows it: the benchmark is added only when the domain was scored on more than one. */
export const variantLabel = (v: ReportedVariant, benchmarks: string[]): string => (benchmarks.length > 1 ? `${v.variant} · ${v.benchmark}` : v.variant);

const rank = (variant: string): number => {
  const i = LEADING.indexOf(variant);
  return i === -1 ? LEADING.length : i;
};

const unique = (xs: string[]): string[] => [...new Set(xs)];

/** Domain names are free text; file names built from them must not hold separators, and two domains must not share one. */
function uniqueSlugs(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    const base = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'domain';
    let slug = base;
    for (let n = 2; used.has(slug); n++) slug = `${base}-${n}`;
    used.add(slug);
    return slug;
  });
}
