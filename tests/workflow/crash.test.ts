import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../activities/store/ledger.js';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { SqliteVectorStore } from '../../activities/store/vector/sqlite-store.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { startWorkerProcess as startWorker, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-crash';
const startWorkerProcess = (home: string) => startWorker(NS, home);

describe('a worker killed with SIGKILL mid-run', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const home = tempHome();
  let worker: ChildProcess | undefined;

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('finishes after restarts with no example lost and none duplicated', async () => {
    scriptGame(server, { delayMs: 150, defenderRight: (_q, n) => n % 2 === 0 });
    const config = testConfig(server.baseURL, 'crash', { generation: { targetAccepted: 8, maxEpisodes: 100, concurrency: 3 } });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('crash'), args: [config] });

    worker = startWorkerProcess(home);
    // Kill it twice, each time with episodes in flight.
    for (const atLeast of [2, 6]) {
      await waitFor(async () => {
        if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode})`);
        return ((await h.query(statusQuery)).domains.math?.episodesFinished ?? 0) >= atLeast;
      }, 90_000);
      const killed = worker;
      killed.kill('SIGKILL');
      await new Promise((r) => killed.once('exit', r));
      worker = startWorkerProcess(home);
    }
    const result = await h.result();
    const last = worker;
    last.kill('SIGTERM');
    await new Promise((r) => last.once('exit', r));

    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    const store = new SqliteVectorStore(join(home, 'vectors.sqlite'));
    const ledger = new Ledger(join(home, 'ledger.sqlite'));
    try {
      const points = await store.list(collectionName('examples', 'math', 'openai:embed'), { runId: 'crash' });
      const exported = readFileSync(join(home, 'runs', 'crash', 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id as string);
      expect(points).toHaveLength(d.accepted);
      expect(new Set(exported).size).toBe(exported.length);
      expect(exported.sort()).toEqual(points.map((p) => String(p.payload.id)).sort());
      const episodes = ledger.episodes('crash').map((e) => e.episode);
      expect(episodes).toEqual(Array.from({ length: d.episodesFinished }, (_, i) => i));
      expect(ledger.episodes('crash').filter((e) => e.summary.outcome === 'accepted')).toHaveLength(d.accepted);
    } finally {
      ledger.close();
      await store.close();
    }
  }, 240_000);

  it('waits for a worker that is gone: a run with no worker for a while completes once one returns', async () => {
    scriptGame(server);
    const config = testConfig(server.baseURL, 'no-worker', { generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 } });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('no-worker'), args: [config] });
    // Nothing serves the queues: the run just waits (no timeout runs out on a scheduled task).
    await new Promise((r) => setTimeout(r, 8000));
    expect((await h.describe()).status.name).toBe('RUNNING');
    worker = startWorkerProcess(home);
    const result = await h.result();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
    const last = worker;
    last.kill('SIGTERM');
    await new Promise((r) => last.once('exit', r));
    worker = undefined;
  }, 120_000);
});
