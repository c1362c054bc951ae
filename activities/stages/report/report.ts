import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../kit/files.js';
import { reportCompute } from './compute.js';
import { planFigures } from './figures.js';
import { renderMarkdown } from './markdown.js';
import { svgToPng } from './png.js';
import type { ReportInput } from './types.js';

export { renderMarkdown } from './markdown.js';
export type { ReportedVariant, ReportInput } from './types.js';

/** Twice the SVG's size: the PNG is what chat and most Markdown viewers show, and 1× text blurs on dense screens. */
export const PNG_SCALE = 2;

/**
 * Writes report.md, its figures (each chart as SVG and PNG) and compute.json into `dir`. Every file goes through a
 * temporary name and a rename, so a retried activity replaces the report whole and a reader never
 * sees half an image. Returns the Markdown and the figure file names, relative to `dir` as the
 * Markdown links them.
 */
export function writeReport(dir: string, input: ReportInput): { markdown: string; figures: string[] } {
  mkdirSync(dir, { recursive: true });
  const figures: string[] = [];
  for (const f of planFigures(input)) {
    writeFileAtomic(join(dir, `${f.name}.svg`), f.svg);
    writeFileAtomic(join(dir, `${f.name}.png`), svgToPng(f.svg, PNG_SCALE));
    figures.push(`${f.name}.svg`, `${f.name}.png`);
  }
  // The compute accounting's numbers, each missing one with its reason, for whoever computes further.
  writeFileAtomic(join(dir, 'compute.json'), JSON.stringify(reportCompute(input), null, 1));
  // Last, so report.md only ever links figures that are already in place.
  const markdown = renderMarkdown(input, figures);
  writeFileAtomic(join(dir, 'report.md'), markdown);
  return { markdown, figures };
}
