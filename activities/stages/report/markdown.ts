import { discriminationLine } from '../../dataset/measures.js';
import { captions, figureNames } from './figures.js';
import { duration, interval, MISSING, orMissing, pct, ratio, signedPoints, thousands } from './format.js';
import type { ReportedVariant, ReportInput } from './types.js';
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
    'Accuracy is the share of eval items answered correctly, with its 95% Wilson interval. Differences are in percentage points. ' +
      'Where two intervals overlap, the eval set is too small to call the difference real.',
    ...domainScores(input).flatMap((d) => domainSection(d, files)),
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

function domainSection(d: DomainScores, files: Set<string>): string[] {
  const about = d.declared
    ? `Benchmark ${md(d.declared.benchmark)}, ${thousands(d.declared.evalItems)} eval items; generated dataset of ${thousands(d.declared.datasetExamples)} examples.`
    : '';
  return [
    `## Domain: ${md(d.name)}`,
    about,
    d.comparisons.length === 0 ? 'No whole-dataset variant was scored.' : variantTable(d),
    d.benchmarks.flatMap((b) => findings(d, b)).join('\n'),
    figure(figureNames.accuracy(d), captions.accuracy(d), files),
    ...d.ablations.flatMap((a) => [
      `### Ablation by ${a.axis}`,
      ablationTable(d, a.axis, a.scores),
      figure(figureNames.ablation(a.axis, d), captions.ablation(a.axis, d), files),
    ]),
    figure(figureNames.loss(d), captions.loss(d), files),
  ].filter((s) => s !== '');
}

const lossCell = ({ train: t }: ReportedVariant): string => (t?.firstLoss == null && t?.lastLoss == null ? MISSING : `${orMissing(t?.firstLoss, loss)} → ${orMissing(t?.lastLoss, loss)}`);
const loss = (x: number): string => x.toFixed(3);

/** The cells every score table shares: benchmark (when a domain has several), accuracy, interval, n, training size. */
const scoreCells = (v: ReportedVariant, many: boolean): string[] => [
  ...(many ? [md(v.benchmark)] : []),
  pct(v.accuracy),
  interval(v.ci95),
  thousands(v.n),
  orMissing(v.trainExamples, thousands),
  orMissing(v.train?.trainTokens, thousands),
];

function variantTable(d: DomainScores): string {
  const many = d.benchmarks.length > 1;
  const head = ['variant', ...(many ? ['benchmark'] : []), 'accuracy', '95% CI', 'n', 'train examples', 'train tokens', 'train time', 'loss first → last'];
  const rows = d.comparisons.map((v) => [
    md(v.variant),
    ...scoreCells(v, many),
    orMissing(v.train?.wallSeconds, duration),
    lossCell(v),
  ]);
  return table(head, rows);
}

/** The sentences a reader comes for: what tuning gained over base, and what the full training set cost for what it added. */
function findings(d: DomainScores, benchmark: string): string[] {
  const on = d.benchmarks.length > 1 ? ` on ${md(benchmark)}` : '';
  const base = findVariant(d.comparisons, 'base', benchmark);
  const tuned = findVariant(d.comparisons, 'tuned', benchmark);
  const full = findVariant(d.comparisons, 'full-train', benchmark);
  const lines: string[] = [];
  if (tuned && full) {
    const tokens = ratio(full.train?.trainTokens, tuned.train?.trainTokens);
    const time = ratio(full.train?.wallSeconds, tuned.train?.wallSeconds);
    const wall = time === 'n/a' ? 'wall time ratio n/a' : `and ${time} the wall time`;
    const used =
      tokens === 'n/a'
        ? `full-train's training tokens relative to tuned: n/a, token counts unknown (${wall})`
        : `full-train used ${tokens} the training tokens of tuned (${wall})`;
    lines.push(`- Compute${on}: ${used}; accuracy Δ = ${signedPoints(full.accuracy - tuned.accuracy)} points.`);
  }
  if (base) {
    for (const v of d.comparisons.filter((c) => c.benchmark === benchmark && c !== base)) {
      const overlap = v.ci95.low <= base.ci95.high && base.ci95.low <= v.ci95.high;
      lines.push(
        `- Gain over base${on}: ${md(v.variant)} ${signedPoints(v.accuracy - base.accuracy)} points (${pct(base.accuracy)} → ${pct(v.accuracy)}; 95% intervals ${overlap ? 'overlap' : 'do not overlap'}).`,
      );
    }
  }
  return lines;
}

function ablationTable(d: DomainScores, axis: string, scores: ReportedVariant[]): string {
  const many = d.benchmarks.length > 1;
  const head = [axis, ...(many ? ['benchmark'] : []), 'accuracy', '95% CI', 'n', 'train examples', 'train tokens', 'Δ vs base'];
  const rows = scores.map((v) => {
    const base = findVariant(d.comparisons, 'base', v.benchmark);
    return [
      md(v.cut!.value),
      ...scoreCells(v, many),
      base ? `${signedPoints(v.accuracy - base.accuracy)} points` : MISSING,
    ];
  });
  return table(head, rows);
}

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
