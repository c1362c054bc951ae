import { discriminationLine } from '../../dataset/measures.js';
import { budgetNote } from './budget.js';
import { captions, figureNames } from './figures.js';
import { COMPUTE_METHOD, computeFindings, computeTable } from './compute-lines.js';
import { domainCompute } from './compute.js';
import { duration, interval, MISSING, orMissing, pct, signedPoints, thousands } from './format.js';
import { lossCell, lossNote, lossSummary } from './loss.js';
import { contrast, contrastLine, formatP, PAIRED_METHOD } from './paired.js';
import { type CutContrast, type CutGroup, cutContrast, cutGroups, SEEDED_METHOD } from './seeds.js';
import type { GenerationCompute, ReportedVariant, ReportInput } from './types.js';
import { type DomainScores, domainScores, findVariant } from './variants.js';

/**
 * The run's evaluation report as Markdown. Pure: `figureNames` are the files writeReport put beside
 * it (e.g. "accuracy-math.png"), and only those are linked, so the text never points at a missing image.
 */
export function renderMarkdown(input: ReportInput, figureFiles: string[]): string {
  const files = new Set(figureFiles);
  return [
    `# NanoFlux evaluation report: run ${md(input.runId)}`,
    `Generated ${md(input.generatedAt)}.`,
    modelsTable(input.models),
    datasetSection(input.dataset),
    `Accuracy is the share of eval items answered correctly, with its 95% Wilson interval. ${PAIRED_METHOD}`,
    ...domainScores(input).flatMap((d) => domainSection(d, files, input.lossWindow, input.generation?.find((g) => g.domain === d.name))),
    skippedSection(input.skipped ?? []),
  ]
    .filter((s) => s !== '')
    .join('\n\n') + '\n';
}

/** Free text into Markdown: punctuation that would start emphasis, a link, a tag or a new cell is escaped, and a newline can't break the table. */
const md = (s: string): string => s.replace(/[\\`*_[\]<>|&]/g, '\\$&').replace(/\s*\n\s*/g, ' ');

const table = (head: string[], rows: string[][]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function modelsTable(m: ReportInput['models']): string {
  const rows: [string, string][] = [['Attacker', m.attacker], ['Defender', m.defender], ['Judge', m.judge], ['Student', m.student], ['Training backend', m.backend]];
  return table(['role', 'model'], rows.map(([role, model]) => [role, md(model)]));
}

function domainSection(d: DomainScores, files: Set<string>, lossWindow: number | undefined, generation: GenerationCompute | undefined): string[] {
  const about = d.declared
    ? `Benchmark ${md(d.declared.benchmark)}, ${thousands(d.declared.evalItems)} eval items; generated dataset of ${thousands(d.declared.datasetExamples)} examples.`
    : '';
  return [
    `## Domain: ${md(d.name)}`,
    about,
    d.comparisons.length === 0 ? 'No whole-dataset variant was scored.' : variantTable(d, lossWindow),
    d.comparisons.some((v) => lossSummary(v) !== null) ? lossNote(lossWindow) : '',
    d.benchmarks.flatMap((b) => findings(d, b, generation)).join('\n'),
    figure(figureNames.accuracy(d), captions.accuracy(d), files),
    ...computeSection(d, generation),
    ...d.ablations.flatMap((a, i) => [
      `### Ablation by ${a.axis}`,
      i === 0 && d.ablations.some((x) => x.scores.some((v) => v.cut?.replicate !== undefined)) ? SEEDED_METHOD : '',
      ablationTable(d, a.axis, a.scores),
      figure(figureNames.ablation(a.axis, d), captions.ablation(a.axis, d), files),
    ]),
    figure(figureNames.loss(d), captions.loss(d), files),
  ].filter((s) => s !== '');
}

/** The cells every score table shares: benchmark (when a domain has several), accuracy, interval, n, training size. */
const scoreCells = (v: ReportedVariant, many: boolean): string[] => [
  ...(many ? [md(v.benchmark)] : []),
  pct(v.accuracy),
  interval(v.ci95),
  thousands(v.n),
  orMissing(v.trainExamples, thousands),
  orMissing(v.train?.trainTokens, thousands),
];

function variantTable(d: DomainScores, lossWindow: number | undefined): string {
  const many = d.benchmarks.length > 1;
  const head = ['variant', ...(many ? ['benchmark'] : []), 'accuracy', '95% CI', 'n', 'train examples', 'train tokens', 'train time', 'train loss, mean of first → last N steps'];
  const rows = d.comparisons.map((v) => [
    md(v.variant),
    ...scoreCells(v, many),
    orMissing(v.train?.wallSeconds, duration),
    lossCell(v, lossWindow),
  ]);
  return table(head, rows);
}

/**
 * The sentences a reader comes for, each a paired comparison with the paper's sign (NanoFlux −
 * baseline): what tuning gained over base, how tuned stands against full-train and each user
 * baseline, what the full training set cost, and every other variant against base.
 */
