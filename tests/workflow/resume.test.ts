import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { examplesCollection } from '../../activities/store/examples.js';
import { pointId } from '../../activities/store/vector/point-id.js';
import type { ModelRef, RunConfigInput } from '../../common/config.js';
import type { TrainingExample } from '../../common/contracts/index.js';
import { temporalCliPath } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-resume';
const dir = mkdtempSync(join(tmpdir(), 'nanoflux-resume-'));

/** A stand-in for Axolotl & co. through the command backend: writes an adapter and a summary, and counts its runs per variant. */
function fakeTrainer(): { script: string; runs: () => string[] } {
  const log = join(dir, 'trainer-runs.txt');
  const script = join(dir, 'trainer.sh');
  writeFileSync(script, `#!/bin/sh\necho "$2" >> ${log}\nmkdir -p "$1"\necho '{}' > "$1/adapter_config.json"\necho '{"train_tokens": 100}' > "$1/summary.json"\n`, { mode: 0o755 });
  return { script, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

/** A whole example, as an earlier execution of the episode would have stored it. */
function staleExample(id: string, question: string, episode: number): TrainingExample {
  return {
    id, question, solutionSteps: ['Count.'], answer: '7', annotation: 'stale', domain: 'math', skill: 'counting', complexity: 3, hops: 2, quality: 4, qualityLevel: 'L4', novelty: 1,
    provenance: { runId: 'stale', episode, workflowId: `stale-${episode}`, attackerModel: 'model-a', defenderModel: 'model-b', judgeModel: 'judge' },
  };
}

describe('resuming experiments', () => {
  const f = useGameFixture(NS);

  it('resume-from: a new run starts with the earlier run\'s examples and reuses its finished fine-tunes and evaluations', async () => {
    const trainer = fakeTrainer();
    scriptGame(f.server, { other: (req) => ({ content: `I think it is 18.\nAnswer: ${req.model === 'served-base' ? 17 : 18}` }) });
    const baseline = join(dir, 'full-train.jsonl');
    writeFileSync(baseline, [1, 2, 3].map((i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `Answer: ${i}` }] })).join('\n') + '\n');
    const config = (runId: string, target: number, resumeFrom?: string): RunConfigInput =>
      testConfig(f.server.baseURL, runId, {
        ...(resumeFrom ? { resumeFrom } : {}),
        domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k', baselines: [{ name: 'full-train', data: baseline, format: 'chat' }] }],
        generation: { targetAccepted: target, maxEpisodes: 40, concurrency: 1 },
        finetune: { backend: 'command', baseModel: 'student', command: [trainer.script, '{out}', '{data}'] },
        evaluate: { via: 'endpoint', limit: 6, batchSize: 3, endpoint: { baseURL: f.server.baseURL, apiKeyEnv: 'NANOFLUX_TEST_KEY', models: { base: 'served-base', tuned: 'served-tuned', 'full-train': 'served-full' } } },
      });
    const first = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('first'), args: [config('first', 2)] });
    // The first GSM8K test item's answer is 18: the tuned models say 18, the base model 17.
    expect(first.status.variants!.map((v) => [v.variant, v.accuracy])).toEqual([['base', 0], ['tuned', 1 / 6], ['full-train', 1 / 6]]);
    expect(trainer.runs()).toHaveLength(2); // tuned and full-train
    const evalRequests = (model: string) => f.server.chatRequests().filter((r) => r.body.model === model).length;
    expect(evalRequests('served-base')).toBe(6);

    const second = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('second'), args: [config('second', 4, 'first')] });
    const d = second.status.domains.math!;
    expect(d.imported).toBe(2);
    expect(d.accepted).toBe(4);
    // The new run generated only the two examples it lacked.
    expect(f.workers.deps.ledger.episodes('second').filter((e) => e.summary.outcome === 'accepted')).toHaveLength(2);
    const exported = readFileSync(join(f.workers.home, 'runs', 'second', 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(exported).toHaveLength(4);
    expect(exported.filter((e) => e.importedFrom?.runId === 'first')).toHaveLength(2);
    // full-train (same data, same settings) and the base evaluation (same items) were taken over;
    // tuned (its data grew) was trained and evaluated again.
    expect(trainer.runs()).toHaveLength(3);
    expect(evalRequests('served-base')).toBe(6);
    expect(evalRequests('served-full')).toBe(6);
    expect(evalRequests('served-tuned')).toBe(12);
    expect(second.status.variants!.map((v) => v.variant)).toEqual(['base', 'tuned', 'full-train']);
    expect(readFileSync(second.status.report!, 'utf8')).toContain('full-train');
  }, 120_000);

  it('`temporal workflow reset` brings back a run terminated mid-way: it completes with every example once', async () => {
    scriptGame(f.server, { delayMs: 100 });
    const config = testConfig(f.server.baseURL, 'reset', { generation: { targetAccepted: 6, maxEpisodes: 60, concurrency: 2 } });
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('reset'), args: [config] });
    const deadline = Date.now() + 30_000;
    while (((await h.query(statusQuery)).domains.math?.accepted ?? 0) < 2) {
      if (Date.now() > deadline) throw new Error('no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.terminate('operator mistake');
    const before = f.workers.deps.ledger.episodes('reset').length;

    const r = spawnSync(temporalCliPath(), ['workflow', 'reset', '--address', inject('temporalAddress'), '--namespace', NS, '--workflow-id', runWorkflowId('reset'), '--type', 'FirstWorkflowTask', '--reason', 'resume after termination', '--yes'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const result = await f.tc.client.workflow.getHandle<typeof nanofluxRun>(runWorkflowId('reset')).result();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
    const episodes = f.workers.deps.ledger.episodes('reset');
    expect(episodes.length).toBeGreaterThanOrEqual(before);
    // Each accepted example once in the export, and each matches an accepted ledger episode.
    const exported = readFileSync(join(f.workers.home, 'runs', 'reset', 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id as string);
    expect(new Set(exported).size).toBe(exported.length);
    expect(exported.sort()).toEqual(episodes.filter((e) => e.summary.outcome === 'accepted').map((e) => `reset/math/${e.episode}`).sort());
    expect(exported.length).toBe(result.status.domains.math!.accepted);
  }, 120_000);

  it('an example left by a discarded execution of an episode is replaced when the episode is accepted again, and removed when it is not', async () => {
    scriptGame(f.server); // the Defender is right on its even calls: episode 0 is rejected, episode 1 accepted
    const config = testConfig(f.server.baseURL, 'stale', { generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 1 } });
    const embedder = f.workers.deps.embedder(config.models.embedding as ModelRef);
    const collection = examplesCollection('math', embedder);
    // As a terminated execution leaves them: stored under the episodes' keys, never recorded (the
    // window between the two steps is too short to terminate in on purpose).
    const stale = [0, 1].map((episode) => ({ key: `stale/math/${episode}`, question: `A zebra crossing ${episode} from a discarded execution?` }));
    const { vectors } = await embedder.embed(stale.map((x) => x.question));
    await f.workers.deps.store.ensureCollection(collection, vectors[0]!.length);
    await f.workers.deps.store.upsert(collection, stale.map((x, i) => ({ id: pointId(x.key), vector: vectors[i]!, payload: { ...staleExample(x.key, x.question, i), runId: 'stale' } })));

    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('stale'), args: [config] });
    const episodes = f.workers.deps.ledger.episodes('stale');
    expect([0, 1].map((n) => episodes.find((e) => e.episode === n)?.summary.outcome)).toEqual(['defender_correct', 'accepted']);
    const exported = readFileSync(join(f.workers.home, 'runs', 'stale', 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; question: string });
    expect(exported.map((x) => x.id).sort()).toEqual(episodes.filter((e) => e.summary.outcome === 'accepted').map((e) => `stale/math/${e.episode}`).sort());
    expect(exported.length).toBe(result.status.domains.math!.accepted);
    expect(exported.find((x) => x.id === 'stale/math/1')!.question).not.toContain('zebra');
    expect(await f.workers.deps.store.retrieve(collection, [pointId('stale/math/0')])).toEqual([]);
  }, 60_000);
});
