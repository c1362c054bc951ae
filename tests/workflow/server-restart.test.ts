import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { buildActivityDeps } from '../../activities/deps.js';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { readEnv } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { freePort, startDevServer } from '../../scripts/lib/dev-server.js';
import { createWorkers } from '../../workers/create-workers.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { startScriptedOpenAI } from '../support/scripted-openai.js';
import { tempHome } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';

describe('the Temporal server stopped and restarted mid-run (its SQLite file kept)', () => {
  it('the run completes, with every accepted example stored once', async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const home = tempHome();
    const port = await freePort();
    const dbFile = join(home, 'temporal.sqlite');
    let server = await startDevServer({ port, dbFile });
    const llm = await startScriptedOpenAI();
    scriptGame(llm, { delayMs: 100, defenderRight: (_q, n) => n % 2 === 0 });
    const address = server.address;
    const connection = await NativeConnection.connect({ address });
    const deps = buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
    const workers = await createWorkers({ connection, namespace: 'default', deps, workflowBundle: { codePath: inject('workflowBundlePath') } });
    const running = workers.run();
    const client = new Client({ connection: await Connection.connect({ address }), namespace: 'default' });
    try {
      const config = testConfig(llm.baseURL, 'restart', { generation: { targetAccepted: 6, maxEpisodes: 60, concurrency: 2 } });
      const h = await client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('restart'), args: [config] });
      const deadline = Date.now() + 60_000;
      while (((await h.query(statusQuery).catch(() => undefined))?.episodes ?? 0) < 3) {
        if (Date.now() > deadline) throw new Error('no progress before the restart');
        await new Promise((r) => setTimeout(r, 200));
      }
      await server.stop();
      await new Promise((r) => setTimeout(r, 2000));
      server = await startDevServer({ port, dbFile });

      const result = await h.result();
      const d = result.status.domains.math!;
      expect(d.stopReason).toBe('target_reached');
      const stored = await deps.store.count(collectionName('examples', 'math', 'openai:embed'), { runId: 'restart' });
      expect(stored).toBe(d.accepted);
      expect(result.status.dataset!.examples).toBe(d.accepted);
      const episodes = deps.ledger.episodes('restart').map((e) => e.episode);
      expect(episodes).toEqual(Array.from({ length: d.episodesFinished }, (_, i) => i));
    } finally {
      workers.shutdown();
      await running.catch(() => undefined);
      await deps.close();
      await client.connection.close();
      await connection.close();
      await llm.close();
      await server.stop();
    }
  }, 240_000);
});
