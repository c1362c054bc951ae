import { interval, pct } from './format.js';
import {
  colour,
  el,
  esc,
  type Frame,
  HEIGHT,
  legend,
  type LegendItem,
  line,
  niceTicks,
  noDataChart,
  num,
  PERCENT_TICKS,
  svgDocument,
  text,
  textWidth,
  truncate,
  unit,
  whisker,
  WIDTH,
  yAxis,
} from './svg.js';

/**
 * The report's three charts, as SVG strings. Every score is drawn with its 95% interval: on eval
 * sets of a few hundred items the interval is often wider than the gain, and a chart without it
 * would invite reading noise as an effect. A cut trained with several seeds is drawn as its mean
 * within the band its seeds span, for the same reason.
 */

export interface IntervalScore {
  accuracy: number;
  ci95: { low: number; high: number };
}

const LEFT = 64;
const RIGHT = 20;
const TOP = 56;
const LABEL_FONT = 12;
/** Long variant names are turned by this much and cut, rather than let them run into each other. */
const LABEL_ANGLE = 35;

const percentScale = (frame: Frame) => (v: number) => frame.bottom - unit(v) * (frame.bottom - frame.top);

const scoreTooltip = (label: string, s: IntervalScore): string =>
  el('title', {}, esc(`${label}: ${pct(unit(s.accuracy))} (95% CI ${interval({ low: unit(s.ci95.low), high: unit(s.ci95.high) })})`));

/** The interval's ends, widened to take in the accuracy itself: a malformed interval still draws around its point. */
const whiskerEnds = (s: IntervalScore, y: (v: number) => number): [number, number] => [y(Math.min(s.ci95.low, s.accuracy)), y(Math.max(s.ci95.high, s.accuracy))];

export interface AccuracyBar extends IntervalScore {
  label: string;
}

export function accuracyBarChart(title: string, bars: AccuracyBar[]): string {
  if (bars.length === 0) return noDataChart(title);
  const slot = (WIDTH - LEFT - RIGHT) / bars.length;
  const flat = bars.every((b) => textWidth(b.label, LABEL_FONT) <= slot - 4);
  const frame: Frame = { left: LEFT, top: TOP, right: WIDTH - RIGHT, bottom: HEIGHT - (flat ? 40 : 120) };
  const y = percentScale(frame);
  const barWidth = Math.min(slot * 0.6, 72);
  const body = yAxis(frame, PERCENT_TICKS, y, 'accuracy (95% CI)');
  bars.forEach((bar, i) => {
    const cx = frame.left + (i + 0.5) * slot;
    const top = y(bar.accuracy);
    const [low, high] = whiskerEnds(bar, y);
    body.push(
      el('rect', { class: 'bar', 'data-label': bar.label, x: cx - barWidth / 2, y: top, width: barWidth, height: frame.bottom - top, fill: colour(i) }, scoreTooltip(bar.label, bar)),
      whisker(cx, low, high),
      text(cx, Math.min(top, high) - 5, pct(unit(bar.accuracy)), { 'text-anchor': 'middle', 'font-weight': 'bold', class: 'value' }),
      flat ? text(cx, frame.bottom + 16, bar.label, { 'text-anchor': 'middle', class: 'label' }) : turnedLabel(cx, frame.bottom + 12, bar.label),
    );
  });
  return svgDocument(title, body);
}

/** A label turned to run down-left from under its bar, cut so it stays inside the picture's left edge. */
function turnedLabel(x: number, y: number, label: string): string {
  const room = (x - 4) / Math.cos((LABEL_ANGLE * Math.PI) / 180);
  const chars = Math.max(4, Math.min(24, Math.floor(room / textWidth('x', LABEL_FONT))));
  return text(x, y, truncate(label, chars), { 'text-anchor': 'end', transform: `rotate(-${LABEL_ANGLE} ${num(x)} ${num(y)})`, class: 'label' });
}

/**
 * A cut on the chart. One run: its accuracy and 95% interval, drawn as a whisker. Several seeded
 * runs: their mean as `accuracy`, the band min–max over them (what was measured; with three seeds
 * an sd is itself a rough guess) and each run's accuracy as a small ring.
 */
export type AblationPoint = IntervalScore | SeededScore;

