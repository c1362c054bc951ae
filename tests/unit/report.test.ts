import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wilson } from '../../activities/stages/eval/score.js';
import { planFigures } from '../../activities/stages/report/figures.js';
import { compareCuts, signedPoints, thousands } from '../../activities/stages/report/format.js';
import { times } from '../../activities/stages/report/compute-lines.js';
import { chartFontFiles, svgToPng } from '../../activities/stages/report/png.js';
import { PNG_SCALE, renderMarkdown, writeReport } from '../../activities/stages/report/report.js';
import { ablationChart, accuracyBarChart, lossChart } from '../../activities/stages/report/svg-charts.js';
import { CHART_FONT_FAMILY } from '../../activities/stages/report/svg.js';
import { calibrationSummary, levelDistributions } from '../../activities/dataset/measures.js';
import { reportCalibration, reportExamples } from '../support/report-episodes.js';
import { cut, runInput, score } from '../support/report-variants.js';

// The paired comparisons and the loss summary are tested in tests/unit/report-paired.test.ts.

// --- helpers that read SVG and PNG without a library --------------------------------------------

/** Every opening tag closed in order, nothing closed that wasn't open: enough to catch a broken template or an unescaped '<'. */
function expectBalanced(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)\b[^<>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop(), `closing </${tag}>`).toBe(tag);
    else stack.push(tag!);
  }
  expect(stack).toEqual([]);
  // Outside the tags, no stray markup characters: each '<' in text would have to be escaped.
  expect(svg.replace(/<[^<>]*>/g, '')).not.toMatch(/[<>]/);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
}

