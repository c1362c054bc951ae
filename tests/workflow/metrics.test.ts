import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-metrics';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Sum of a metric's samples (Prometheus text format) whose labels include every pair given. */
function sum(text: string, name: string, labels: Record<string, string>): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).at(-1)), 0);
}

/**
 * A worker process with NANOFLUX_METRICS_ADDR serves Prometheus metrics: the SDK's own and
 * NanoFlux's episode, token and cost counters, equal to what the run's status says.
 */
describe('worker metrics at /metrics', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  let worker: ChildProcess | undefined;
  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('counts episodes by outcome, tokens and cost by role as the status does, beside the SDK\'s own metrics', async () => {
    const port = await freePort();
    worker = startWorkerProcess(NS, tempHome(), { NANOFLUX_METRICS_ADDR: `127.0.0.1:${port}` });
    try {
      scriptGame(server);
      const base = testConfig(server.baseURL, 'metered');
      const price = { inputPerMillion: 2, outputPerMillion: 8 };
      const config = { ...base, models: { ...base.models, a: { ...base.models.a, price }, b: { ...base.models.b, price }, judge: { ...base.models.judge, price } } };
      const result = await tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('metered'), args: [config] });
      const st = result.status;
      const url = `http://127.0.0.1:${port}/metrics`;
      let text = '';
      // The exporter reads the meters when scraped; the last episode's counters land with its task's completion.
      await waitFor(async () => sum((text = await (await fetch(url)).text()), 'nanoflux_episodes', { run: 'metered' }) === st.episodes, 30_000).catch((e) => {
        console.log([...new Set(text.split('\n').filter((l) => l.startsWith('nanoflux') || l.startsWith('temporal_workflow')).map((l) => l.slice(0, 160)))].join('\n'));
        throw e;
      });
      expect(sum(text, 'nanoflux_episodes', { run: 'metered', outcome: 'accepted' })).toBe(st.accepted);
      for (const role of ['attacker', 'defender', 'judge', 'embedding'] as const) {
        expect(sum(text, 'nanoflux_tokens', { run: 'metered', role }), role).toBe(st.tokens[role]);
      }
      expect(sum(text, 'nanoflux_cost_microusd', { run: 'metered' }) / 1e6).toBeCloseTo(st.cost.total, 4);
      expect(sum(text, 'nanoflux_model_call_latency_count', { role: 'judge' })).toBeGreaterThanOrEqual(st.episodes - (st.domains.math?.rejected.duplicate ?? 0));
      // The SDK's own, from the same exporter.
      expect(text).toMatch(/^temporal_workflow_completed/m);
      expect(text).not.toContain('test-key-value');
    } finally {
      if (worker) await killHard(worker);
      worker = undefined;
    }
  }, 120_000);
});
