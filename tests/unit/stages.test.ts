import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AblationSchema, EvaluateSchema, parseRunConfig } from '../../common/config.js';
import type { TrainingExample } from '../../common/contracts/index.js';
import { endpointModel, evaluateBatchFile } from '../../activities/stages/eval/run-eval.js';
import { NanofluxError } from '../../common/errors.js';
import { commandFineTuneBackend, expandCommand } from '../../activities/stages/finetune/command-backend.js';
import { lastErrorLine, trainerFailure } from '../../activities/stages/finetune/local-backend.js';
import type { FineTuneJob, FineTuneProgress } from '../../activities/stages/finetune/backend.js';
import { type AblationCut, ablationCuts, cutSpec, shuffledForSize, writeCutTrainingFile } from '../../activities/stages/cuts.js';
import { baselineRows, evalPrompt } from '../../activities/stages/training-data.js';
import { mapBounded } from '../../workflows/pool.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';
import { testConfig } from '../support/game-script.js';

const dir = mkdtempSync(join(tmpdir(), 'nanoflux-stages-'));

function ex(i: number, complexity: number, quality: number): TrainingExample {
  const level = `L${Math.min(5, Math.max(1, Math.floor(quality + 0.5)))}`;
  return {
    id: `r/math/ep-${i}`, question: `q${i}`, solutionSteps: ['s'], answer: String(i), annotation: '', domain: 'math', skill: 'k',
    complexity, hops: 1, quality, qualityLevel: level, novelty: 0.1,
    provenance: { runId: 'r', episode: i, workflowId: `w${i}`, attackerModel: 'a', defenderModel: 'b', judgeModel: 'j' },
  };
}