const barHeights = (svg: string): Map<string, number> =>
  new Map([...svg.matchAll(/<rect class="bar" data-label="([^"]*)"[^>]*? height="([\d.]+)"/g)].map((m) => [m[1]!, Number(m[2])]));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, which the PNG format requires to come first. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const declaredSize = (svg: string) => ({ width: Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]), height: Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]) });

// --- charts -------------------------------------------------------------------------------------

describe('accuracyBarChart', () => {
  const bars = [
    { label: 'full', accuracy: 1, ci95: wilson(50, 50) },
    { label: 'half', accuracy: 0.5, ci95: wilson(25, 50) },
    { label: 'none', accuracy: 0, ci95: wilson(0, 50) },
  ];

  it('draws bars in proportion to accuracy, with labels and values', () => {
    const svg = accuracyBarChart('Accuracy by variant', bars);
    expectBalanced(svg);
    const h = barHeights(svg);
    expect(h.get('full')).toBeGreaterThan(100);
    expect(h.get('half')! / h.get('full')!).toBeCloseTo(0.5, 2);
    expect(h.get('none')).toBe(0);
    for (const s of ['Accuracy by variant', '>full<', '>half<', '100.0%', '50.0%', '0.0%', '100%', 'accuracy (95% CI)']) expect(svg).toContain(s);
    expect(svg).toContain(`font-family="${CHART_FONT_FAMILY}"`);
    expect(svg.match(/class="whisker"/g)).toHaveLength(3);
  });

  it('escapes markup in names and titles', () => {
    const svg = accuracyBarChart('a <b> & "c"', [{ label: 'x<y & z>', accuracy: 0.3, ci95: wilson(3, 10) }]);
    expectBalanced(svg);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('x&lt;y &amp; z&gt;');
    expect(svg).not.toContain('x<y');
  });

  it('says "no data" when there is nothing to draw', () => {
    const svg = accuracyBarChart('empty', []);
    expectBalanced(svg);
    expect(svg).toContain('no data');
    expect(svg).not.toContain('class="bar"');
  });

  it('cuts and turns long variant names instead of letting them overlap', () => {
    const long = 'a-user-baseline-with-a-name-far-too-long-for-its-slot';
    const svg = accuracyBarChart('t', [...bars, { label: long, accuracy: 0.4, ci95: wilson(4, 10) }]);
    expectBalanced(svg);
    expect(svg).toMatch(/transform="rotate\(-35 /);
    expect(svg).not.toContain(`>${long}<`);
    expect(svg).toMatch(/>a-user-baseline[^<]*…</);
  });

  it('keeps NaN and out-of-range scores inside the plot', () => {
    const svg = accuracyBarChart('t', [
      { label: 'nan', accuracy: Number.NaN, ci95: { low: Number.NaN, high: Number.NaN } },
      { label: 'over', accuracy: 1.5, ci95: { low: 0.9, high: 2 } },
    ]);
    expectBalanced(svg);
    const inRange = accuracyBarChart('t', [
      { label: 'nan', accuracy: 0, ci95: { low: 0, high: 0 } },
      { label: 'over', accuracy: 1, ci95: { low: 0.9, high: 1 } },
    ]);
    expect(barHeights(svg).get('over')).toBe(barHeights(inRange).get('over'));
    expect(barHeights(svg).get('nan')).toBe(0);
  });
});

describe('ablationChart', () => {
  const point = (k: number) => ({ accuracy: k / 100, ci95: wilson(k, 100) });

  it('spaces cuts evenly in the order given and draws dashed reference lines with a legend', () => {
    const svg = ablationChart({
      title: 'By size',
      axis: 'training examples',
      categories: ['50', '100', '200'],
      series: [{ label: 'trained on the cut', points: [point(40), point(50), point(60)] }],
      references: [{ label: 'base', accuracy: 0.3 }, { label: 'full-train', accuracy: 0.7 }],
    });
    expectBalanced(svg);
    const xs = [...svg.matchAll(/<circle class="point" cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toHaveLength(3);
    // Categorical: 50→100 gets the same width as 100→200.
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 1);
    expect(svg.indexOf('>50<')).toBeLessThan(svg.indexOf('>100<'));
    const refs = [...svg.matchAll(/<line [^>]*y1="([\d.]+)"[^>]*stroke-dasharray="[^"]+" class="reference"/g)].map((m) => Number(m[1]));
    expect(refs).toHaveLength(2);
    // Base (30%) sits lower on the page, i.e. at a larger y, than full-train (70%).
    expect(refs[0]!).toBeGreaterThan(refs[1]!);
    for (const s of ['base (30.0%)', 'full-train (70.0%)', 'trained on the cut', 'training examples']) expect(svg).toContain(s);
  });

  it('draws a single point, and says "no data" for no points', () => {
    const one = ablationChart({ title: 't', axis: 'complexity', categories: ['3'], series: [{ label: 's', points: [point(100)] }], references: [] });
    expectBalanced(one);
    expect(one.match(/class="point"/g)).toHaveLength(1);
    expect(one).not.toContain('<polyline');
    const none = ablationChart({ title: 't', axis: 'complexity', categories: ['3'], series: [{ label: 's', points: [undefined] }], references: [] });
    expect(none).toContain('no data');
  });
});

describe('lossChart', () => {
  it('draws one curve per variant, with a legend', () => {
    const svg = lossChart('Loss <math>', [
      { label: 'tuned', points: [{ step: 0, loss: 2 }, { step: 10, loss: 1 }, { step: 20, loss: 0.5 }] },
      { label: 'full-train', points: [{ step: 0, loss: 2.2 }, { step: 50, loss: 0.4 }] },
    ]);
    expectBalanced(svg);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>tuned<');
    expect(svg).toContain('>full-train<');
    expect(svg).toContain('Loss &lt;math&gt;');
  });

  it('handles a single point, a flat loss, and no finite points', () => {
    const single = lossChart('t', [{ label: 'one', points: [{ step: 5, loss: 1 }] }]);
    expectBalanced(single);
    expect(single).toContain('<circle');
    expectBalanced(lossChart('t', [{ label: 'flat', points: [{ step: 0, loss: 0 }, { step: 9, loss: 0 }] }]));
    expect(lossChart('t', [{ label: 'bad', points: [{ step: 0, loss: Number.NaN }] }])).toContain('no data');
  });
});

// --- PNG ----------------------------------------------------------------------------------------

describe('svgToPng', () => {
  const chart = (title: string) => accuracyBarChart(title, [{ label: 'tuned', accuracy: 0.5, ci95: wilson(5, 10) }]);

  it('writes a PNG of the SVG declared size, scaled on request', () => {
    const svg = chart('Title');
    const declared = declaredSize(svg);
    expect(pngSize(svgToPng(svg))).toEqual(declared);
    expect(pngSize(svgToPng(svg, 2))).toEqual({ width: declared.width * 2, height: declared.height * 2 });
  });

  it('renders text with the embedded font and no system fonts', () => {
    // Control first: with no fonts at all, resvg drops text silently, so titled and untitled charts come out the same.
    const fontless = (svg: string) => new Resvg(svg, { font: { fontFiles: [], loadSystemFonts: false } }).render().asPng();
    expect(fontless(chart('A title that must show')).equals(fontless(chart('')))).toBe(true);
    // With the packaged font (loadSystemFonts: false in svgToPng), the title's pixels appear.
    expect(svgToPng(chart('A title that must show')).equals(svgToPng(chart('')))).toBe(false);
    expect(chartFontFiles().every((f) => f.endsWith('.ttf') && existsSync(f))).toBe(true);
  });
});

// --- Markdown -----------------------------------------------------------------------------------

describe('renderMarkdown', () => {
  const md = renderMarkdown(runInput(), ['accuracy-math.png', 'accuracy-math.svg', 'ablation-size-math.png']);

  it('links only the figures it is given, relatively', () => {
    expect(md).toContain('![Accuracy by variant, math](accuracy-math.png) ([SVG](accuracy-math.svg))');
    expect(md).toContain('](ablation-size-math.png)');
    expect(md).not.toContain('ablation-quality-math.png');
    expect(md).not.toContain('loss-math');
  });

  it('lists skipped variants and escapes Markdown in free text', () => {
    expect(md).toContain('| math | ablation-size-400 | 120 examples \\< 400 |');
    const text = renderMarkdown(runInput({ runId: 'r|1', models: { ...runInput().models, student: 'a_b*c' } }), []);
    expect(text).toContain('run r\\|1');
    expect(text).toContain('a\\_b\\*c');
  });

  it('is the same text for the same input', () => {
    expect(renderMarkdown(runInput(), [])).toBe(renderMarkdown(structuredClone(runInput()), []));
  });

  it("shows the Judge's calibration and flags a score level that holds most accepted examples", () => {
    const examples = [...reportExamples(), ...reportExamples()].map((e) => ({ ...e, qualityLevel: 'L5' }));
    const text = renderMarkdown(runInput({ dataset: { calibration: calibrationSummary({ calibration: reportCalibration() }), levels: levelDistributions(examples) } }), []);
    expect(text).toContain('## The Judge and the generated dataset');
    expect(text).toContain('- math: judge judge-1 passed calibration on 40 gsm8k-train items');
    expect(text).toContain('| quality level | L1: 0, L2: 0, L3: 0, L4: 0, L5: 4 | quality level: NOT DISCRIMINATING — level L5 holds 4 of 4 accepted examples (100%, over the 80% bar) |');
    expect(text).toContain('| complexity | 1: 0, 2: 0, 3: 2, 4: 2, 5: 0 | complexity: no level holds more than 80% of the 4 accepted examples |');
    expect(md).not.toContain('## The Judge and the generated dataset');
  });
});

describe('number formats', () => {
  it('formats ratios, signed points and thousands without the locale', () => {
    expect(times(9)).toBe('9.0×');
    expect(times(0.0042)).toBe('0.0042×');
    expect(signedPoints(-0.0004)).toBe('+0.0');
    expect(signedPoints(-0.125)).toBe('-12.5');
    expect(thousands(1234567)).toBe('1,234,567');
    expect(['L5', 'L10', 'L2'].sort(compareCuts)).toEqual(['L2', 'L5', 'L10']);
  });
});

// --- files --------------------------------------------------------------------------------------

describe('writeReport', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nanoflux-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.md and every figure as SVG and PNG, leaving no temporary files', () => {
    const out = join(dir, 'report');
    const { markdown, figures } = writeReport(out, runInput());
    expect(figures).toEqual(
      ['accuracy-math', 'ablation-quality-math', 'ablation-size-math', 'loss-math'].flatMap((n) => [`${n}.svg`, `${n}.png`]),
    );
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(markdown);
    expect(markdown).toBe(renderMarkdown(runInput(), figures));
    expect(readdirSync(out).sort()).toEqual([...figures, 'compute.json', 'report.md'].sort());
    for (const f of figures.filter((f) => f.endsWith('.png'))) {
      const svg = readFileSync(join(out, f.replace(/\.png$/, '.svg')), 'utf8');
      expectBalanced(svg);
      const declared = declaredSize(svg);
      expect(pngSize(readFileSync(join(out, f)))).toEqual({ width: declared.width * PNG_SCALE, height: declared.height * PNG_SCALE });
    }
  });

  it('draws no loss chart when no variant has a curve, and keeps domain names out of paths', () => {
    const input = runInput({
      domains: [{ name: '../bio/med', benchmark: 'pubmedqa', evalItems: 100, datasetExamples: 40 }],
      variants: [score('base', 50, { domain: '../bio/med', benchmark: 'pubmedqa', n: 100 })],
    });
    const { figures } = writeReport(dir, input);
    expect(figures).toEqual(['accuracy-bio-med.svg', 'accuracy-bio-med.png']);
    expect(readdirSync(dir).sort()).toEqual([...figures, 'compute.json', 'report.md'].sort());
  });

  it('writes the same bytes for the same input', () => {
    const [a, b] = ['a', 'b'].map((d) => join(dir, d));
    writeReport(a!, runInput());
    writeReport(b!, runInput());
    for (const f of readdirSync(a!)) expect(readFileSync(join(b!, f)).equals(readFileSync(join(a!, f))), f).toBe(true);
  });

  it('has a chart for each ablation axis present', () => {
    const input = runInput();
    input.variants.push(cut('complexity', '3', 90));
    expect(planFigures(input).map((f) => f.name)).toContain('ablation-complexity-math');
  });
});
