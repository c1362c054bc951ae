import { type AblationPoint, ablationChart, accuracyBarChart, lossChart, type ReferenceLine } from './svg-charts.js';
import { type CutGroup, cutGroups } from './seeds.js';
import type { AblationAxis } from '../../../common/contracts/index.js';
import type { ReportedVariant, ReportInput } from './types.js';
import { type DomainScores, domainScores, findVariant, variantLabel } from './variants.js';

/** One chart of the report. Its SVG and PNG share `name`, which the Markdown links to. */
export interface Figure {
  name: string;
  /** Alt text and, in the Markdown, what the figure is of. */
  caption: string;
  svg: string;
}

export const AXIS_TITLES: Record<AblationAxis, string> = { complexity: 'complexity', quality: 'quality level', size: 'training examples', annotation: 'annotation in the training text' };

export const figureNames = {
  accuracy: (d: DomainScores) => `accuracy-${d.slug}`,
  ablation: (axis: AblationAxis, d: DomainScores) => `ablation-${axis}-${d.slug}`,
  loss: (d: DomainScores) => `loss-${d.slug}`,
};

export const captions = {
  accuracy: (d: DomainScores) => `Accuracy by variant, ${d.name}`,
  ablation: (axis: AblationAxis, d: DomainScores) => `Accuracy by ${axis} cut, ${d.name}`,
  loss: (d: DomainScores) => `Training loss, ${d.name}`,
};

/** Every chart the report has, in the order the Markdown shows them; pure, so tests can check the SVG without files. */
export function planFigures(input: ReportInput): Figure[] {
  return domainScores(input).flatMap((d) => [accuracyFigure(d), ...d.ablations.map((a) => ablationFigure(d, a.axis, a.scores)), ...lossFigures(d)]);
}

function accuracyFigure(d: DomainScores): Figure {
  const caption = captions.accuracy(d);
  const bars = d.comparisons.map((v) => ({ label: variantLabel(v, d.benchmarks), accuracy: v.accuracy, ci95: v.ci95 }));
  return { name: figureNames.accuracy(d), caption, svg: accuracyBarChart(`${caption} (${d.benchmarks.join(', ')})`, bars) };
}

function ablationFigure(d: DomainScores, axis: AblationAxis, scores: ReportedVariant[]): Figure {
  const caption = captions.ablation(axis, d);
  const groups = cutGroups(scores);
  const categories = [...new Set(groups.map((g) => g.value))];
  const benchmarks = d.benchmarks.filter((b) => groups.some((g) => g.benchmark === b));
  const suffix = (b: string) => (benchmarks.length > 1 ? ` · ${b}` : '');
  const series = benchmarks.map((b) => ({
    label: `trained on the cut${suffix(b)}`,
    points: categories.map((c) => {
      const g = groups.find((x) => x.benchmark === b && x.value === c);
      return g ? cutPoint(g) : undefined;
    }),
  }));
  // The whole-model scores a cut is measured against: does a slice of the data beat no tuning, and how near does it get to all of it?
  const references = benchmarks.flatMap((b) =>
    ['base', 'full-train'].flatMap((name): ReferenceLine[] => {
      const v = findVariant(d.comparisons, name, b);
      return v ? [{ label: `${name}${suffix(b)}`, accuracy: v.accuracy }] : [];
    }),
  );
  return { name: figureNames.ablation(axis, d), caption, svg: ablationChart({ title: caption, axis: AXIS_TITLES[axis], categories, series, references }) };
}

/** One run: its accuracy and Wilson interval; several seeds: the mean, min–max as the band, each run's accuracy. */
const cutPoint = (g: CutGroup): AblationPoint =>
  g.runs.length === 1
    ? { accuracy: g.runs[0]!.accuracy, ci95: g.runs[0]!.ci95 }
    : { accuracy: g.spread.mean, band: { low: g.spread.min, high: g.spread.max }, runs: g.runs.map((r) => r.accuracy) };

function lossFigures(d: DomainScores): Figure[] {
  // A variant scored on two benchmarks was trained once: its curve is drawn once.
  const curves = new Map<string, { step: number; loss: number }[]>();
  // Of a seeded cut only the first seed's curve: the others differ in batch order alone, and a
  // legend of every seed of every cut would hide the curves it labels.
  for (const v of [...d.comparisons, ...d.ablations.flatMap((a) => a.scores.filter((s) => (s.cut?.replicate ?? 1) === 1))]) {
    if (v.lossPoints && v.lossPoints.length > 0 && !curves.has(v.variant)) curves.set(v.variant, v.lossPoints);
  }
  if (curves.size === 0) return [];
  const caption = captions.loss(d);
  return [{ name: figureNames.loss(d), caption, svg: lossChart(caption, [...curves].map(([label, points]) => ({ label, points }))) }];
}