export interface SeededScore {
  accuracy: number;
  band: { low: number; high: number };
  runs: number[];
}

const isSeeded = (p: AblationPoint): p is SeededScore => 'band' in p;

export interface AblationSeries {
  label: string;
  /** One per category, in the same order; undefined where that cut has no score. */
  points: (AblationPoint | undefined)[];
}

export interface ReferenceLine {
  label: string;
  accuracy: number;
}

export interface AblationChartInput {
  title: string;
  /** The x axis's name, e.g. "complexity". */
  axis: string;
  /** The cuts, in the order they are drawn: the axis is categorical, so 50/100/200 sit evenly spaced. */
  categories: string[];
  series: AblationSeries[];
  /** Whole-model baselines (base, full-train) drawn dashed across the plot: the bar a cut has to clear. */
  references: ReferenceLine[];
}

const REFERENCE_STYLES = [
  { colour: '#555555', dash: '6 4' },
  { colour: '#000000', dash: '2 3' },
  { colour: '#999999', dash: '10 3 2 3' },
];

export function ablationChart(input: AblationChartInput): string {
  const { title, categories } = input;
  const series = input.series.filter((s) => s.points.some((p) => p !== undefined));
  if (categories.length === 0 || series.length === 0) return noDataChart(title);
  const references = input.references.filter((r) => Number.isFinite(r.accuracy));
  const key = legend(
    [
      ...series.map((s, i): LegendItem => ({ label: s.label, colour: colour(i) })),
      ...references.map((r, i): LegendItem => ({ label: `${r.label} (${pct(unit(r.accuracy))})`, ...REFERENCE_STYLES[i % REFERENCE_STYLES.length]! })),
    ],
    LEFT,
    WIDTH - LEFT - RIGHT,
  );
  const frame: Frame = { left: LEFT, top: TOP, right: WIDTH - RIGHT, bottom: HEIGHT - 48 - key.height };
  const y = percentScale(frame);
  const slot = (frame.right - frame.left) / categories.length;
  const seeded = series.some((s) => s.points.some((p) => p !== undefined && isSeeded(p)));
  const body = yAxis(frame, PERCENT_TICKS, y, seeded ? 'accuracy (mean over seeds; band min–max)' : 'accuracy (95% CI)');
  const maxChars = Math.max(3, Math.floor((slot - 4) / textWidth('x', LABEL_FONT)));
  categories.forEach((c, i) => body.push(text(frame.left + (i + 0.5) * slot, frame.bottom + 16, truncate(c, maxChars), { 'text-anchor': 'middle', class: 'label' })));
  body.push(text((frame.left + frame.right) / 2, frame.bottom + 32, input.axis, { 'text-anchor': 'middle', fill: '#444444' }));
  references.forEach((r, i) => {
    const style = REFERENCE_STYLES[i % REFERENCE_STYLES.length]!;
    body.push(line(frame.left, y(r.accuracy), frame.right, y(r.accuracy), { stroke: style.colour, 'stroke-width': 1.5, 'stroke-dasharray': style.dash, class: 'reference' }));
  });
  series.forEach((s, si) => {
    // Series side by side within a category, so their whiskers don't hide each other.
    const dodge = (si - (series.length - 1) / 2) * 8;
    const placed = s.points.flatMap((p, i) => (p === undefined ? [] : [{ p, x: frame.left + (i + 0.5) * slot + dodge, cut: categories[i]! }]));
    body.push(...band(placed.flatMap(({ p, x }) => (isSeeded(p) ? [{ x, low: y(p.band.low), high: y(p.band.high) }] : [])), colour(si)));
    if (placed.length > 1) body.push(el('polyline', { points: placed.map(({ p, x }) => `${num(x)},${num(y(p.accuracy))}`).join(' '), fill: 'none', stroke: colour(si), 'stroke-width': 2 }));
    for (const { p, x, cut } of placed) {
      const label = `${s.label}, ${input.axis} ${cut}`;
      if (isSeeded(p)) {
        body.push(...p.runs.map((r) => el('circle', { class: 'seed', cx: x, cy: y(r), r: 2.5, fill: '#ffffff', stroke: colour(si), 'stroke-width': 1 })));
        body.push(el('circle', { class: 'point', cx: x, cy: y(p.accuracy), r: 4, fill: colour(si) }, seededTooltip(label, p)));
        continue;
      }
      const [low, high] = whiskerEnds(p, y);
      body.push(whisker(x, low, high, { stroke: colour(si) }), el('circle', { class: 'point', cx: x, cy: y(p.accuracy), r: 4, fill: colour(si) }, scoreTooltip(label, p)));
    }
  });
  body.push(...key.draw(frame.bottom + 40));
  return svgDocument(title, body);
}

