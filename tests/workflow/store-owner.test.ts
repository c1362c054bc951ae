import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../activities/store/ledger.js';
import { storeOwner } from '../../activities/store/owner.js';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-store-owner';

/** What one data dir holds of a run: its stored example points, its ledger's accepted episodes, its export. */
async function heldBy(home: string, runId: string): Promise<{ points: string[]; accepted: number; exported: string[] | null }> {
  const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
  const ledger = new Ledger(join(home, 'ledger.sqlite'));
  try {
    const points = (await store.list(collectionName('examples', 'math', 'openai:embed'), { runId }).catch(() => [])).map((p) => String(p.payload.id));
    const accepted = ledger.episodes(runId).filter((e) => e.summary.outcome === 'accepted').length;
    const file = join(home, 'runs', runId, 'examples.jsonl');
    const exported = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string) : null;
    return { points, accepted, exported };
  } finally {
    ledger.close();
    await store.close();
  }
}

/**
 * Three worker processes with three data dirs stand for three hosts on one Temporal server: the run's
 * store steps go to the worker that owns its data (its own `nanoflux-store-<id>` queue), whichever
 * hosts serve its model calls, so a run's examples are stored once, on the owner, and exported whole.
 */
describe('store ownership across hosts', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const homes = [tempHome(), tempHome(), tempHome()];
  const workers: (ChildProcess | undefined)[] = [];
  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => undefined);

  const start = (i: number) => (workers[i] = startWorkerProcess(NS, homes[i]!));
  const alive = () => workers.filter((w): w is ChildProcess => w !== undefined && w.exitCode === null && w.signalCode === null);

  it('stores every accepted example once, on the owner only, with a non-owner SIGKILLed and the owner stopped for a while mid-run', async () => {
    try {
      scriptGame(server, { delayMs: 120, defenderRight: (_q, n) => n % 2 === 0 });
      [0, 1, 2].forEach(start);
      const config = testConfig(server.baseURL, 'owned', { generation: { targetAccepted: 10, maxEpisodes: 80, concurrency: 4 } });
      const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('owned'), args: [config] });
      const status = () => h.query(statusQuery);
      const { store } = await (async () => {
        let s = await status().catch(() => undefined);
        await waitFor(async () => Boolean((s = await status()).store), 60_000);
        return s!;
      })();
      const owner = homes.findIndex((home) => TaskQueue.store(storeOwner(home).id) === store!.queue);
      expect(owner).toBeGreaterThanOrEqual(0);
      expect(store!.home).toBe(storeOwner(homes[owner]!).home);
      const others = [0, 1, 2].filter((i) => i !== owner);

      // A non-owner killed with episodes in flight: its model calls are retried elsewhere.
      await waitFor(async () => ((await status()).domains.math?.episodesFinished ?? 0) >= 3, 90_000);
      await killHard(workers[others[0]!]!);
      // The owner stopped for a while: its store steps wait for it (the other host keeps no store of this run).
      await waitFor(async () => ((await status()).domains.math?.episodesFinished ?? 0) >= 6, 90_000);
      await killHard(workers[owner]!);
      await new Promise((r) => setTimeout(r, 4000));
      expect((await h.describe()).status.name).toBe('RUNNING');
      start(owner);

      const result = await h.result();
      const d = result.status.domains.math!;
      expect(d.stopReason).toBe('target_reached');
      await Promise.all(alive().map(killHard));

      const mine = await heldBy(homes[owner]!, 'owned');
      expect(mine.points).toHaveLength(d.accepted);
      expect(new Set(mine.points).size).toBe(mine.points.length);
      expect(mine.accepted).toBe(d.accepted);
      expect(mine.exported?.sort()).toEqual([...mine.points].sort());
      expect(result.status.dataset?.examples).toBe(d.accepted);
      for (const i of others) expect(await heldBy(homes[i]!, 'owned'), `data dir ${i}`).toEqual({ points: [], accepted: 0, exported: null });
    } finally {
      await Promise.all(alive().map(killHard));
    }
  }, 300_000);

  it('fine-tunes and evaluates on a host whose data dir holds nothing of the run: the files travel in payloads, the results land on the owner', async () => {
    const owner = tempHome();
    const gpu = tempHome();
    const tools = tempHome();
    // A command-backend trainer: an adapter, a loss curve, and a copy of the data it was given.
    const trainer = join(tools, 'trainer.sh');
    writeFileSync(trainer, `#!/bin/sh\nmkdir -p "$1"\necho '{}' > "$1/adapter_config.json"\ncp "$2" "$1/seen.jsonl"\nprintf '{"step":1,"loss":2.5}\\n{"step":2,"loss":1.5}\\n' > "$1/metrics.jsonl"\n`, { mode: 0o755 });
    scriptGame(server, { other: (req) => ({ content: `Step by step.\nAnswer: ${req.model === 'served-tuned' ? '18' : '-1'}`, usage: { prompt_tokens: 50, completion_tokens: 10 } }) });
    const hosts = [
      startWorkerProcess(NS, owner, { NANOFLUX_QUEUES: 'main,llm' }),
      startWorkerProcess(NS, gpu, { NANOFLUX_QUEUES: 'train' }),
    ];
    try {
      const config = testConfig(server.baseURL, 'shipped', {
        domains: [{ name: 'math', brief: 'Arithmetic.', topics: ['sums'], benchmark: 'none', evaluation: { benchmark: 'gsm8k', limit: 6 } }],
        generation: { targetAccepted: 4, maxEpisodes: 30, concurrency: 2 },
        finetune: { backend: 'command', baseModel: 'student', command: [trainer, '{out}', '{data}'] },
        evaluate: { via: 'endpoint', limit: 6, batchSize: 4, endpoint: { baseURL: server.baseURL, apiKeyEnv: 'NANOFLUX_TEST_KEY', models: { base: 'served-base', tuned: 'served-tuned' } } },
      });
      const result = await tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('shipped'), args: [config] });
      expect(result.failedDomains).toEqual([]);
      const outcomes = result.stages!.find((s) => s.domain === 'math')!.outcomes;
      expect(outcomes.map((o) => [o.variant, o.error ?? null])).toEqual([['base', null], ['tuned', null]]);
      const tuned = outcomes.find((o) => o.variant === 'tuned')!;

      // Trained on the GPU host, from the owner's training file, byte for byte; evaluated where its adapter is.
      const ownerStage = join(owner, 'runs', 'shipped', 'stages', 'math');
      const gpuStage = join(gpu, 'runs', 'shipped', 'stages', 'math');
      expect(tuned.train!.model.startsWith(gpu)).toBe(true);
      expect(tuned.train!.trainedOn).toBe(TaskQueue.trainHost(storeOwner(gpu).id));
      expect(readFileSync(join(gpuStage, 'variants', 'tuned', 'finetune', 'output', 'seen.jsonl'), 'utf8')).toBe(readFileSync(join(ownerStage, 'variants', 'tuned', 'train.jsonl'), 'utf8'));
      expect(existsSync(join(gpu, 'runs', 'shipped', 'examples.jsonl'))).toBe(false);

      // Predictions, scores, the loss curve and the report are on the owner.
      for (const v of ['base', 'tuned']) {
        for (const f of ['predictions/batch-000.jsonl', 'predictions/batch-001.jsonl', 'predictions/batch-000.jsonl.usage.json', 'scores.json', 'result.json']) {
          expect(existsSync(join(ownerStage, 'variants', v, f)), `${v}/${f}`).toBe(true);
        }
      }
      expect(tuned.result).toMatchObject({ n: 6, correct: expect.any(Number) });
      expect(tuned.train!.lossCurve).toBe(join(ownerStage, 'variants', 'tuned', 'finetune', 'output', 'metrics.jsonl'));
      expect(tuned.train).not.toHaveProperty('returned');
      expect(result.status.report!.startsWith(owner)).toBe(true);
      expect(readFileSync(result.status.report!, 'utf8')).toMatch(/loss-math/);
      expect(existsSync(join(gpu, 'runs', 'shipped', 'report.md'))).toBe(false);
    } finally {
      await Promise.all(hosts.map(killHard));
    }
  }, 300_000);
});
