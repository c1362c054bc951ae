import { describe, expect, it } from 'vitest';
import { planFigures } from '../../activities/stages/report/figures.js';
import { renderMarkdown } from '../../activities/stages/report/markdown.js';
import { cutGroups } from '../../activities/stages/report/seeds.js';
import type { ReportedVariant } from '../../activities/stages/report/types.js';
import { ablationChart } from '../../activities/stages/report/svg-charts.js';
import { comparePooled } from '../../common/seed-stats.js';
import { rightOn, runInput, score } from '../support/report-variants.js';

/** Seed k of complexity cut `value`, right on q0…q(correct − 1) of 200; 12 of the level's 30 examples trained on. */
const seeded = (value: string, k: number, correct: number, over: Partial<ReportedVariant> = {}): ReportedVariant =>
  score(`ablation-complexity-${value}-s${k}`, correct, {
    cut: { axis: 'complexity', value, replicate: k, seed: k - 1, available: 30 },
    trainExamples: 12,
    lossPoints: [{ step: 1, loss: 2 }, { step: 2, loss: 1 }],
    ...over,
  });

// Cut 2: 80, 90, 100 right (40–50%, mean 45%); cut 3: 100, 110, 120 (mean 55%); base 80 (40%).
const cuts = [seeded('3', 2, 110), seeded('2', 1, 80), seeded('2', 3, 100), seeded('3', 1, 100), seeded('2', 2, 90), seeded('3', 3, 120)];
const input = () => runInput({ variants: [score('base', 80), score('tuned', 100), ...cuts], skipped: [] });

describe('cut groups', () => {
  it("gathers a cut's seeded runs in replicate order with their mean, sd, range, seeds and sizes", () => {
    const groups = cutGroups(cuts.filter((v) => v.cut!.value === '2'));
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.runs.map((r) => r.variant)).toEqual(['ablation-complexity-2-s1', 'ablation-complexity-2-s2', 'ablation-complexity-2-s3']);
    expect(g.spread.mean).toBeCloseTo(0.45, 12);
    expect(g.spread.sd).toBeCloseTo(0.05, 12);
    expect([g.spread.min, g.spread.max]).toEqual([0.4, 0.5]);
    expect(g.seeds).toEqual([0, 1, 2]);
    expect([g.trainExamples, g.available, g.trainTokens]).toEqual([12, 30, 1000]);
    expect(g.superseded).toEqual([]);
  });

  it('leaves an unseeded result of the same cut out of the mean, and names it', () => {
    const old = score('ablation-complexity-2', 200, { cut: { axis: 'complexity', value: '2' } });
    const [g] = cutGroups([...cuts.filter((v) => v.cut!.value === '2'), old]);
    expect(g!.runs).toHaveLength(3);
    expect(g!.superseded).toEqual(['ablation-complexity-2']);
    // Alone (a report of an ablation from before seeds), it is a cut of one run.
    expect(cutGroups([old])[0]!.spread).toEqual({ seeds: 1, mean: 1, sd: null, min: 1, max: 1 });
  });
});