function findings(d: DomainScores, benchmark: string, generation: GenerationCompute | undefined): string[] {
  const on = d.benchmarks.length > 1 ? ` on ${md(benchmark)}` : '';
  const here = d.comparisons.filter((c) => c.benchmark === benchmark);
  const base = findVariant(here, 'base', benchmark);
  const tuned = findVariant(here, 'tuned', benchmark);
  const baselines = here.filter((v) => v !== base && v !== tuned);
  const compute = domainCompute(d.name, benchmark, d.comparisons, generation);
  const lines = compute ? computeFindings(compute, on, md, (v) => budgetNote(findVariant(here, v, benchmark))) : [];
  const contrasts = [
    ...(tuned && base ? [contrast(tuned, base)] : []),
    ...(tuned ? baselines.map((v) => contrast(tuned, v)) : []),
    ...(base ? baselines.map((v) => contrast(v, base)) : []),
  ];
  return [...lines, ...contrasts.map((c) => `- ${contrastLine(c, on, md)}`)];
}

/** Every part of the compute of NanoFlux and each baseline, per benchmark; the ratios are in the findings above. */
function computeSection(d: DomainScores, generation: GenerationCompute | undefined): string[] {
  const tables = d.benchmarks.flatMap((b) => {
    const c = domainCompute(d.name, b, d.comparisons, generation);
    if (!c) return [];
    return [d.benchmarks.length > 1 ? `On ${md(b)}:\n\n${computeTable(c, md)}` : computeTable(c, md)];
  });
  return tables.length === 0 ? [] : ['### Compute', COMPUTE_METHOD, ...tables];
}

/** Each cut's mean and spread over its seeds, against base and against the cut before it on the axis (same benchmark), pooled per item. */
function ablationTable(d: DomainScores, axis: string, scores: ReportedVariant[]): string {
  const many = d.benchmarks.length > 1;
  const groups = cutGroups(scores);
  const head = [axis, ...(many ? ['benchmark'] : []), 'seeds', 'accuracy, mean', 'sd', 'min–max', 'n', 'train examples', 'train tokens', 'Δ vs base (95% CI)', 'p vs base', 'Δ vs previous cut (95% CI)', 'p vs previous cut'];
  const rows = groups.map((g, i) => {
    const base = findVariant(d.comparisons, 'base', g.benchmark);
    const previous = groups.slice(0, i).reverse().find((p) => p.benchmark === g.benchmark);
    const vsBase = base ? cutContrast(g, base) : undefined;
    const vsPrevious = previous ? cutContrast(g, previous) : undefined;
    const { spread } = g;
    return [
      md(g.value),
      ...(many ? [md(g.benchmark)] : []),
      seedsCell(g),
      pct(spread.mean),
      orMissing(spread.sd, (sd) => `${(sd * 100).toFixed(1)} pts`),
      spread.seeds < 2 ? MISSING : interval({ low: spread.min, high: spread.max }),
      thousands(g.runs[0]!.n),
      orMissing(g.trainExamples, (n) => (g.available !== null && g.available > n ? `${thousands(n)} of ${thousands(g.available)}` : thousands(n))),
      orMissing(g.trainTokens, thousands),
      cutDeltaCell(vsBase),
      cutPCell(vsBase),
      cutDeltaCell(vsPrevious),
      cutPCell(vsPrevious),
    ];
  });
  const superseded = groups.flatMap((g) => g.superseded);
  return [table(head, rows), superseded.length > 0 ? `Left out of the means: ${superseded.map(md).join(', ')} (scored before seeds and size matching; a different experiment).` : '']
    .filter((s) => s !== '')
    .join('\n\n');
}

/** "3 (0, 1, 2)": how many runs and with which trainer seeds, where recorded. */
const seedsCell = (g: CutGroup): string => (g.seeds.length === g.runs.length && g.seeds.length > 0 ? `${g.runs.length} (${g.seeds.join(', ')})` : String(g.runs.length));

const cutDeltaCell = (c: CutContrast | undefined): string => {
  if (!c) return MISSING;
  if (!c.pooled) return `${signedPoints(c.unpaired)} (unpaired)`;
  return `${signedPoints(c.pooled.delta)} (${signedPoints(c.pooled.ci.low)} to ${signedPoints(c.pooled.ci.high)})`;
};

const cutPCell = (c: CutContrast | undefined): string => (c?.pooled ? formatP(c.pooled.p) : MISSING);

/** The PNG where there is one (every viewer shows it), else the SVG; nothing when neither was written. */
function figure(name: string, caption: string, files: Set<string>): string {
  const alt = md(caption);
  if (files.has(`${name}.png`)) return `![${alt}](${name}.png)${files.has(`${name}.svg`) ? ` ([SVG](${name}.svg))` : ''}`;
  return files.has(`${name}.svg`) ? `![${alt}](${name}.svg)` : '';
}

/** The Judge's calibration and whether its scores tell the accepted examples apart (absent from inputs that predate them). */
function datasetSection(d: ReportInput['dataset']): string {
  if (!d) return '';
  const rows = d.levels.map((l) => [md(l.name), l.counts.map((c) => `${md(c.level)}: ${c.count}`).join(', '), md(discriminationLine(l))]);
  return ['## The Judge and the generated dataset', d.calibration.map((c) => `- ${md(c)}`).join('\n'), table(['score', 'accepted examples by level', 'discriminates?'], rows)].join('\n\n');
}

function skippedSection(skipped: NonNullable<ReportInput['skipped']>): string {
  if (skipped.length === 0) return '';
  return ['## Skipped variants', table(['domain', 'variant', 'reason'], skipped.map((s) => [md(s.domain), md(s.variant), md(s.reason)]))].join('\n\n');
}
