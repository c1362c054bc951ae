/**
 * What telemetry costs (issue 17): the same run through the real `npm run worker` entry in its own
 * process, with telemetry off (no NANOFLUX_METRICS_ADDR, no OTEL_EXPORTER_OTLP_ENDPOINT: no
 * interceptors bundled, every NanoFlux span a no-op) and on (both set: Prometheus metrics served and
 * scraped every second, every span of Temporal's interceptors and NanoFlux's exported over OTLP/HTTP
 * to a collector on loopback), against the scripted OpenAI-compatible server at `--latency` ms per
 * model call. Each round runs both arms back to back, a fresh worker process each, the order
 * alternating, after one run not counted (a fresh dev server's first is slower); timed from the run's
 * start to its result (the worker's start and bundling are not).
 *
 * Reported: throughput on ÷ off, over the totals of all rounds, each round's for the spread.
 * Target: ≥ 0.97 at 200 ms per call (telemetry on costs ≤ 3%).
 *
 * Usage: npm run bench:telemetry -- [--episodes 60] [--latency 0,200] [--concurrency 4] [--rounds 3] [--on metrics,traces]
 *        [--out bench/results/telemetry.json]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../common/env.js';
import { TaskQueue } from '../common/task-queues.js';
import { runWorkflowId } from '../workflows/logic/ids.js';
import type { nanofluxRun } from '../workflows/run.js';
import { scriptGame } from '../tests/support/game-script.js';
import { freePort, startOtlpSink } from '../tests/support/http.js';
import { inChildSpan } from '../activities/kit/tracing.js';
import { arg, benchConfig, type BenchEnv, startBenchEnv } from './lib/harness.js';
import { pollersReady, startWorker, stop } from './lib/worker-processes.js';

const episodes = Number(arg('episodes', '60'));
const latencies = arg('latency', '0,200').split(',').map(Number);
const concurrency = Number(arg('concurrency', '4'));
const rounds = Number(arg('rounds', '3'));
const outPath = resolve(PROJECT_ROOT, arg('out', 'bench/results/telemetry.json'));
/** What "on" turns on: both by default; one alone tells which costs what. */
const onParts = new Set(arg('on', 'metrics,traces').split(','));

type Arm = 'off' | 'on';

/** One run in a fresh worker process; the wall time from start to result, and what telemetry received. */
async function runOnce(env: BenchEnv, client: Client, arm: Arm, runId: string, otlp: { url: string; bodies(): string }): Promise<{ ms: number; scrapes: number }> {
  const metricsPort = await freePort();
  const telemetry = arm === 'off' ? {} : { ...(onParts.has('metrics') ? { NANOFLUX_METRICS_ADDR: `127.0.0.1:${metricsPort}` } : {}), ...(onParts.has('traces') ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url } : {}) };
  const worker = startWorker(env.server.address, mkdtempSync(join(tmpdir(), 'nf-bench-')), { NANOFLUX_LLM_CONCURRENCY: String(Math.max(8, concurrency)), ...telemetry });
  let scrapes = 0;
  let scraping: NodeJS.Timeout | undefined;
  try {
    await pollersReady(client, 1, [worker.pid!]);
    // As Prometheus would, only more often: every second.
    if (arm === 'on' && onParts.has('metrics')) scraping = setInterval(() => void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).then(() => scrapes++, () => undefined), 1000);
    // targetAccepted above maxEpisodes: every run plays exactly `episodes` episodes.
    const config = benchConfig(env.llm.baseURL, runId, { generation: { targetAccepted: episodes + 1, maxEpisodes: episodes, concurrency } });
    const t0 = performance.now();
    await client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(runId), args: [config] });
    return { ms: performance.now() - t0, scrapes };
  } finally {
    clearInterval(scraping);
    await stop([worker]);
  }
}

/**
 * Telemetry off, measured where it can cost anything at all: NanoFlux's spans are then the
 * OpenTelemetry API's no-ops (Temporal's interceptors are not even loaded). Per span, the wrapper's
 * time against the bare call, in this process (which installs no tracer).
 */
async function noopSpanCostNs(n = 200_000): Promise<number> {
  const bare = async () => 1;
  const time = async (f: () => Promise<number>) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await f();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const wrapped = () => inChildSpan('chat model', 'client', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'model' }, bare);
  await time(bare);
  await time(wrapped); // warm both
  const samples = [];
  for (let r = 0; r < 5; r++) samples.push((await time(wrapped)) - (await time(bare)));
  return samples.sort((a, b) => a - b)[2]!;
}

