import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainCompute, isMeasured, type Measure, ratioOf, sideCompute, sumOf } from '../../activities/stages/report/compute.js';
import { deviceHours, times, usd } from '../../activities/stages/report/compute-lines.js';
import { renderMarkdown, writeReport } from '../../activities/stages/report/report.js';
import type { ReportedVariant } from '../../activities/stages/report/types.js';
import { evaluated, generated, H100, measuredRun, runInput, score, trained } from '../support/report-variants.js';

const value = (m: Measure): number => {
  if (!isMeasured(m)) throw new Error(`expected a measurement, got: ${m.missing}`);
  return m.value;
};
const why = (m: Measure): string => {
  if (isMeasured(m)) throw new Error(`expected a missing measurement, got ${m.value}`);
  return m.missing;
};

const variants = (input = measuredRun()) => input.variants;
const find = (name: string, input = measuredRun()): ReportedVariant => variants(input).find((v) => v.variant === name)!;
const CPU = { kind: 'cpu', name: 'AMD EPYC 9654', devices: 1, visible: 2, threads: 2 };

describe('compute arithmetic', () => {
  it('adds generation by role, fine-tune and evaluation for NanoFlux, and gives device-hours as devices × hours', () => {
    const s = sideCompute(find('tuned'), generated());
    expect(value(s.generation!.tokens)).toBe(100_000);
    expect(value(s.generation!.usd)).toBeCloseTo(0.8, 10);
    expect(value(s.generation!.wallSeconds)).toBe(3600);
    expect(why(s.generation!.deviceHours)).toMatch(/servers' hardware/);
    expect(value(s.finetune.tokens)).toBe(1000);
    expect(value(s.finetune.deviceHours)).toBeCloseTo(0.1, 12);
    expect(s.finetune.hardware).toBe('1 × NVIDIA H100 80GB HBM3 (cuda)');
    expect(value(s.evaluation.tokens)).toBe(10_000);
    expect(value(s.evaluation.deviceHours)).toBeCloseTo(0.05, 12);
    expect(value(s.total.tokens)).toBe(111_000);
    expect(value(s.total.wallSeconds)).toBe(4140);
    // Fine-tune and evaluation have no price: the sum says which parts it lacks, never prints $0.80 as the whole.
    expect(why(s.total.usd)).toBe('fine-tune and evaluation not measured');
    expect(why(s.total.deviceHours)).toBe('generation not measured');
  });

  it('multiplies by the devices a job used', () => {
    const two = { ...H100, devices: 2 };
    const s = sideCompute({ ...find('tuned'), train: trained({ wallSeconds: 360, hardware: two }), evaluation: evaluated({ hardware: two }) }, generated());
    expect(value(s.finetune.deviceHours)).toBeCloseTo(0.2, 12);
    expect(value(s.evaluation.deviceHours)).toBeCloseTo(0.1, 12);
    expect(s.finetune.hardware).toBe('2 × NVIDIA H100 80GB HBM3 (cuda)');
  });

  it('counts nothing generated for a baseline (given data) and totals its own parts', () => {
    const s = sideCompute(find('full-train'), null);
    expect(s.generation).toBeNull();
    expect(value(s.total.tokens)).toBe(9000 + 11_000);
    expect(value(s.total.wallSeconds)).toBe(3240 + 180);
    expect(value(s.total.deviceHours)).toBeCloseTo(0.95, 12);
  });

  it('gives baseline ÷ NanoFlux on training compute and, separately, on everything', () => {
    const c = domainCompute('math', 'gsm8k', variants(), generated())!;
    expect(c.baselines.map((b) => b.side.variant)).toEqual(['full-train']);
    const r = c.baselines[0]!.ratios;
    expect(value(r.training.tokens)).toBeCloseTo(9, 12);
    expect(value(r.training.wallSeconds)).toBeCloseTo(9, 12);
    expect(value(r.training.deviceHours)).toBeCloseTo(9, 12);
    expect(value(r.whole.tokens)).toBeCloseTo(20_000 / 111_000, 12);
    expect(value(r.whole.wallSeconds)).toBeCloseTo(3420 / 4140, 12);
    expect(why(r.whole.usd)).toBe('full-train: fine-tune and evaluation not measured');
    expect(why(r.whole.deviceHours)).toBe('NanoFlux: generation not measured');
  });

  it('sums only measured parts and divides only by a measured, non-zero NanoFlux', () => {
    expect(value(sumOf([['a', { value: 1 }], ['b', { value: 2.5 }]]))).toBe(3.5);
    expect(why(sumOf([['a', { missing: 'x' }], ['b', { value: 2 }], ['c', { missing: 'y' }], ['d', { missing: 'z' }]]))).toBe('a, c and d not measured');
    const names = { of: 'full-train', to: 'NanoFlux' };
    expect(value(ratioOf({ value: 6 }, { value: 2 }, names))).toBe(3);
    expect(why(ratioOf({ value: 6 }, { value: 0 }, names))).toBe('0 for NanoFlux');
    expect(why(ratioOf({ value: 6 }, { missing: 'why not' }, names))).toBe('NanoFlux: why not');
    expect(why(ratioOf({ missing: 'gone' }, { value: 1 }, names))).toBe('full-train: gone');
  });

  it('is null without a tuned variant on that benchmark (nothing to compare)', () => {
    expect(domainCompute('math', 'gsm8k', variants().filter((v) => v.variant !== 'tuned'), generated())).toBeNull();
    expect(domainCompute('math', 'mcq', variants(), generated())).toBeNull();
  });
});

describe('what was not measured is said, never counted as 0', () => {
  const tuned = find('tuned');

  it('a provider fine-tune: tokens it did not report, hardware unknown (provider), no device-hours', () => {
    const s = sideCompute({ ...tuned, train: trained({ backend: 'openai', kind: 'remote', trainTokens: null }) }, generated());
    expect(why(s.finetune.tokens)).toBe('the openai backend did not report it');
    expect(s.finetune.hardware).toBe('unknown (provider)');
    expect(why(s.finetune.deviceHours)).toBe('unknown (provider)');
    expect(why(s.finetune.usd)).toMatch(/provider's fine-tuning charge/);
    expect(why(s.total.tokens)).toBe('fine-tune not measured');
  });

  it('an evaluation measured on part of its items, or by an endpoint that sent no usage', () => {
    const partial = sideCompute({ ...tuned, evaluation: evaluated({ measuredItems: 150 }) }, generated());
    expect(why(partial.evaluation.tokens)).toMatch(/^measured on 150 of 200 items/);
    expect(why(partial.evaluation.wallSeconds)).toMatch(/^measured on 150 of 200 items/);
    const endpoint = sideCompute({ ...tuned, evaluation: evaluated({ via: 'endpoint', promptTokens: null, hardware: null }) }, generated());
    expect(why(endpoint.evaluation.tokens)).toBe('the endpoint returned no token usage');
    expect(value(endpoint.evaluation.wallSeconds)).toBe(180);
    expect(why(endpoint.evaluation.deviceHours)).toMatch(/served by an endpoint/);
    const old = sideCompute({ ...tuned, evaluation: undefined }, generated());
    expect(why(old.evaluation.tokens)).toBe('predicted before evaluation was measured');
  });

  it("generation's USD with unpriced roles, earlier episodes without cost, or pricing not passed", () => {
    expect(why(sideCompute(tuned, generated({ unpriced: ['attacker', 'defender'] })).generation!.usd)).toBe('attacker, defender played by a model with no price');
    expect(why(sideCompute(tuned, generated({ uncosted: 3 })).generation!.usd)).toBe('3 episodes recorded before prices');
    expect(why(sideCompute(tuned, generated({ unpriced: null })).generation!.usd)).toMatch(/not told which models have prices/);
  });

  it('examples taken over from another run, domains generated side by side, no record at all', () => {
    const imported = sideCompute(tuned, generated({ imported: { examples: 12, runs: ['earlier'] } })).generation!;
    expect(why(imported.tokens)).toBe("12 examples were generated in earlier and are not counted here (this run's: 100,000)");
    expect(why(imported.usd)).toMatch(/12 examples were generated in earlier/);
    expect(why(sideCompute(tuned, generated({ domains: 2 })).generation!.wallSeconds)).toMatch(/^2 domains generated side by side/);
    expect(why(sideCompute(tuned, generated({ wallSeconds: null })).generation!.wallSeconds)).toBe('no run workflow recorded it');
    const none = sideCompute(tuned, undefined).generation!;
    expect([none.tokens, none.usd, none.wallSeconds].every((m) => !isMeasured(m))).toBe(true);
  });

  it('device-hours on different hardware are neither added nor compared', () => {
    const mixed = sideCompute({ ...tuned, evaluation: evaluated({ hardware: CPU }) }, generated());
    expect(why(mixed.total.deviceHours)).toMatch(/^generation not measured/);
    const baseline = sideCompute({ ...find('full-train'), evaluation: evaluated({ hardware: CPU }) }, null);
    expect(why(baseline.total.deviceHours)).toBe('on different hardware (1 × NVIDIA H100 80GB HBM3 (cuda), 1 × AMD EPYC 9654 (cpu, 2 threads))');
    const input = measuredRun();
    const onCpu = input.variants.map((v) => (v.variant === 'full-train' ? { ...v, train: trained({ trainTokens: 9000, wallSeconds: 3240, hardware: CPU }) } : v));
    const r = domainCompute('math', 'gsm8k', onCpu, generated())!.baselines[0]!.ratios;
    expect(why(r.training.deviceHours)).toMatch(/^trained on different hardware/);
    expect(value(r.training.tokens)).toBeCloseTo(9, 12);
  });
});

describe('report.md: the compute lines and table', () => {
  it('names each ratio for what it counts, baseline ÷ NanoFlux, and prints every part', () => {
    const md = renderMarkdown(measuredRun(), []);
    expect(md).toContain('- Training compute (fine-tune only), full-train ÷ NanoFlux: 9.0× the fine-tune tokens, 9.0× the fine-tune wall time, 9.0× the fine-tune device-hours.\n');
    expect(md).toContain(
      '- Whole compute (generation + fine-tune + evaluation), full-train ÷ NanoFlux: 0.2× the tokens, USD not measured (full-train: fine-tune and evaluation not measured), 0.8× the wall time, device-hours not measured (NanoFlux: generation not measured).\n',
    );
    expect(md).toContain('### Compute\n\nNanoFlux is `tuned` together with the generation that made its set');
    expect(md).toContain('the paper claims 3–14×');
    const row = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label} |`));
    expect(row('generation tokens')).toBe('| generation tokens | 100,000 (attacker 30,000 · defender 20,000 · judge 45,000 · embedding 5,000) | none (trained on a given file) |');
    expect(row('generation USD')).toBe('| generation USD | $0.80 (attacker $0.30 · defender $0.05 · judge $0.45 · embedding $0.00) | none (trained on a given file) |');
    expect(row('generation wall time')).toBe('| generation wall time | 60.0 min | none (trained on a given file) |');
    expect(row('fine-tune tokens')).toBe('| fine-tune tokens | 1,000 | 9,000 |');
    expect(row('fine-tune hardware')).toBe('| fine-tune hardware | 1 × NVIDIA H100 80GB HBM3 (cuda) | 1 × NVIDIA H100 80GB HBM3 (cuda) |');
    expect(row('fine-tune device-hours')).toBe('| fine-tune device-hours | 0.1 device-h | 0.9 device-h |');
    expect(row('fine-tune USD')).toBe('| fine-tune USD | not measured (device time has no price in the config) | not measured (device time has no price in the config) |');
    expect(row('evaluation tokens (prompt + completion)')).toBe('| evaluation tokens (prompt + completion) | 10,000 | 11,000 |');
    expect(row('everything: tokens')).toBe('| everything: tokens | 111,000 | 20,000 |');
    expect(row('everything: wall time')).toBe('| everything: wall time | 69.0 min | 57.0 min |');
    expect(row('everything: device-hours')).toBe('| everything: device-hours | not measured (generation not measured) | 0.95 device-h |');
  });

  it("names the baseline's length where it was set by tuned's tokens", () => {
    const input = measuredRun();
    const full = input.variants.find((v) => v.variant === 'full-train')!;
    full.train = { ...full.train!, budget: { by: 'tokens', tokens: 1000, of: 'tuned' } };
    expect(renderMarkdown(input, [])).toContain("9.0× the fine-tune device-hours; trained to tuned's token budget (1,000 tokens, training.match \"tokens\").");
  });

  it('says not measured where the inputs predate the measurements, and never prints a 0 for them', () => {
    const md = renderMarkdown(runInput(), []);
    expect(md).toContain('- Training compute (fine-tune only), full-train ÷ NanoFlux: 9.0× the fine-tune tokens, 3.2× the fine-tune wall time, fine-tune device-hours not measured (full-train: the trainer recorded no hardware).');
    expect(md).toContain('| generation tokens | not measured (no record of it: the run exported no episodes, or the report was written without it) |');
    expect(md).toContain('| evaluation wall time | not measured (predicted before evaluation was measured) | not measured (predicted before evaluation was measured) |');
    const table = md.slice(md.indexOf('### Compute'), md.indexOf('### Ablation'));
    expect(table).not.toMatch(/\| 0 \||\$0\.00 \||0 device-h/);
  });

  it('shows NanoFlux alone without a baseline, and no compute at all without tuned', () => {
    const alone = renderMarkdown(measuredRun({ variants: variants().filter((v) => v.variant !== 'full-train') }), []);
    expect(alone).toContain('|  | NanoFlux (tuned + generation) |\n');
    expect(alone).not.toContain('Training compute');
    const untuned = renderMarkdown(measuredRun({ variants: [score('base', 80)] }), []);
    expect(untuned).not.toContain('### Compute');
    expect(untuned).not.toContain('compute (');
  });

  it('formats small quantities so they never round to zero', () => {
    expect(deviceHours(0.0042)).toBe('0.0042 device-h');
    expect(deviceHours(12.345)).toBe('12.3 device-h');
    expect(times(0.042)).toBe('0.042×');
    expect(times(13.96)).toBe('14.0×');
    expect(usd(0.0031)).toBe('$0.0031');
    expect(usd(12.5)).toBe('$12.50');
  });
});

describe('compute.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nanoflux-compute-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the numbers the report prints beside it, each missing one with its reason', () => {
    writeReport(dir, measuredRun());
    const json = JSON.parse(readFileSync(join(dir, 'compute.json'), 'utf8'));
    expect(json.generation).toEqual([generated()]);
    const [math] = json.domains;
    expect(math).toMatchObject({ domain: 'math', benchmark: 'gsm8k' });
    expect(math.nanoflux.total.tokens).toEqual({ value: 111_000 });
    expect(math.nanoflux.finetune.hardware).toBe('1 × NVIDIA H100 80GB HBM3 (cuda)');
    expect(math.baselines[0].ratios.training.deviceHours.value).toBeCloseTo(9, 12);
    expect(math.baselines[0].ratios.whole.usd).toEqual({ missing: 'full-train: fine-tune and evaluation not measured' });
  });
});