describe('ablation cuts', () => {
  // 12 examples: complexity 2 ×6, 3 ×4, 5 ×2; quality L3 ×7 (3.1), L4 ×5 (4.2).
  const set = Array.from({ length: 12 }, (_, i) => ex(i, i < 6 ? 2 : i < 10 ? 3 : 5, i < 7 ? 3.1 : 4.2));
  const ids = (c: AblationCut) => c.examples.map((e) => e.id);
  const cutsOf = (cfg: object) => ablationCuts(set, AblationSchema.parse(cfg));

  it('cuts by complexity and quality level whole (sizeMatch false), skipping levels under minExamples with the reason', () => {
    const { cuts, skipped } = cutsOf({ axes: ['complexity', 'quality'], minExamples: 3, seeds: 1, sizeMatch: false });
    expect(cuts.map((c) => [c.variant, c.examples.length, c.available])).toEqual([
      ['ablation-complexity-2-s1', 6, 6],
      ['ablation-complexity-3-s1', 4, 4],
      ['ablation-quality-L3-s1', 7, 7],
      ['ablation-quality-L4-s1', 5, 5],
    ]);
    expect(skipped).toEqual([{ variant: 'ablation-complexity-5', reason: '2 examples < minExamples 3' }]);
    expect(cuts[0]!.examples.every((e) => e.complexity === 2)).toBe(true);
  });

  it("size-matches each level axis to its smallest eligible cut, and runs every cut once per seed on the same examples", () => {
    const { cuts, skipped } = cutsOf({ axes: ['complexity', 'quality'], minExamples: 3, seeds: 2 });
    expect(cuts.map((c) => [c.variant, c.replicate, c.examples.length, c.available])).toEqual([
      ['ablation-complexity-2-s1', 1, 4, 6],
      ['ablation-complexity-2-s2', 2, 4, 6],
      ['ablation-complexity-3-s1', 1, 4, 4],
      ['ablation-complexity-3-s2', 2, 4, 4],
      ['ablation-quality-L3-s1', 1, 5, 7],
      ['ablation-quality-L3-s2', 2, 5, 7],
      ['ablation-quality-L4-s1', 1, 5, 5],
      ['ablation-quality-L4-s2', 2, 5, 5],
    ]);
    // The level under minExamples does not drag the others down to 2.
    expect(skipped).toEqual([{ variant: 'ablation-complexity-5', reason: '2 examples < minExamples 3' }]);
    const cx2 = cuts.filter((c) => c.axis === 'complexity' && c.value === '2');
    expect(ids(cx2[1]!)).toEqual(ids(cx2[0]!));
    expect(cx2[0]!.examples.every((e) => e.complexity === 2)).toBe(true);
    // The subsample is the level's prefix in the fixed hash order: not its first rows, the same for any input order.
    const level2 = shuffledForSize(set.filter((e) => e.complexity === 2)).map((e) => e.id);
    expect(ids(cx2[0]!)).toEqual(level2.slice(0, 4));
    const reversed = ablationCuts([...set].reverse(), AblationSchema.parse({ axes: ['complexity', 'quality'], minExamples: 3, seeds: 2 }));
    expect(reversed.cuts.map(ids)).toEqual(cuts.map(ids));
    expect(cutSpec(cuts[1]!)).toEqual({ variant: 'ablation-complexity-2-s2', cut: { axis: 'complexity', value: '2', replicate: 2, available: 6 }, trainExamples: 4 });
  });

  it('subsamples to a given size, nested, and skips and lists the levels that cannot fill it', () => {
    const five = cutsOf({ axes: ['complexity'], minExamples: 3, seeds: 1, sizeMatch: 5 });
    expect(five.cuts.map((c) => [c.variant, c.examples.length, c.available])).toEqual([['ablation-complexity-2-s1', 5, 6]]);
    expect(five.skipped).toEqual([
      { variant: 'ablation-complexity-5', reason: '2 examples < minExamples 3' },
      { variant: 'ablation-complexity-3', reason: '4 examples < sizeMatch 5' },
    ]);
    const four = cutsOf({ axes: ['complexity'], minExamples: 3, seeds: 1, sizeMatch: 4 });
    expect(ids(five.cuts[0]!).slice(0, 4)).toEqual(ids(four.cuts[0]!));
    expect(parseRunConfig({ ...testConfig('http://127.0.0.1:9/v1', 'r'), finetune: { baseModel: 'm' }, evaluate: {}, domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k' }], ablation: { minExamples: 5, sizeMatch: 4 } })).toMatchObject({
      ok: false,
      problems: [{ path: 'ablation.sizeMatch', message: expect.stringMatching(/below minExamples/) }],
    });
    expect(AblationSchema.safeParse({ seeds: 0 }).success).toBe(false);
    expect(AblationSchema.safeParse({ seeds: 11 }).success).toBe(false);
  });

  it('cuts by size as nested prefixes of one fixed shuffled order (never size-matched), skipping sizes the set cannot fill', () => {
    const { cuts, skipped } = cutsOf({ axes: ['size'], sizes: [8, 4, 50, 4], minExamples: 1, seeds: 1 });
    expect(cuts.map((c) => c.variant)).toEqual(['ablation-size-4-s1', 'ablation-size-8-s1']);
    const four = ids(cuts[0]!);
    expect(ids(cuts[1]!).slice(0, 4)).toEqual(four);
    expect(skipped).toEqual([{ variant: 'ablation-size-50', reason: 'size 50 > the 12 examples in the set' }]);
    // Not episode order, and the same order on every call.
    expect(shuffledForSize(set).map((e) => e.id)).not.toEqual(set.map((e) => e.id));
    expect(shuffledForSize([...set].reverse()).map((e) => e.id)).toEqual(shuffledForSize(set).map((e) => e.id));
  });

  it("rewrites a cut's training file only when it changed, and then drops the variant's old fine-tune, predictions and result", () => {
    const home = mkdtempSync(join(tmpdir(), 'nanoflux-cut-'));
    const variant = 'ablation-complexity-2-s1';
    const result = join(home, 'runs', 'r', 'stages', 'math', 'variants', variant, 'result.json');
    writeCutTrainingFile(home, 'r', 'math', variant, [{ a: 1 }]);
    writeFileSync(result, '{}');
    writeCutTrainingFile(home, 'r', 'math', variant, [{ a: 1 }]);
    expect(existsSync(result)).toBe(true);
    writeCutTrainingFile(home, 'r', 'math', variant, [{ a: 2 }]);
    expect(existsSync(result)).toBe(false);
    expect(readFileSync(join(home, 'runs', 'r', 'stages', 'math', 'variants', variant, 'train.jsonl'), 'utf8')).toBe('{"a":2}\n');
  });
});

describe('training and evaluation data', () => {
  it('turns GSM8K training rows into the NanoFlux chat format without calculator annotations', () => {
    const file = join(dir, 'gsm-train.jsonl');
    writeFileSync(file, [
      JSON.stringify({ question: 'Tom has 3 bags of 4 apples. How many?', answer: 'He has 3*4=<<3*4=12>>12 apples.\n#### 12' }),
      '',
      JSON.stringify({ question: 'Second?', answer: 'Half of 10 is <<10/2=5>>5.\n#### 5' }),
    ].join('\n'));
    const rows = baselineRows({ name: 'full-train', data: file, format: 'gsm8k' }, file);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(rows[0]!.messages[2]!.content).toBe('He has 3*4=12 apples.\n\nAnswer: 12');
    expect(baselineRows({ name: 'full-train', data: file, format: 'gsm8k', limit: 1 }, file)).toHaveLength(1);
  });

  it('names the line of a broken baseline row', () => {
    const file = join(dir, 'bad-train.jsonl');
    writeFileSync(file, `${JSON.stringify({ question: 'q', answer: 'no hashes' })}\n`);
    expect(() => baselineRows({ name: 'b', data: file, format: 'gsm8k' }, file)).toThrow(/bad-train\.jsonl:1: expected/);
    writeFileSync(file, `${JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] })}\n`);
    expect(() => baselineRows({ name: 'b', data: file, format: 'chat' }, file)).toThrow(/:1: .*assistant turn/);
  });

  it('asks every benchmark for an answer line its scorer reads', () => {
    expect(evalPrompt('gsm8k', 'Q?')).toMatch(/^Q\?\n\n.*"Answer: <number>"/);
    expect(evalPrompt('pubmedqa', 'Q?')).toContain('"Answer: maybe"');
    expect(evalPrompt('mcq', 'Q?')).toContain('"Answer: <letter>"');
  });
});

describe('run config: the stage sections', () => {
  const base = () => testConfig('http://127.0.0.1:9/v1', 'r');

  it('accepts a full fine-tune/evaluate/ablation config with defaults filled in', () => {
    const r = parseRunConfig({ ...base(), domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k', baselines: [{ name: 'full-train', data: 'x.jsonl', format: 'gsm8k' }] }], finetune: { baseModel: 'smollm2-135m' }, evaluate: {}, ablation: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.finetune).toMatchObject({ backend: 'local', epochs: 1, loraR: 8, parallelism: 1 });
    expect(r.config.evaluate).toMatchObject({ via: 'trainer', batchSize: 50 });
    expect(r.config.ablation).toEqual({ axes: ['complexity', 'quality', 'size'], sizes: [50, 100, 200], minExamples: 5, seeds: 3, sizeMatch: 'smallest' });
  });

  it('refuses stage configs that cannot run, naming the field', () => {
    const problems = (input: unknown) => {
      const r = parseRunConfig(input);
      return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    };
    expect(problems({ ...base(), ablation: {} })).toEqual(['ablation: the ablation stage needs the finetune and evaluate stages']);
    expect(problems({ ...base(), evaluate: {} })[0]).toMatch(/^domains\[0\]\.evaluation: the evaluate stage needs a benchmark/);
    expect(problems({ ...base(), finetune: { backend: 'command', baseModel: 'm' } })).toEqual(['finetune.command: the command backend needs a command template']);
    expect(problems({ ...base(), finetune: { backend: 'command', baseModel: 'm', command: ['train', '--out={output}'] } })[0]).toMatch(/^finetune\.command\[1\]: unknown placeholder \{output\}/);
    expect(problems({ ...base(), finetune: { baseModel: 'm', learningRate: -1 } })[0]).toMatch(/^finetune\.learningRate:/);
    expect(problems({ ...base(), domains: [{ name: 'math', brief: 'b', topics: ['t'], evaluation: { benchmark: 'mcq' } }], evaluate: {} })).toEqual([
      'domains[0].evaluation.data: gsmhard and mcq benchmarks need a data file (only gsm8k and pubmedqa ship with the project)',
    ]);
    expect(problems({ ...base(), domains: [{ name: 'math', brief: 'b', topics: ['t'], baselines: [{ name: 'tuned', data: 'x', format: 'chat' }] }], finetune: { baseModel: 'm' } })[0]).toMatch(/baselines\[0\]\.name: "tuned" is taken/);
    expect(problems({ ...base(), domains: [{ name: 'math', brief: 'b', topics: ['t'], baselines: [{ name: 'b', data: 'x', format: 'chat' }] }] })[0]).toMatch(/baselines: baselines are fine-tuned/);
  });
});

const job = (outDir: string): FineTuneJob => ({
  runId: 'r', domain: 'math', variant: 'tuned', dataPath: join(dir, 'train.jsonl'), outDir, baseModel: '/models/student',
  hyper: { epochs: 2, learningRate: 0.0001, loraR: 16, batchSize: 4, maxLength: 256, seed: 7, saveEvery: 10 },
});

describe('command fine-tune backend', () => {
  const ctx = (log: FineTuneProgress[] = []) => ({ heartbeat: (p: FineTuneProgress) => log.push(p), signal: new AbortController().signal });

  it('fills the placeholders of the template', () => {
    expect(expandCommand(['axolotl', '--data={data}', '--out', '{out}', '--lr', '{learningRate}', '{baseModel}', '{unknown}'], job('/o'))).toEqual([
      'axolotl', `--data=${join(dir, 'train.jsonl')}`, '--out', '/o/output', '--lr', '0.0001', '/models/student', '{unknown}',
    ]);
  });

  it('runs the command, finds the adapter by the output contract, reads its summary, and does not run it twice', async () => {
    const script = join(dir, 'fake-trainer.sh');
    const counter = join(dir, 'runs.txt');
    writeFileSync(script, `#!/bin/sh\necho run >> ${counter}\necho "epoch 1 of $2"\nmkdir -p "$1/adapter"\necho '{}' > "$1/adapter/adapter_config.json"\necho '{"train_tokens": 1234, "steps": 9, "first_loss": 2.5, "last_loss": 1.25}' > "$1/summary.json"\n`, { mode: 0o755 });
    const log: FineTuneProgress[] = [];
    const backend = commandFineTuneBackend([script, '{out}', '{epochs}']);
    const out = join(dir, 'cmd-ok');
    const r = await backend.train(job(out), ctx(log));
    expect(r).toMatchObject({ backend: 'command', kind: 'adapter', model: join(out, 'output', 'adapter'), trainTokens: 1234, steps: 9, firstLoss: 2.5, lastLoss: 1.25 });
    expect(log.map((p) => p.message)).toContain('epoch 1 of 2');
    const again = await backend.train(job(out), ctx());
    expect(again).toEqual(r);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('fails for good when the command exits non-zero or leaves no model, and retryably when it is killed', async () => {
    const failing = commandFineTuneBackend(['sh', '-c', 'echo "CUDA out of memory" >&2; exit 3']);
    await expect(failing.train(job(join(dir, 'cmd-fail')), ctx())).rejects.toMatchObject({ type: 'FineTuneFailed', message: expect.stringContaining('CUDA out of memory') });
    const empty = commandFineTuneBackend(['true']);
    await expect(empty.train(job(join(dir, 'cmd-empty')), ctx())).rejects.toMatchObject({ type: 'FineTuneFailed', message: expect.stringContaining('no adapter_config.json') });
    const killed = trainerFailure('trainer', { code: null, signal: 'SIGKILL', stderrTail: '' }, false);
    expect(killed).not.toBeInstanceOf(NanofluxError);
    expect(lastErrorLine('Traceback…\n  File x\nValueError: bad row\r\n')).toBe('ValueError: bad row');
  });
});

describe('evaluation through an OpenAI-compatible endpoint', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => {
    server = await startScriptedOpenAI();
  });
  afterAll(async () => {
    await server.close();
  });

  it('keeps the answers it got across a 429, asks only for the rest, and writes the batch once complete', async () => {
    const items = join(dir, 'items.jsonl');
    writeFileSync(items, ['a', 'b', 'c', 'd'].map((id) => JSON.stringify({ id, prompt: `question ${id}` })).join('\n') + '\n');
    let calls = 0;
    server.script((req) => {
      calls++;
      if (calls === 3) return { status: 429, retryAfter: '7', message: 'slow down' };
      return { content: `Answer: ${String(req.messages.at(-1)?.content).slice(-1)}` };
    });
    const evaluate = EvaluateSchema.parse({ via: 'endpoint', endpoint: { baseURL: server.baseURL, models: { tuned: 'served-tuned' } }, concurrency: 1 });
    const outPath = join(dir, 'preds', 'batch-000.jsonl');
    const run = { itemsPath: items, outPath, target: { variant: 'tuned', baseModel: 'base-m', trained: { kind: 'adapter' as const, model: '/x' } }, evaluate, signal: new AbortController().signal, progress: () => undefined };
    const err = await evaluateBatchFile(run).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'RateLimited', retryAfterMs: 7000 });
    expect(existsSync(outPath)).toBe(false);
    expect(readFileSync(`${outPath}.partial`, 'utf8').trim().split('\n')).toHaveLength(2);

    const r = await evaluateBatchFile(run);
    expect(r).toEqual({ items: 4, cached: false });
    const preds = readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(preds).toEqual(['a', 'b', 'c', 'd'].map((id) => ({ id, prediction: `Answer: ${id}` })));
    expect(calls).toBe(5); // 2 answered, 1 refused, then only the 2 missing
    expect(server.chatRequests().every((q) => q.body.model === 'served-tuned' && q.body.temperature === 0)).toBe(true);
    expect(await evaluateBatchFile(run)).toEqual({ items: 4, cached: true });
  });

  it('knows which served model a variant is', () => {
    const evaluate = EvaluateSchema.parse({ via: 'endpoint', endpoint: { models: { 'full-train': 'ft-full' } } });
    expect(endpointModel({ variant: 'base', baseModel: 'gpt-4o-mini' }, evaluate)).toEqual({ model: 'gpt-4o-mini' });
    expect(endpointModel({ variant: 'tuned', baseModel: 'b', trained: { kind: 'remote', model: 'ft:gpt-4o-mini:x' } }, evaluate)).toEqual({ model: 'ft:gpt-4o-mini:x' });
    expect(endpointModel({ variant: 'full-train', baseModel: 'b', trained: { kind: 'adapter', model: '/a' } }, evaluate)).toEqual({ model: 'ft-full' });
    expect(() => endpointModel({ variant: 'tuned', baseModel: 'b', trained: { kind: 'adapter', model: '/a' } }, evaluate)).toThrow(/evaluate\.endpoint\.models\["tuned"\]/);
  });
});

describe('mapBounded', () => {
  it('keeps at most `limit` in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await mapBounded([30, 5, 20, 1, 10], 2, async (ms, i) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((res) => setTimeout(res, ms));
      inFlight--;
      return i * 10;
    });
    expect(r).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
  });
});