async function main(): Promise<void> {
  const noopNs = await noopSpanCostNs();
  const env = await startBenchEnv();
  const otlp = await startOtlpSink();
  const connection = await Connection.connect({ address: env.server.address });
  const client = new Client({ connection, namespace: 'default' });
  const rows: { latencyMs: number; rounds: { offMs: number; onMs: number; ratio: number; onFirst: boolean; scrapes: number }[]; ratio: number; offMsPerEpisode: number; onMsPerEpisode: number }[] = [];
  const load = [loadavg()[0]!];
  try {
    // Not counted: the first run on a fresh dev server is slower (its caches, the namespace's first workflows).
    scriptGame(env.llm, { delayMs: 0 });
    await runOnce(env, client, 'off', `telemetry-warm-up-${Date.now()}`, otlp);
    for (const latency of latencies) {
      scriptGame(env.llm, { delayMs: latency });
      const row: (typeof rows)[number] = { latencyMs: latency, rounds: [], ratio: 0, offMsPerEpisode: 0, onMsPerEpisode: 0 };
      for (let r = 0; r < rounds; r++) {
        const onFirst = r % 2 === 1;
        const t = { off: 0, on: 0, scrapes: 0 };
        for (const arm of (onFirst ? ['on', 'off'] : ['off', 'on']) as Arm[]) {
          const done = await runOnce(env, client, arm, `telemetry-${arm}-${latency}-${r}-${Date.now()}`, otlp);
          t[arm] = done.ms;
          if (arm === 'on') t.scrapes = done.scrapes;
        }
        row.rounds.push({ offMs: t.off, onMs: t.on, ratio: t.off / t.on, onFirst, scrapes: t.scrapes });
        load.push(loadavg()[0]!);
        console.log(`${latency} ms, round ${r + 1}: off ${(t.off / 1000).toFixed(1)} s, on ${(t.on / 1000).toFixed(1)} s (${t.scrapes} scrapes) → ${(t.off / t.on).toFixed(3)}`);
      }
      const off = row.rounds.reduce((n, x) => n + x.offMs, 0);
      const on = row.rounds.reduce((n, x) => n + x.onMs, 0);
      Object.assign(row, { ratio: off / on, offMsPerEpisode: off / (episodes * rounds), onMsPerEpisode: on / (episodes * rounds) });
      rows.push(row);
    }
  } finally {
    await connection.close();
    await otlp.close();
    await env.close();
  }
  // The collector must have been sent spans of every kind, or "on" measured less than it claims.
  const sent = otlp.bodies();
  const kinds = ['RunWorkflow:episodeWorkflow', 'RunActivity:judge', 'nanoflux.judge', 'chat model-a'].filter((k) => !sent.includes(k));
  if (onParts.has('traces') && kinds.length > 0) throw new Error(`telemetry on sent no ${kinds.join(', ')} spans: the measurement is void`);
  // NanoFlux's own spans per episode (what the no-op costs are paid on when off), counted in what "on" sent.
  const ownSpans = (sent.match(/"name":"(nanoflux\.|chat |execute_tool )/g) ?? []).length;
  const spansPerEpisode = onParts.has('traces') ? ownSpans / (episodes * rounds * latencies.length) : NaN;
  const off = { noopSpanNs: noopNs, spansPerEpisode, msPerEpisode: (noopNs * spansPerEpisode) / 1e6 };
  console.log(`telemetry off: a no-op span costs ${noopNs.toFixed(0)} ns; ${spansPerEpisode.toFixed(1)} of them an episode = ${off.msPerEpisode.toFixed(4)} ms an episode`);
  const report = { measuredAt: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: load }, settings: { episodes, concurrency, rounds, on: [...onParts] }, otlpBytes: sent.length, off, rows };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
  console.log(`load average (1 min): ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}; ${(sent.length / 1e6).toFixed(1)} MB of OTLP sent; results in ${outPath}`);
  console.log('| model latency | episodes × rounds | concurrency | off ms/episode | on ms/episode | throughput on ÷ off | per round |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.latencyMs} ms | ${episodes} × ${rounds} | ${concurrency} | ${r.offMsPerEpisode.toFixed(1)} | ${r.onMsPerEpisode.toFixed(1)} | **${r.ratio.toFixed(3)}** | ${r.rounds.map((x) => x.ratio.toFixed(2)).join(', ')} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
