/**
 * The few SVG pieces the charts share. Strings in, strings out: no DOM, so the charts run anywhere
 * the worker does and the same input gives the same bytes.
 */

/** Named on every chart and embedded by png.ts: a machine with no fonts still renders the same glyphs. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

export const WIDTH = 640;
export const HEIGHT = 400;

/** Okabe–Ito: tells series apart for the common colour-vision deficiencies too. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
export const colour = (i: number): string => PALETTE[i % PALETTE.length]!;

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

/** A coordinate, rounded so output stays short and stable; a non-finite one becomes 0 rather than put "NaN" in an attribute. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return '0';
  return String(Math.round(x * 100) / 100 || 0);
}

type Attrs = Record<string, string | number | undefined>;

export function el(tag: string, attrs: Attrs, children?: string): string {
  const rendered = Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v)}"`)
    .join('');
  return children === undefined ? `<${tag}${rendered}/>` : `<${tag}${rendered}>${children}</${tag}>`;
}

export const text = (x: number, y: number, content: string, attrs: Attrs = {}): string => el('text', { x, y, ...attrs }, esc(content));

export const line = (x1: number, y1: number, x2: number, y2: number, attrs: Attrs = {}): string => el('line', { x1, y1, x2, y2, ...attrs });

/** Average advance of a DejaVu Sans glyph, in ems: enough to decide when labels must be cut or turned. */
const EM_PER_CHAR = 0.62;
export const textWidth = (s: string, fontSize: number): number => s.length * fontSize * EM_PER_CHAR;

export function truncate(s: string, maxChars: number): string {
  const chars = [...s];
  return chars.length <= maxChars ? s : `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

export function svgDocument(title: string, body: string[], width = WIDTH, height = HEIGHT): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${CHART_FONT_FAMILY}" font-size="12">`,
    // The whole title, for screen readers and tooltips, even where the drawn one is cut.
    title === '' ? '' : el('title', {}, esc(title)),
    // Opaque: a transparent PNG turns unreadable on a dark-mode page.
    el('rect', { width, height, fill: '#ffffff' }),
    // Cut as if 18px: bold glyphs run wider than the regular ones textWidth assumes.
    title === '' ? '' : text(width / 2, 24, truncate(title, Math.floor((width - 20) / textWidth('x', 18))), { 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 'bold', class: 'title' }),
    ...body,
    '</svg>',
  ]
    .filter((s) => s !== '')
    .join('\n') + '\n';
}

export function noDataChart(title: string): string {
  return svgDocument(title, [text(WIDTH / 2, HEIGHT / 2, 'no data', { 'text-anchor': 'middle', 'font-size': 14, fill: '#666666', class: 'no-data' })]);
}

/** The plot area inside the margins. */
export interface Frame {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface Tick {
  value: number;
  label: string;
}

/** Horizontal gridlines with their labels, and the axis title turned up the left side. */
export function yAxis(frame: Frame, ticks: Tick[], y: (v: number) => number, title: string): string[] {
  return [
    ...ticks.flatMap((t) => [
      line(frame.left, y(t.value), frame.right, y(t.value), { stroke: '#e0e0e0' }),
      text(frame.left - 6, y(t.value) + 4, t.label, { 'text-anchor': 'end', fill: '#444444' }),
    ]),
    line(frame.left, frame.top, frame.left, frame.bottom, { stroke: '#444444' }),
    line(frame.left, frame.bottom, frame.right, frame.bottom, { stroke: '#444444' }),
    text(16, (frame.top + frame.bottom) / 2, title, { 'text-anchor': 'middle', transform: `rotate(-90 16 ${num((frame.top + frame.bottom) / 2)})`, fill: '#444444' }),
  ];
}

export const PERCENT_TICKS: Tick[] = [0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => ({ value: v, label: `${Math.round(v * 100)}%` }));

/** Accuracy as a fraction clamped to [0, 1]: an out-of-range or NaN score must not draw outside the plot. */
export const unit = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** A vertical interval bar with caps, for a 95% interval. */
export function whisker(x: number, yLow: number, yHigh: number, attrs: Attrs = {}): string {
  const cap = 5;
  const stroke = { stroke: '#333333', 'stroke-width': 1.5, ...attrs };
  return el('g', { class: 'whisker' }, [line(x, yLow, x, yHigh, stroke), line(x - cap, yLow, x + cap, yLow, stroke), line(x - cap, yHigh, x + cap, yHigh, stroke)].join(''));
}

export interface LegendItem {
  label: string;
  colour: string;
  /** stroke-dasharray: reference lines are dashed here as on the plot, so the key matches what it names. */
  dash?: string;
}

const LEGEND_FONT = 11;
const LEGEND_ROW = 16;
const SWATCH = 22;

/**
 * Lays the key out in rows that wrap at `width`, so the chart can size its bottom margin before
 * drawing; `draw` then places it with its top at `y`.
 */
export function legend(items: LegendItem[], left: number, width: number): { height: number; draw: (y: number) => string[] } {
  const placed: { item: LegendItem; label: string; x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const item of items) {
    const label = truncate(item.label, 32);
    const w = SWATCH + 6 + textWidth(label, LEGEND_FONT) + 14;
    if (x > 0 && x + w > width) {
      row += 1;
      x = 0;
    }
    placed.push({ item, label, x: left + x, row });
    x += w;
  }
  const height = items.length === 0 ? 0 : (row + 1) * LEGEND_ROW;
  const draw = (y: number): string[] =>
    placed.map(({ item, label, x: ix, row: r }) => {
      const cy = y + r * LEGEND_ROW + LEGEND_ROW / 2;
      const swatch = line(ix, cy, ix + SWATCH, cy, { stroke: item.colour, 'stroke-width': 2.5, 'stroke-dasharray': item.dash });
      return el('g', { class: 'legend-item' }, swatch + text(ix + SWATCH + 6, cy + 4, label, { 'font-size': LEGEND_FONT }));
    });
  return { height, draw };
}

/**
 * Round-number ticks covering [lo, hi], and the widened range they span. A flat range (one point, or a
 * constant loss) is padded so it has somewhere to sit; `minStep` keeps training steps whole.
 */
export function niceTicks(lo: number, hi: number, count: number, minStep = 0): { ticks: Tick[]; lo: number; hi: number } {
  if (hi <= lo) {
    const pad = Math.max(Math.abs(lo) * 0.1, minStep, 0.05);
    [lo, hi] = [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
  }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = Math.max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude);
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const ticks: Tick[] = [];
  for (let i = first; i <= last; i++) ticks.push({ value: i * step, label: (i * step).toFixed(decimals) });
  return { ticks, lo: first * step, hi: last * step };
}