describe('NANOFLUX_QUEUES', () => {
  it('serves every queue by default, the named ones otherwise, and refuses unknown names (roles; the legacy queue names in tests/unit/queues.test.ts)', async () => {
    const { queuesFromEnv } = await import('../../workers/create-workers.js');
    expect(queuesFromEnv(undefined)).toEqual(['main', 'llm', 'train']);
    expect(queuesFromEnv(' train ')).toEqual(['train']);
    expect(() => queuesFromEnv('nanoflux-gpu')).toThrow(/unknown queue role nanoflux-gpu; known: main, llm, train/);
  });
});

describe('stage preparation', () => {
  it('fails for good, naming the config field, when a baseline or benchmark file is missing on the worker', async () => {
    const { createStageActivities } = await import('../../activities/stages/activities.js');
    const home = mkdtempSync(join(tmpdir(), 'nanoflux-prep-'));
    const acts = createStageActivities({ home, datasetsDir: join(dir, 'no-datasets'), fineTuneBackend: () => { throw new Error('unused'); } });
    const domain = { name: 'math', brief: 'b', topics: ['t'], benchmark: 'none' as const, pack: 'none' as const, evaluation: { benchmark: 'mcq' as const, data: '/nope/medqa.jsonl' }, baselines: [] };
    const e1 = await acts.prepareDomainStage({ runId: 'r', domain, evaluate: EvaluateSchema.parse({}) }).catch((e: unknown) => e);
    expect(e1).toMatchObject({ type: 'MissingResource', nonRetryable: true, message: expect.stringContaining('domains.math.evaluation.data: /nope/medqa.jsonl not found') });
  });
});
