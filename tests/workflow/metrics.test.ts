import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptCalibrationJudges } from '../support/calibration-judges.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';
import { freePort } from '../support/http.js';

const NS = 'wf-metrics';

/** Sum of a metric's samples (Prometheus text format) whose labels include every pair given. */
function sum(text: string, name: string, labels: Record<string, string>): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).at(-1)), 0);
}

/** Prometheus scraping the worker every second, its data in a fresh directory. */
function startPrometheus(target: number, listen: number): ChildProcess {
  let bin: string;
  try {
    bin = execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('prometheus not found on PATH: `npm test` installs it (node scripts/bootstrap.mjs --trainer runs apt-get as root); or `sudo apt-get install prometheus`');
  }
  const dir = mkdtempSync(join(tmpdir(), 'nanoflux-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nanoflux\n    static_configs:\n      - targets: ['127.0.0.1:${target}']\n`);
  return spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${listen}`], { stdio: 'ignore' });
}

/**
 * A worker process with NANOFLUX_METRICS_ADDR serves Prometheus metrics: the SDK's own and
 * NanoFlux's episode, token and cost counters, equal to what the run's status says, and a real
 * Prometheus scraping it finds them.
 */
describe('worker metrics at /metrics', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  let worker: ChildProcess | undefined;
  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('counts episodes by outcome, tokens and cost by role as the status does, beside the SDK\'s own metrics', async () => {
    const port = await freePort();
    const promPort = await freePort();
    worker = startWorkerProcess(NS, tempHome(), { NANOFLUX_METRICS_ADDR: `127.0.0.1:${port}` });
    const prometheus = startPrometheus(port, promPort);
    try {
      scriptGame(server);
      // A Judge that answers its calibration set right (the agreement gauges).
      scriptCalibrationJudges(server, { 'judge-right': 'right' });
      // One failed call (a 500, retried by Temporal), a client-side rate limit on model A, and model B at
      // the batch tier: every metric the dashboard reads has samples.
      server.enqueue('attacker', { status: 500, message: 'scripted outage' });
      const base = testConfig(server.baseURL, 'metered', {
        domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: ['rates'], benchmark: 'none', pack: 'none', evaluation: { benchmark: 'gsm8k' } }],
        judge: { calibration: { items: 6, minAgreement: 0.5, onFail: 'pause' } },
      });
      const price = { inputPerMillion: 2, outputPerMillion: 8 };
      const config = {
        ...base,
        models: {
          ...base.models,
          a: { ...base.models.a, price, requestsPerMinute: 6000 },
          b: { ...base.models.b, price, tier: 'batch' as const, batch: { maxWaitSeconds: 0.3, pollSeconds: 0.2 } },
          judge: { ...base.models.judge, model: 'judge-right', price },
        },
      };
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
      // By tier: model B's calls went in batch jobs; the 500 by its endpoint; the novelty searches; the Judge's calibration.
      expect(sum(text, 'nanoflux_tokens', { run: 'metered', tier: 'batch' })).toBeGreaterThan(0);
      expect(sum(text, 'nanoflux_tokens', { run: 'metered', tier: 'standard', role: 'judge' })).toBe(st.tokens.judge);
      expect(sum(text, 'nanoflux_model_call_failures', { endpoint: new URL(server.baseURL).host })).toBeGreaterThanOrEqual(1);
      expect(sum(text, 'nanoflux_novelty_search_latency_count', { domain: 'math' })).toBeGreaterThanOrEqual(st.episodes);
      expect(sum(text, 'nanoflux_judge_calibration_agreement', { domain: 'math', model: 'judge-right', field: 'referenceCorrect' })).toBeGreaterThanOrEqual(0.5);
      // The batch gauges are read from the ledger every few seconds; after the run, nothing is pending.
      await waitFor(async () => /^nanoflux_batch_jobs_pending\{/m.test((text = await (await fetch(url)).text())), 30_000);
      expect(sum(text, 'nanoflux_batch_jobs_pending', { model: 'model-b' })).toBe(0);
      // The SDK's own, from the same exporter.
      expect(text).toMatch(/^temporal_workflow_completed/m);
      expect(text).not.toContain('test-key-value');

      // A real Prometheus (Debian's, installed by the bootstrap) scraping the worker finds the same.
      const query = async (q: string) => {
        const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data?: { result?: { value: [number, string] }[] } };
        return Number(r.data?.result?.[0]?.value[1] ?? NaN);
      };
      // Until a scrape after the last episode has landed.
      await waitFor(async () => (await query('sum(nanoflux_episodes{run="metered"})')) === st.episodes, 60_000);
      expect(await query('sum(nanoflux_episodes{run="metered",outcome="accepted"})')).toBe(st.accepted);
      expect(await query('sum(nanoflux_tokens{run="metered",role="judge"})')).toBe(st.tokens.judge);

      // The Grafana dashboard (deploy/grafana/nanoflux.json): every panel's query is valid PromQL that
      // Prometheus answers, and every metric it reads is one the worker serves.
      const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'grafana', 'nanoflux.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      for (const panel of dashboard.panels) {
        for (const { expr } of panel.targets) {
          const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string };
          expect(r.status, `${panel.title}: ${r.error ?? ''}`).toBe('success');
          for (const [, name] of expr.matchAll(/\b((?:nanoflux|temporal)_[a-z_]+?)(?:_bucket)?\b/g)) expect(text, `${panel.title} reads ${name}`).toMatch(new RegExp(`^${name}(_bucket)?[{ ]`, 'm'));
        }
      }
    } finally {
      if (worker) await killHard(worker);
      worker = undefined;
      await killHard(prometheus);
    }
  }, 180_000);
});
