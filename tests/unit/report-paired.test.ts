import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoresPath } from '../../activities/stages/layout.js';
import { reportedVariant } from '../../activities/stages/results.js';
import { signedPoints } from '../../activities/stages/report/format.js';
import { lossCell, lossSummary } from '../../activities/stages/report/loss.js';
import { renderMarkdown } from '../../activities/stages/report/report.js';
import type { ReportedVariant } from '../../activities/stages/report/types.js';
import { pairedBootstrap } from '../../common/paired-stats.js';
import { rightOn, runInput, score, trained } from '../support/report-variants.js';

// The report's comparisons (paired, with the paper's sign: NanoFlux − baseline) and its loss summary.
// The fixture's variants are right on known item ranges (tests/support/report-variants.ts), so every discordant count is known.

describe('renderMarkdown: paired comparisons', () => {
  const md = renderMarkdown(runInput(), []);

  it('computes the compute ratio, and compares tuned with full-train paired and with the paper\'s sign (tuned − full-train)', () => {
    // 9000 / 1000 tokens, 190 / 60 s.
    expect(md).toContain('- Training compute (fine-tune only), full-train ÷ NanoFlux: 9.0× the fine-tune tokens, 3.2× the fine-tune wall time, fine-tune device-hours not measured (full-train: the trainer recorded no hardware).');
    // full-train is right on q16–q19 as well: tuned − full-train = −4 / 200 = −2 points; McNemar on 0 vs 4 discordant items = 0.125 (scipy).
    const ci = pairedBootstrap(rightOn(20, 120).map((o) => o.correct), rightOn(16, 120).map((o) => o.correct));
    // With 4 discordant items of 200, fewer than 2.5% of resamples draw none: the interval leaves out 0 though p = 0.125, and the line says to go by p.
    expect(ci.high).toBe(-0.005);
    expect(md).toContain(
      `- tuned − full-train: -2.0 points (tuned 50.0%, full-train 52.0% on 200 paired items); 95% CI ${signedPoints(ci.low)} to -0.5 points (paired bootstrap); McNemar exact p = 0.125 (0 items right only for tuned, 4 only for full-train). Only 4 discordant items: the interval is too narrow, go by p.`,
    );
    expect(md).not.toMatch(/accuracy Δ/);
  });

  it('says not measured when token counts are unknown, rather than guess', () => {
    const input = runInput();
    input.variants = input.variants.map((v) => (v.variant === 'tuned' ? { ...v, train: trained({ trainTokens: null }) } : v));
    const text = renderMarkdown(input, []);
    expect(text).toContain('fine-tune tokens not measured (NanoFlux: the local backend did not report it)');
    expect(text).not.toContain('9.0×');
  });

  it('reports tuned − base as a paired test: a tuned model better than base shows a positive Δ, its bootstrap interval and McNemar p', () => {
    // 40 items only tuned got right, 20 only base: Δ = +10 points; scipy.stats.binomtest(20, 60).pvalue = 0.01349.
    const ci = pairedBootstrap(rightOn(20, 120).map((o) => o.correct), rightOn(0, 80).map((o) => o.correct));
    expect(ci.low).toBeGreaterThan(0);
    expect(md).toContain(
      `- tuned − base: +10.0 points (tuned 50.0%, base 40.0% on 200 paired items); 95% CI ${signedPoints(ci.low)} to ${signedPoints(ci.high)} points (paired bootstrap); McNemar exact p = 0.013 (40 items right only for tuned, 20 only for base).`,
    );
    expect(md).toContain('- full-train − base: +12.0 points (full-train 52.0%, base 40.0% on 200 paired items)');
    // The order readers ask in: tuned against base, tuned against full-train, then full-train against base.
    expect(md.indexOf('- tuned − base')).toBeLessThan(md.indexOf('- tuned − full-train'));
    expect(md.indexOf('- tuned − full-train')).toBeLessThan(md.indexOf('- full-train − base'));
  });

  it('says how comparisons are made, and that overlapping intervals decide nothing', () => {
    expect(md).toContain('Δ is NanoFlux − baseline in percentage points (tuned − base, tuned − full-train');
    expect(md).toContain("95% paired bootstrap interval (10,000 resamples of the items, seed 20251125) and McNemar's exact two-sided p");
    expect(md).toContain('whether they overlap decides nothing');
    expect(md).toContain('With fewer than 10 discordant items the bootstrap interval is too narrow (it can leave out 0 where p is large): go by p there.');
    // 60 discordant items between tuned and base: no caution on that line.
    expect(md).not.toMatch(/only for base\)\. Only/);
    expect(md).not.toMatch(/intervals overlap|do not overlap|Where two intervals/);
  });

  it('flips the sign when the baseline is better, and compares tuned with each user baseline', () => {
    const input = runInput();
    // A user baseline right on q0–q129: 30 items tuned misses that it gets (q0–q19, q120–q129), none the other way.
    input.variants.push(score('few-shot', 130, { trainExamples: 50 }));
    const text = renderMarkdown(input, []);
    expect(text).toContain('- tuned − few-shot: -15.0 points (tuned 50.0%, few-shot 65.0% on 200 paired items)');
    expect(text).toContain('McNemar exact p < 0.001 (0 items right only for tuned, 30 only for few-shot).');
    expect(text).toContain('- few-shot − base: +25.0 points');
  });

  it('pairs by item id: items scored for one side only are left out and counted', () => {
    const input = runInput();
    input.variants = input.variants.map((v) => (v.variant === 'tuned' ? { ...v, items: [...v.items!.slice(0, 190).reverse(), { id: 'extra', correct: true }] } : v));
    const text = renderMarkdown(input, []);
    // q190–q199 are gone from tuned (all wrong in both), and an item base never saw is added: same Δ on 190 paired items.
    expect(text).toContain(
      '- tuned − base: +10.5 points (tuned 52.6%, base 42.1% on 190 paired items; 11 item(s) scored for only one of the two left out (1 only first, 10 only second));',
    );
  });

  it('falls back to the plain difference, and says so, when a variant has no per-item outcomes', () => {
    const input = runInput();
    input.variants = input.variants.map((v) => (v.variant === 'base' ? { ...v, items: undefined } : v));
    const text = renderMarkdown(input, []);
    expect(text).toContain('- tuned − base: +10.0 points (tuned 50.0%, base 40.0%); no paired test: no per-item outcomes for base.');
    expect(text).toContain('| L1 | 1 | 35.0% | – | – | 200 | 120 | 1,000 | -5.0 (unpaired) | – |');
  });

  it('tabulates variants with interval, n, training cost and loss as first and last window means', () => {
    expect(md).toContain('train loss, mean of first → last N steps');
    // Three logged steps: N = max(1, 10% of 3) = 1, so the first and last step.
    expect(md).toContain('| tuned | 50.0% | 43.1–56.9% | 200 | 120 | 1,000 | 60 s | 2.500 → 0.500 (1 of 3 steps each) |');
    expect(md).toContain('| base | 40.0% |');
    // No curve on disk: the backend's first and last step, said to be single steps.
    expect(md).toContain('| full-train | 52.0% | 45.1–58.8% | 200 | 1,000 | 9,000 | 3.2 min | 2.500 → 0.750 (one step each) |');
    expect(md).toContain('The trainers record no held-out loss, so none is reported.');
  });

  it('orders ablation cuts by rank and shows each against base and the cut before it, paired', () => {
    expect(md).toContain('### Ablation by quality');
    expect(md.indexOf('| L1 |')).toBeLessThan(md.indexOf('| L5 |'));
    const sizeTable = md.slice(md.indexOf('### Ablation by size'));
    const sizes = ['\n| 50 |', '\n| 100 |', '\n| 200 |'].map((s) => sizeTable.indexOf(s));
    expect(sizes.every((i) => i > 0)).toBe(true);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(md).toContain('| size | seeds | accuracy, mean | sd | min–max | n | train examples | train tokens | Δ vs base (95% CI) | p vs base | Δ vs previous cut (95% CI) | p vs previous cut |');
    // Cut 50 is right on q0–q83, base on q0–q79: +2.0 points on 4 discordant items (p = 0.125), and no cut before it.
    expect(md).toMatch(/\| 50 \| 1 \| 42\.0% \| – \| – \| 200 \| 120 \| 1,000 \| \+2\.0 \(\+\d\.\d to \+\d\.\d\) \| 0\.125 \| – \| – \|/);
    // L1 (q0–q69) against base: 10 items lost, p = 2/1024; L5 (q0–q89) against L1: 20 gained, p = 2/2^20.
    expect(md).toMatch(/\| L1 \| 1 \| 35\.0% \| – \| – \| 200 \| 120 \| 1,000 \| -5\.0 \(-\d\.\d to -\d\.\d\) \| 0\.002 \| – \| – \|/);
    expect(md).toMatch(/\| L5 \| 1 \| 45\.0% \| – \| – \| 200 \| 120 \| 1,000 \| \+5\.0 \([^)]+\) \| 0\.002 \| \+10\.0 \(\+\d+\.\d to \+\d+\.\d\) \| < 0\.001 \|/);
    expect(md).not.toContain('Ablation by complexity');
  });
});

