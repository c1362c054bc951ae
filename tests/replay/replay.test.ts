import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { TaskQueue } from '../../common/queues.js';
import { domainWorkflowId, episodeWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const HISTORIES = join(import.meta.dirname, 'histories');
const replay = (history: unknown, workflowId: string) => Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);

/**
 * Replay guards determinism: today's workflow code must replay the histories of runs recorded by
 * earlier code (tests/replay/histories, refreshed deliberately with UPDATE_REPLAY_HISTORIES=1 when a
 * change is meant to be incompatible; then old runs need `patched()`), and those of a run made now.
 */
describe('replay', () => {
  const f = useGameFixture('bundle');

  it('replays a fresh run of every workflow type, and saved histories from earlier code', async () => {
    scriptGame(f.server);
    const config = testConfig(f.server.baseURL, 'replay', { generation: { targetAccepted: 2, maxEpisodes: 10, concurrency: 2, continueAsNewEvery: 3 } });
    await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('replay'), args: [config] });
    const ids = { run: runWorkflowId('replay'), domain: domainWorkflowId('replay', 'math'), episode: episodeWorkflowId('replay', 'math', 0) };
    for (const [kind, id] of Object.entries(ids)) {
      const history = await f.tc.client.workflow.getHandle(id).fetchHistory();
      await replay(history, id);
      if (process.env.UPDATE_REPLAY_HISTORIES) writeFileSync(join(HISTORIES, `${kind}.json`), historyToJSON(history));
    }

    const saved = existsSync(HISTORIES) ? readdirSync(HISTORIES).filter((n) => n.endsWith('.json')) : [];
    expect(saved.length).toBeGreaterThanOrEqual(3);
    for (const name of saved) {
      // The worker converts JSON histories itself (the shape `temporal workflow show --output json` writes).
      await replay(JSON.parse(readFileSync(join(HISTORIES, name), 'utf8')), `saved-${name}`);
    }
  }, 120_000);
});
