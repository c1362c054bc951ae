import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { killHard, startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { freePort, startOtlpSink } from '../support/http.js';
import { runNanoflux } from '../support/run-command.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-secrets';
/** A fake key with a recognisable body: if any byte sequence of it leaks, the search below finds it. */
const KEY = ['sk', 'nanoflux', 'fake', '7f3c9e21d4b8a6f0e5c2b1a9d8e7f6c5'].join('-');
const KEY_BODY = KEY.slice(3);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('secrets stay out of histories, logs, exports, reports, metrics and traces', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  let worker: ChildProcess | undefined;
  const home = tempHome();
  let logs = '';

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it('a run with a known fake key, a provider error that echoes it, fine-tune and evaluation: the key appears nowhere', async () => {
    scriptGame(server, { other: () => ({ content: 'Answer: 18' }) });
    const game = server.requests.length;
    // The first judge call fails with a 500 whose body quotes the Authorization header, as some proxies do.
    server.enqueue('judge', { status: 500, message: `upstream rejected Authorization: Bearer ${KEY}` });
    const dir = mkdtempSync(join(tmpdir(), 'nanoflux-secrets-'));
    const trainer = join(dir, 'trainer.sh');
    writeFileSync(trainer, `#!/bin/sh\nmkdir -p "$1"\necho '{}' > "$1/adapter_config.json"\n`, { mode: 0o755 });
    const model = (name: string) => ({ provider: 'openai' as const, model: name, baseURL: server.baseURL, apiKeyEnv: 'NANOFLUX_SECRET_KEY' });
    const config = testConfig(server.baseURL, 'secrets', {
      models: { a: model('model-a'), b: model('model-b'), judge: model('judge'), embedding: model('embed') },
      domains: [{ name: 'math', brief: 'b', topics: ['t'], benchmark: 'gsm8k' }],
      generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 },
      finetune: { backend: 'command', baseModel: 'student', command: [trainer, '{out}'] },
      evaluate: { via: 'endpoint', limit: 4, endpoint: { baseURL: server.baseURL, apiKeyEnv: 'NANOFLUX_SECRET_KEY', models: { tuned: 'served-tuned' } } },
    });
    // The worker serves metrics and exports traces over OTLP/HTTP to a collector here, which keeps what it is sent.
    const metricsPort = await freePort();
    const otlp = await startOtlpSink();
    onTestFinished(() => otlp.close());
    const telemetry = { NANOFLUX_METRICS_ADDR: `127.0.0.1:${metricsPort}`, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    worker = startWorkerProcess(NS, home, { NANOFLUX_SECRET_KEY: KEY, NANOFLUX_LOG_LEVEL: 'DEBUG', ...telemetry }, (t) => (logs += t));
    const result = await tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('secrets'), args: [config] });
    expect(result.status.stage).toBe('done');
    expect(result.status.report).toBeTruthy();

    // The key was really in use: every model, embedding and evaluation request carried it.
    const used = server.requests.slice(game);
    expect(used.length).toBeGreaterThan(10);
    expect(used.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);

    // Every history of every workflow in the namespace: the run, loops, episodes, stages, variants.
    let histories = '';
    let count = 0;
    for await (const w of tc.client.workflow.list({ query: 'NanofluxRunId="secrets"' })) {
      const h = await tc.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      histories += JSON.stringify(h, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
      count++;
    }
    expect(count).toBeGreaterThan(5);
    // The echoed error did reach a history (redacted), so the search below looked at the right place.
    expect(histories).toContain('Bearer [redacted]');
    expect(histories).not.toContain(KEY_BODY);

    // Every file the run wrote: datasets, dataset card, ledger, vector store, stage files, report, plots.
    const files = filesUnder(home);
    expect(files.some((f) => f.endsWith('report.md'))).toBe(true);
    for (const f of files) expect(readFileSync(f).includes(Buffer.from(KEY_BODY)), f).toBe(false);

    // Its metrics and the spans it exported (batched every few seconds: until the Judge's failed call's have come).
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^nanoflux_tokens\{/m);
    expect(metrics).not.toContain(KEY_BODY);
    await waitFor(async () => otlp.bodies().includes('nanoflux.judge') && otlp.bodies().includes('RunWorkflow:episodeWorkflow') && otlp.bodies().includes('Bearer [redacted]'), 30_000);
    expect(otlp.bodies()).not.toContain(KEY_BODY);
    // The CLI traces too when told (its query's span, flushed before it exits), and sends no key either.
    // Spawned asynchronously: the collector lives in this process and must answer while the CLI flushes.
    const status = await runNanoflux(['status', 'secrets', '--json'], { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: home, NANOFLUX_SECRET_KEY: KEY, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }, 60_000);
    expect(status.status, status.stderr).toBe(0);
    expect(otlp.bodies()).toContain('"nanoflux-cli"');
    expect(otlp.bodies()).not.toContain(KEY_BODY);

    // The worker's own log at DEBUG, and what the CLI prints.
    await killHard(worker);
    worker = undefined;
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(KEY_BODY);
    const cli = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs'), 'export', 'secrets', '--format', 'openai,sharegpt,alpaca,hf', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: home, NANOFLUX_SECRET_KEY: KEY },
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout + cli.stderr).not.toContain(KEY_BODY);
    for (const f of filesUnder(home)) expect(readFileSync(f).includes(Buffer.from(KEY_BODY)), f).toBe(false);
  }, 180_000);
});
