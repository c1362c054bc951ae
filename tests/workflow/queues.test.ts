import type { ChildProcess } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { runStoreQueue } from '../../scripts/lib/client.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { runNanoflux } from '../support/run-command.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-queues';

/**
 * Every worker identity that took a task of a run: its workflow tasks and activity tasks, through
 * every child workflow it started (domain loops, episodes). A worker's identity is `<pid>@<host>`.
 */
async function servedBy(tc: TestClient, workflowId: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const todo = [workflowId];
  while (todo.length > 0) {
    const id = todo.pop()!;
    for (const e of (await tc.client.workflow.getHandle(id).fetchHistory()).events ?? []) {
      const identity = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
      if (identity) seen.add(identity);
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) todo.push(child);
    }
  }
  return seen;
}

const pidsOf = (identities: Set<string>) => new Set([...identities].map((i) => Number(i.split('@')[0])));

describe('queues that do not mix', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  const workers: ChildProcess[] = [];
  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => undefined);
  const start = (prefix: string, env: NodeJS.ProcessEnv = {}, capture?: (text: string) => void) => {
    const w = startWorkerProcess(NS, tempHome(), { NANOFLUX_TASK_QUEUE_PREFIX: prefix, ...env }, capture);
    workers.push(w);
    return w;
  };
  const run = (prefix: string, runId: string, delayMs = 20) => {
    scriptGame(server, { delayMs });
    const config = testConfig(server.baseURL, runId, { generation: { targetAccepted: 3, maxEpisodes: 20, concurrency: 2 } });
    return tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: prefix, workflowId: runWorkflowId(runId), args: [config] });
  };

  it('two checkouts (two prefixes) on one server: each run is served by its own checkout\'s worker alone', async () => {
    try {
      const a = start('checkout-a');
      const b = start('checkout-b');
      const [ra, rb] = await Promise.all([run('checkout-a', 'on-a'), run('checkout-b', 'on-b')]);
      const [resultA, resultB] = await Promise.all([ra.result(), rb.result()]);
      expect(resultA.status.domains.math?.accepted).toBeGreaterThanOrEqual(3);
      expect(resultB.status.domains.math?.accepted).toBeGreaterThanOrEqual(3);
      expect(pidsOf(await servedBy(tc, ra.workflowId))).toEqual(new Set([a.pid]));
      expect(pidsOf(await servedBy(tc, rb.workflowId))).toEqual(new Set([b.pid]));
      // Started again from this checkout (another prefix), a run is not sent back to checkout-a's owner queue, which no worker here polls.
      expect(String((await ra.describe()).memo?.storeQueue)).toMatch(/^checkout-a-store-[0-9a-f]{12}$/);
      expect(await runStoreQueue(tc.client, 'on-a')).toBeUndefined();
    } finally {
      await Promise.all(workers.splice(0).map(killHard));
    }
  }, 180_000);

  it('a worker of another build waits while the current build has workers, and nanoflux status shows it as such', async () => {
    let said1 = '';
    let said2 = '';
    try {
      const v1 = start('versioned', { NANOFLUX_BUILD_ID: 'build-1' }, (t) => (said1 += t));
      await waitFor(async () => said1.includes('build build-1 is now the current version of versioned'), 60_000);
      const v2 = start('versioned', { NANOFLUX_BUILD_ID: 'build-2' }, (t) => (said2 += t));
      await waitFor(async () => said2.includes('build build-1 serves versioned while its workers run: this worker (build build-2) waits'), 60_000);

      const h = await run('versioned', 'by-build', 400);
      const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_CLI_TIMEOUT: '15' };
      const status = await runNanoflux(['status', 'by-build', '--json'], env);
      expect(status.status, status.stderr).toBe(0);
      const { workers: byBuild } = JSON.parse(status.stdout) as { workers: { current: string; builds: { buildId: string; workers: number; current: boolean }[] } };
      expect(byBuild.current).toBe('build-1');
      expect(byBuild.builds).toEqual([
        { buildId: 'build-1', workers: 1, current: true },
        { buildId: 'build-2', workers: 1, current: false },
      ]);
      const human = await runNanoflux(['status', 'by-build'], env);
      expect(human.stdout).toContain('workers 1 of build build-1 (current) · 1 of build build-2 (another build: waits while the current build has workers)');
      // The same from the deployment's side, without a run: what `temporal workflow start --task-queue` needs, and who serves it.
      const queues = await runNanoflux(['queues', '--json'], { ...env, NANOFLUX_TASK_QUEUE_PREFIX: 'versioned', NANOFLUX_BUILD_ID: 'build-2' });
      expect(JSON.parse(queues.stdout)).toMatchObject({ prefix: 'versioned', queues: { main: 'versioned', llm: 'versioned-llm', train: 'versioned-train' }, build: 'build-2', workers: { current: 'build-1' } });

      expect((await h.result()).status.domains.math?.accepted).toBeGreaterThanOrEqual(3);
      expect(pidsOf(await servedBy(tc, h.workflowId))).toEqual(new Set([v1.pid]));
      expect(v2.exitCode).toBeNull();
    } finally {
      await Promise.all(workers.splice(0).map(killHard));
    }
  }, 180_000);
});
