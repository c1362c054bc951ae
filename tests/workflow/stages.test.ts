import { Worker } from '@temporalio/worker';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import { TaskQueue } from '../../common/task-queues.js';
import { ablationWorkflowId, runWorkflowId, stagesWorkflowId, variantWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import type { nanofluxAblation } from '../../workflows/stages.js';
import { testConfig } from '../support/game-script.js';
import { refreshReplayHistory } from '../support/replay-histories.js';
import type { ScriptedOpenAI, ScriptedResponse } from '../support/scripted-openai.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-stages';

/**
 * A game whose accepted examples are learnable by a 135M model in one epoch: the Attacker asks
 * two-number sums in one fixed format, the Defender is always wrong, the Judge verifies. Complexity
 * alternates 2/3 by question so the ablation has two complexity cuts.
 */
function scriptArithmetic(server: ScriptedOpenAI): void {
  let n = 0;
  server.script((req): ScriptedResponse => {
    if (req.role === 'attacker') {
      const i = n++;
      const a = 11 + ((i * 37) % 80);
      const b = 12 + ((i * 53) % 77);
      return { json: { question: `What is ${a} + ${b}?`, referenceAnswer: String(a + b), solutionSteps: [`${a} + ${b} = ${a + b}.`], skill: 'addition', annotation: 'Carry the tens.' } };
    }
    if (req.role === 'defender') return { json: { reasoning: 'Guessing.', answer: '0' } };
    if (req.role === 'judge') {
      // The first addend alternates odd/even by question: complexity 2 and 3 in equal numbers.
      const a = Number(/What is (\d+) \+/.exec(JSON.stringify(req.messages))?.[1]);
      const complexity = a % 2 === 1 ? 2 : 3;
      return { json: { questionValid: true, referenceCorrect: true, defenderCorrect: false, complexity, hops: 1, quality: complexity === 3 ? 4.2 : 3.1, explanation: 'Recomputed.' } };
    }
    return { status: 400, message: 'unexpected role' };
  });
}

function stagesConfig(baseURL: string, runId: string): RunConfigInput {
  return testConfig(baseURL, runId, {
    domains: [{ name: 'math', brief: 'Sums.', topics: ['addition'], benchmark: 'gsm8k' }],
    // Sums differ only in their numbers: only an exact repeat is a duplicate here. One episode at a
    // time, so exactly 32 are accepted (every episode wins) and the step counts below are exact.
    generation: { targetAccepted: 32, maxEpisodes: 60, concurrency: 1, noveltyThreshold: 1 },
    finetune: { backend: 'local', baseModel: 'smollm2-135m', epochs: 1, batchSize: 2, learningRate: 1e-3, saveEvery: 8 },
    // One batch per variant: each trainer evaluation loads the model (~10 s on CPU); batching is covered by tests/workflow/resume.test.ts.
    evaluate: { via: 'trainer', limit: 20, batchSize: 20, maxNewTokens: 32 },
  });
}

describe('fine-tune → evaluate → report, and the ablation, on the CPU trainer', () => {
  const f = useGameFixture(NS);

  it('tunes the student on the generated set, evaluates base and tuned on 20 GSM8K items, writes the report', async () => {
    scriptArithmetic(f.server);
    const config = stagesConfig(f.server.baseURL, 'stages');
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('stages'), args: [config] });
    expect(result.failedDomains).toEqual([]);
    expect(result.status.stage).toBe('done');
    const math = result.stages!.find((s) => s.domain === 'math')!;
    const byVariant = Object.fromEntries(math.outcomes.map((o) => [o.variant, o]));
    expect(Object.keys(byVariant).sort()).toEqual(['base', 'tuned']);
    expect(byVariant.base!.error).toBeUndefined();
    expect(byVariant.tuned!.error).toBeUndefined();

    // LoRA for one epoch over the 32 accepted examples: 16 steps, and the loss fell.
    const train = byVariant.tuned!.train!;
    expect(train.steps).toBe(16);
    expect(train.trainTokens).toBeGreaterThan(0);
    const curve = readFileSync(train.lossCurve!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(curve.map((c) => c.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const mean = (xs: { loss: number }[]) => xs.reduce((s, x) => s + x.loss, 0) / xs.length;
    expect(mean(curve.slice(-4))).toBeLessThan(mean(curve.slice(0, 4)));
    expect(existsSync(join(train.model, 'adapter_config.json'))).toBe(true);

    // Both evaluated on the same 20 items, every item scored, per-item outputs kept.
    for (const v of ['base', 'tuned']) {
      const r = byVariant[v]!.result!;
      expect(r.n).toBe(20);
      expect(r.ci95.low).toBeLessThanOrEqual(r.accuracy);
      expect(r.ci95.high).toBeGreaterThanOrEqual(r.accuracy);
      const scores = JSON.parse(readFileSync(join(f.workers.home, 'runs', 'stages', 'stages', 'math', 'variants', v, 'scores.json'), 'utf8'));
      expect(scores.items.map((i: { id: string }) => i.id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      expect(scores.items.every((i: { prediction: unknown }) => typeof i.prediction === 'string')).toBe(true);
    }

    // The report: tables and plots beside the dataset.
    const report = result.status.report!;
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('tuned');
    expect(md).toContain('base');
    const dir = join(f.workers.home, 'runs', 'stages');
    for (const fig of ['accuracy-math.svg', 'accuracy-math.png', 'loss-math.svg', 'loss-math.png']) {
      expect(existsSync(join(dir, fig)), fig).toBe(true);
      expect(md).toContain(fig.endsWith('.png') ? fig : fig.replace('.svg', ''));
    }
    expect(readFileSync(join(dir, 'accuracy-math.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 600_000);

  it('ablates the finished run by complexity, size-matched and with two seeds (a size the set cannot fill is skipped), reusing the base evaluation, and adds each cut with its spread to the report', async () => {
    const config = {
      ...stagesConfig(f.server.baseURL, 'stages'),
      // Both complexity levels hold 16 examples: sizeMatch 12 subsamples each, so the cut is not the level's whole set.
      ablation: { axes: ['complexity', 'size'], sizes: [100], minExamples: 4, seeds: 2, sizeMatch: 12 },
    } satisfies RunConfigInput;
    const basePredictions = join(f.workers.home, 'runs', 'stages', 'stages', 'math', 'variants', 'base', 'predictions', 'batch-000.jsonl');
    const before = readFileSync(basePredictions, 'utf8');
    const result = await f.tc.client.workflow.execute<typeof nanofluxAblation>('nanofluxAblation', {
      taskQueue: TaskQueue.main,
      workflowId: ablationWorkflowId('stages'),
      args: [config],
    });
    expect(result.failed).toEqual([]);
    const math = result.results.find((r) => r.domain === 'math')!;
    const variants = math.outcomes.map((o) => o.variant).sort();
    expect(variants).toEqual(['ablation-complexity-2-s1', 'ablation-complexity-2-s2', 'ablation-complexity-3-s1', 'ablation-complexity-3-s2', 'base']);
    for (const o of math.outcomes) {
      expect(o.error).toBeUndefined();
      expect(o.result!.n).toBe(20);
    }
    const outcome = (v: string) => math.outcomes.find((o) => o.variant === v)!;
    const variantFile = (v: string, file: string) => join(f.workers.home, 'runs', 'stages', 'stages', 'math', 'variants', v, file);
    for (const [k, seed] of [[1, 0], [2, 1]] as const) {
      const o = outcome(`ablation-complexity-2-s${k}`);
      expect(o.result!.trainExamples).toBe(12);
      expect(o.result!.cut).toEqual({ axis: 'complexity', value: '2', replicate: k, seed, available: 16 });
      // 12 examples in batches of 2: 6 steps; the trainer ran with the replicate's seed.
      expect(o.train!.steps).toBe(6);
      expect(JSON.parse(readFileSync(join(o.train!.model, '..', 'summary.json'), 'utf8')).seed).toBe(seed);
    }
    // The seeds share one subsample of the level, and train differently on it.
    const train = (v: string) => readFileSync(variantFile(v, 'train.jsonl'), 'utf8');
    expect(train('ablation-complexity-2-s2')).toBe(train('ablation-complexity-2-s1'));
    expect(train('ablation-complexity-2-s1').trim().split('\n')).toHaveLength(12);
    const losses = (v: string) => readFileSync(outcome(v).train!.lossCurve!, 'utf8');
    expect(losses('ablation-complexity-2-s2')).not.toBe(losses('ablation-complexity-2-s1'));
    expect(math.skipped).toEqual([{ variant: 'ablation-size-100', reason: 'size 100 > the 32 examples in the set' }]);
    // The base model was not evaluated twice: its prediction file is the one the run wrote.
    expect(readFileSync(basePredictions, 'utf8')).toBe(before);

    const dir = join(f.workers.home, 'runs', 'stages');
    const md = readFileSync(result.report!, 'utf8');
    expect(md).toContain('### Ablation by complexity');
    expect(md).toContain('Each cut was fine-tuned once per seed');
    expect(md).toMatch(/\| 2 \| 2 \(0, 1\) \| [\d.]+% \| [\d.]+ pts \| [\d.]+–[\d.]+% \| 20 \| 12 of 16 \| [\d,]+ \| [+-][\d.]+ \([^)]+\) \| [<\d. ]+ \| – \| – \|/);
    expect(md).toMatch(/\| 3 \| 2 \(0, 1\) \| [\d.]+% \| [\d.]+ pts \| [\d.]+–[\d.]+% \| 20 \| 12 of 16 \| [\d,]+ \| [+-][\d.]+ \([^)]+\) \| [<\d. ]+ \| [+-][\d.]+ \([^)]+\) \| [<\d. ]+ \|/);
    expect(md).toContain('ablation-size-100');
    for (const fig of ['ablation-complexity-math.svg', 'ablation-complexity-math.png']) expect(existsSync(join(dir, fig)), fig).toBe(true);
    expect(readFileSync(join(dir, 'ablation-complexity-math.svg'), 'utf8')).toContain('class="band"');
  }, 900_000);

  it('replays the histories of the stage workflows (saved as new versions in tests/replay/histories with UPDATE_REPLAY_HISTORIES=1)', async () => {
    const ids = {
      'stages-run': runWorkflowId('stages'),
      'stages-domain': stagesWorkflowId('stages', 'math'),
      'stages-variant': variantWorkflowId('stages', 'math', 'tuned'),
      'stages-ablation': ablationWorkflowId('stages'),
    };
    for (const [name, id] of Object.entries(ids)) {
      const history = await f.tc.client.workflow.getHandle(id).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, id);
      refreshReplayHistory(name, history);
    }
  }, 120_000);
});
