/**
 * Throughput against worker count (issue 15, item 4): the same run with 1, 2 and 4 worker processes
 * (the real `npm run worker` entry, each with its own data dir, as separate hosts would have), against
 * the scripted OpenAI-compatible server at `--latency` ms per model call. Each worker keeps
 * `--slots` model calls in flight (NANOFLUX_LLM_CONCURRENCY); the domain keeps enough episodes in
 * flight for every slot of the largest set, so a run is bound by the workers' slots, not by the
 * server: the I/O-bound case that more workers should speed up. One worker process owns each run's
 * store (workflows/run.ts, store ownership); the model calls spread over all of them.
 *
 * Reported: wall time and episodes/s per worker count, and each count's throughput ÷ one worker's.
 * Target: 2 workers ≥ 1.8× one.
 *
 * Usage: npx tsx bench/worker-scale.ts [--episodes 48] [--latency 2000] [--slots 4] [--workers 1,2,4]
 *        [--out bench/results/worker-scale.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../common/env.js';
import { TaskQueue } from '../common/task-queues.js';
import { runWorkflowId } from '../workflows/logic/ids.js';
import type { nanofluxRun } from '../workflows/run.js';
import { scriptGame } from '../tests/support/game-script.js';
import { arg, benchConfig, benchHome, startBenchEnv } from './lib/harness.js';
import { pollersReady, startWorker, stop } from './lib/worker-processes.js';

const episodes = Number(arg('episodes', '48'));
const latency = Number(arg('latency', '2000'));
const slots = Number(arg('slots', '4'));
const counts = arg('workers', '1,2,4').split(',').map(Number);
const outPath = resolve(PROJECT_ROOT, arg('out', 'bench/results/worker-scale.json'));

async function main(): Promise<void> {
  const env = await startBenchEnv();
  scriptGame(env.llm, { delayMs: latency, defenderRight: (_q, n) => n % 2 === 0 });
  const connection = await Connection.connect({ address: env.server.address });
  const client = new Client({ connection, namespace: 'default' });
  const rows: { workers: number; wallSeconds: number; episodes: number; perSecond: number }[] = [];
  try {
    for (const n of counts) {
      const ws = Array.from({ length: n }, () => startWorker(env.server.address, benchHome(), { NANOFLUX_LLM_CONCURRENCY: String(slots) }));
      try {
        await pollersReady(client, n);
        const runId = `scale-${n}-${Date.now()}`;
        // Every slot of the largest worker set busy: one model call in flight per episode at a time.
        const config = benchConfig(env.llm.baseURL, runId, { generation: { targetAccepted: episodes, maxEpisodes: episodes, concurrency: slots * Math.max(...counts), noveltyThreshold: 1 } });
        const t0 = performance.now();
        const result = await client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(runId), args: [config] });
        const wallSeconds = (performance.now() - t0) / 1000;
        const done = result.status.episodes;
        rows.push({ workers: n, wallSeconds, episodes: done, perSecond: done / wallSeconds });
        console.log(`${n} worker(s): ${done} episodes in ${wallSeconds.toFixed(1)} s = ${(done / wallSeconds).toFixed(3)} episodes/s`);
      } finally {
        await stop(ws);
      }
    }
  } finally {
    await connection.close();
    await env.close();
  }
  const one = rows.find((r) => r.workers === 1);
  const report = {
    measuredAt: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
    settings: { episodes, latencyMs: latency, slotsPerWorker: slots, concurrency: slots * Math.max(...counts) },
    rows: rows.map((r) => ({ ...r, ratioToOne: one ? r.perSecond / one.perSecond : null })),
  };
  for (const r of report.rows) console.log(`${r.workers} worker(s): ${r.ratioToOne?.toFixed(2) ?? '?'}× one worker`);
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