const BAND_HALF_WIDTH = 7;

/**
 * The seeds' min–max as a shaded band: a polygon through the cuts' highs and back along their lows;
 * a cut alone (or the only one drawn) gets a short bar of its own.
 */
function band(points: { x: number; low: number; high: number }[], fill: string): string[] {
  if (points.length === 0) return [];
  const corners =
    points.length === 1
      ? [[points[0]!.x - BAND_HALF_WIDTH, points[0]!.high], [points[0]!.x + BAND_HALF_WIDTH, points[0]!.high], [points[0]!.x + BAND_HALF_WIDTH, points[0]!.low], [points[0]!.x - BAND_HALF_WIDTH, points[0]!.low]]
      : [...points.map((p) => [p.x, p.high]), ...[...points].reverse().map((p) => [p.x, p.low])];
  return [el('polygon', { class: 'band', points: corners.map(([x, y]) => `${num(x!)},${num(y!)}`).join(' '), fill, 'fill-opacity': 0.18, stroke: 'none' })];
}

const seededTooltip = (label: string, p: SeededScore): string =>
  el('title', {}, esc(`${label}: mean ${pct(unit(p.accuracy))} over ${p.runs.length} seeds (min–max ${interval({ low: unit(p.band.low), high: unit(p.band.high) })})`));

export interface LossSeries {
  label: string;
  points: { step: number; loss: number }[];
}

/** Min and max without spreading into Math.min: a long run's curve can outgrow the argument limit. */
const extent = (values: number[]): [number, number] => values.reduce<[number, number]>(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity]);

export function lossChart(title: string, input: LossSeries[]): string {
  const series = input
    .map((s) => ({ label: s.label, points: s.points.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.loss)) }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return noDataChart(title);
  const all = series.flatMap((s) => s.points);
  const xs = niceTicks(...extent(all.map((p) => p.step)), 6, 1);
  const [low, high] = extent(all.map((p) => p.loss));
  // Headroom, so a curve that ends on a round number doesn't vanish into the axis line.
  const pad = (high - low) * 0.05;
  const ys = niceTicks(low >= 0 ? Math.max(0, low - pad) : low - pad, high + pad, 5);
  const key = legend(series.map((s, i) => ({ label: s.label, colour: colour(i) })), LEFT, WIDTH - LEFT - RIGHT);
  const frame: Frame = { left: LEFT, top: TOP, right: WIDTH - RIGHT, bottom: HEIGHT - 48 - key.height };
  const x = (step: number) => frame.left + ((step - xs.lo) / (xs.hi - xs.lo)) * (frame.right - frame.left);
  const y = (loss: number) => frame.bottom - ((loss - ys.lo) / (ys.hi - ys.lo)) * (frame.bottom - frame.top);
  const body = yAxis(frame, ys.ticks, y, 'training loss');
  for (const t of xs.ticks) body.push(text(x(t.value), frame.bottom + 16, t.label, { 'text-anchor': 'middle', fill: '#444444' }));
  body.push(text((frame.left + frame.right) / 2, frame.bottom + 32, 'step', { 'text-anchor': 'middle', fill: '#444444' }));
  series.forEach((s, i) => {
    const points = [...s.points].sort((a, b) => a.step - b.step);
    // A one-point curve draws no line; the dot keeps it from vanishing.
    const shape =
      points.length === 1
        ? el('circle', { cx: x(points[0]!.step), cy: y(points[0]!.loss), r: 3, fill: colour(i) })
        : el('polyline', { points: points.map((p) => `${num(x(p.step))},${num(y(p.loss))}`).join(' '), fill: 'none', stroke: colour(i), 'stroke-width': 2 });
    body.push(el('g', { class: 'loss-curve', 'data-label': s.label }, shape));
  });
  body.push(...key.draw(frame.bottom + 40));
  return svgDocument(title, body);
}
