import { Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { domainWorkflowId, episodeWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { historiesDir, refreshReplayHistory, savedHistories } from '../support/replay-histories.js';
import { useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const replay = (history: unknown, workflowId: string) => Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);

/**
 * Replay guards determinism: today's workflow code must replay the histories of runs recorded by
 * earlier code (tests/replay/histories, one file per version; a refresh with UPDATE_REPLAY_HISTORIES=1
 * adds a version and never replaces one, see its README.md), and those of a run made now.
 */
describe('replay of a fresh run', () => {
  const f = useGameFixture('bundle');

  it('replays a fresh run of every workflow type', async () => {
    scriptGame(f.server);
    // A math pack (the executed check runs the Attacker's program), preflight, and a calibration that
    // warns (the scripted Judge fails it by design): the fresh history holds every step of today's code.
    const config = testConfig(f.server.baseURL, 'replay', {
      preflight: true,
      domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: ['rates', 'fractions'], benchmark: 'none', pack: 'math' }],
      generation: { targetAccepted: 2, maxEpisodes: 10, concurrency: 2, continueAsNewEvery: 3 },
      judge: { calibration: { items: 6, minAgreement: 0.75, onFail: 'warn' } },
    });
    await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('replay'), args: [config] });
    const ids = { run: runWorkflowId('replay'), domain: domainWorkflowId('replay', 'math'), episode: episodeWorkflowId('replay', 'math', 0) };
    for (const [kind, id] of Object.entries(ids)) {
      const history = await f.tc.client.workflow.getHandle(id).fetchHistory();
      await replay(history, id);
      refreshReplayHistory(kind, history);
    }
  }, 180_000);
});

describe('replay of saved histories', () => {
  const dir = historiesDir();
  const saved = savedHistories(dir);

  it('finds saved histories to replay', () => {
    expect(saved, `no histories under ${dir}`).not.toEqual([]);
  });

  // The worker converts JSON histories itself (the shape `temporal workflow show --output json` writes).
  it.each(saved)('replays %s', async (name) => {
    await replay(JSON.parse(readFileSync(join(dir, name), 'utf8')), `saved-${name}`);
  });
});