describe('loss as first and last window means', () => {
  const curve = (losses: number[]) => losses.map((loss, i) => ({ step: i + 1, loss }));
  const tuned = (over: Partial<ReportedVariant>) => score('tuned', 100, over);

  it('averages the first and last 10% of the logged steps', () => {
    // 30 steps, loss 30, 29, …, 1: N = 3, first mean (30 + 29 + 28) / 3 = 29, last (3 + 2 + 1) / 3 = 2.
    const v = tuned({ lossPoints: curve(Array.from({ length: 30 }, (_, i) => 30 - i)) });
    expect(lossSummary(v)).toEqual({ kind: 'window', first: 29, last: 2, window: 3, steps: 30 });
    expect(lossCell(v)).toBe('29.000 → 2.000 (3 of 30 steps each)');
  });

  it('takes N when set, never more than half the steps, at least 1', () => {
    const v = tuned({ lossPoints: curve([4, 3, 2, 1, 0]) });
    expect(lossSummary(v, 2)).toMatchObject({ first: 3.5, last: 0.5, window: 2 });
    expect(lossSummary(v, 50)).toMatchObject({ first: 3.5, last: 0.5, window: 2 });
    expect(lossSummary(v, 0)).toMatchObject({ first: 4, last: 0, window: 1 });
    expect(lossSummary(tuned({ lossPoints: curve([7]) }))).toMatchObject({ first: 7, last: 7, window: 1, steps: 1 });
  });

  it('orders by step, keeps the later of a step logged twice (a resumed fine-tune), and drops non-finite points', () => {
    const points = [
      { step: 3, loss: 9 }, // logged before the crash, redone after the resume
      { step: 1, loss: 4 },
      { step: 2, loss: 3 },
      { step: 3, loss: 2 },
      { step: 4, loss: Number.NaN },
      { step: 5, loss: 1 },
    ];
    expect(lossSummary(tuned({ lossPoints: points }), 2)).toEqual({ kind: 'window', first: 3.5, last: 1.5, window: 2, steps: 4 });
  });

  it("falls back to the backend's first and last step, and shows nothing without either", () => {
    expect(lossSummary(tuned({ lossPoints: undefined }))).toEqual({ kind: 'ends', first: 2.5, last: 0.75 });
    expect(lossCell(tuned({ train: trained({ firstLoss: null }) }))).toBe('– → 0.750 (one step each)');
    expect(lossSummary(score('base', 80))).toBeNull();
    expect(lossCell(score('base', 80))).toBe('–');
  });

  it("uses the report input's window and says so", () => {
    const input = runInput({ lossWindow: 1 });
    input.variants = input.variants.map((v) => (v.variant === 'tuned' ? { ...v, lossPoints: curve([5, 4, 3, 2, 1, 0]) } : v));
    const text = renderMarkdown(input, []);
    expect(text).toContain('| 5.000 → 0.000 (1 of 6 steps each) |');
    expect(text).toContain('N = 1 (at most half its steps)');
    expect(renderMarkdown(runInput(), [])).toContain('N = 10% of its logged steps, at least 1');
  });
});

describe('reportedVariant', () => {
  it("reads each item's outcome from the variant's scores.json, and leaves them out where there is none", () => {
    const home = mkdtempSync(join(tmpdir(), 'nanoflux-paired-'));
    try {
      // A result as result.json holds it: no items of its own.
      const { items: _items, ...result } = score('tuned', 1, { n: 3 });
      const file = scoresPath(home, 'run-1', 'math', 'tuned');
      mkdirSync(dirname(file), { recursive: true });
      const items = [
        { id: '0', reference: '4', extracted: '4', correct: true, prediction: 'The answer is 4' },
        { id: '1', reference: '9', extracted: null, correct: false, prediction: null },
        { id: '2', reference: '1', extracted: '2', correct: false, prediction: '2' },
      ];
      writeFileSync(file, JSON.stringify({ benchmark: 'gsm8k', n: 3, correct: 1, items }));
      expect(reportedVariant(home, 'run-1', result).items).toEqual([
        { id: '0', correct: true },
        { id: '1', correct: false },
        { id: '2', correct: false },
      ]);
      expect(reportedVariant(home, 'run-1', { ...result, variant: 'base' })).not.toHaveProperty('items');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