describe('the ablation table with seeds', () => {
  const md = renderMarkdown(input(), []);
  const row = (value: string) => md.split('\n').find((l) => l.startsWith(`| ${value} | 3 (`))!;

  it('gives each cut its seeds, mean, sd and min–max, and the size-matched n of the level', () => {
    expect(md).toContain('| complexity | seeds | accuracy, mean | sd | min–max | n | train examples | train tokens | Δ vs base (95% CI) | p vs base | Δ vs previous cut (95% CI) | p vs previous cut |');
    expect(row('2')).toMatch(/^\| 2 \| 3 \(0, 1, 2\) \| 45\.0% \| 5\.0 pts \| 40\.0–50\.0% \| 200 \| 12 of 30 \| 1,000 \| /);
    expect(row('3')).toMatch(/^\| 3 \| 3 \(0, 1, 2\) \| 55\.0% \| 5\.0 pts \| 50\.0–60\.0% \| 200 \| 12 of 30 \| 1,000 \| /);
    expect(md.indexOf(row('2'))).toBeLessThan(md.indexOf(row('3')));
    // One row per cut, not per seed.
    expect(md).not.toMatch(/ablation-complexity-2-s\d/);
    expect(md).toContain('Each cut was fine-tuned once per seed');
    expect(md).toContain('size-matched');
  });

  it("compares each cut with base and with the cut before it, pooled over seeds, with the paper's sign", () => {
    const two = cuts.filter((v) => v.cut!.value === '2').sort((a, b) => a.cut!.replicate! - b.cut!.replicate!);
    const three = cuts.filter((v) => v.cut!.value === '3').sort((a, b) => a.cut!.replicate! - b.cut!.replicate!);
    const vsBase = comparePooled(two.map((v) => v.items!), [rightOn(0, 80)]);
    const vsTwo = comparePooled(three.map((v) => v.items!), two.map((v) => v.items!));
    const pts = (x: number) => `${x < 0 ? '-' : '+'}${Math.abs(x * 100).toFixed(1)}`;
    // Cut 2 − base: +5.0 points; cut 3 − cut 2: +10.0; every item the cut gains is a gain (nested runs), so p is tiny.
    expect(vsBase.delta).toBeCloseTo(0.05, 12);
    expect(vsTwo.delta).toBeCloseTo(0.1, 12);
    expect(row('2')).toContain(`| +5.0 (${pts(vsBase.ci.low)} to ${pts(vsBase.ci.high)}) | < 0.001 | – | – |`);
    expect(row('3')).toContain(`| +10.0 (${pts(vsTwo.ci.low)} to ${pts(vsTwo.ci.high)}) | < 0.001 |`);
  });

  it('says so when a cut lacks per-item outcomes, and names superseded results under the table', () => {
    const v = input();
    v.variants = v.variants.map((x) => (x.variant === 'ablation-complexity-2-s2' ? { ...x, items: undefined } : x));
    v.variants.push(score('ablation-complexity-3', 150, { cut: { axis: 'complexity', value: '3' } }));
    const text = renderMarkdown(v, []);
    expect(text).toMatch(/\| 2 \| 3 \(0, 1, 2\) \| 45\.0% \| [^\n]* \| \+5\.0 \(unpaired\) \| – \| – \| – \|/);
    expect(text).toContain('Left out of the means: ablation-complexity-3 (scored before seeds and size matching; a different experiment).');
  });
});

describe('the ablation curve with its band', () => {
  const svg = planFigures(input()).find((f) => f.name === 'ablation-complexity-math')!.svg;
  const circles = (cls: string) => [...svg.matchAll(new RegExp(`<circle class="${cls}" cx="([\\d.]+)" cy="([\\d.]+)"`, 'g'))].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));

  it('draws the mean of each cut on a line, every seed as a ring, and the min–max band behind them', () => {
    const means = circles('point');
    const seeds = circles('seed');
    expect(means).toHaveLength(2);
    expect(seeds).toHaveLength(6);
    // Each mean sits between its seeds' rings (higher accuracy is a smaller y).
    for (const m of means) {
      const own = seeds.filter((s) => s.x === m.x).map((s) => s.y);
      expect(own).toHaveLength(3);
      expect(m.y).toBeGreaterThan(Math.min(...own));
      expect(m.y).toBeLessThan(Math.max(...own));
    }
    const band = /<polygon class="band" points="([^"]+)"/.exec(svg);
    expect(band).not.toBeNull();
    const ys = band![1]!.split(' ').map((p) => Number(p.split(',')[1]));
    // Through the highs, back along the lows: the band spans exactly the rings' extremes.
    expect(Math.min(...ys)).toBe(Math.min(...seeds.map((s) => s.y)));
    expect(Math.max(...ys)).toBe(Math.max(...seeds.map((s) => s.y)));
    expect(svg.indexOf('class="band"')).toBeLessThan(svg.indexOf('class="point"'));
    expect(svg).toContain('accuracy (mean over seeds; band min–max)');
    expect(svg).toContain('mean 45.0% over 3 seeds (min–max 40.0–50.0%)');
    expect(svg).not.toContain('class="whisker"');
  });

  it('draws a lone seeded cut as a bar of its own, and a one-run cut with its whisker as before', () => {
    const one = ablationChart({ title: 't', axis: 'complexity', categories: ['3'], series: [{ label: 's', points: [{ accuracy: 0.5, band: { low: 0.4, high: 0.6 }, runs: [0.4, 0.5, 0.6] }] }], references: [] });
    expect(/<polygon class="band" points="([^"]+)"/.exec(one)![1]!.split(' ')).toHaveLength(4);
    const plain = ablationChart({ title: 't', axis: 'complexity', categories: ['3'], series: [{ label: 's', points: [{ accuracy: 0.5, ci95: { low: 0.4, high: 0.6 } }] }], references: [] });
    expect(plain).not.toContain('class="band"');
    expect(plain).toContain('accuracy (95% CI)');
  });

  it("draws only the first seed's loss curve of each cut", () => {
    const loss = planFigures(input()).find((f) => f.name === 'loss-math')!.svg;
    const labels = [...loss.matchAll(/class="loss-curve" data-label="([^"]+)"/g)].map((m) => m[1]);
    expect(labels).toEqual(['ablation-complexity-2-s1', 'ablation-complexity-3-s1']);
  });
});
