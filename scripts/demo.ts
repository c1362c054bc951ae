import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { join } from 'node:path';
import { PROJECT_ROOT, readEnv } from '../common/env.js';
import { buildActivityDeps } from '../activities/deps.js';
import { createWorkers, registerSearchAttributes } from '../workers/create-workers.js';
import { statusQuery, type RunStatus } from '../workflows/messages.js';
import { connectClient, loadRunConfig, startRun, uiLinks } from './lib/client.js';
import { startDevServer, waitForServer } from './lib/dev-server.js';

/**
 * `npm run demo`: a real adversarial run, offline, on the embedded model. Starts the dev server
 * (left running, so the web UI link works afterwards) when none answers, runs a worker in this
 * process, launches configs/demo.json under a fresh run id, shows progress, prints the dataset.
 */
async function main(): Promise<void> {
  const env = readEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  try {
    await waitForServer(env.temporalAddress, 1500);
  } catch {
    if (env.given.has('TEMPORAL_ADDRESS')) throw new Error(`no Temporal server answers at ${env.temporalAddress}`);
    console.log(`[demo] starting the Temporal dev server (data in ${env.home}, web UI http://localhost:8233)`);
    await startDevServer({ port: 7233, uiPort: 8233, dbFile: join(env.home, 'temporal.sqlite'), logFile: join(env.home, 'temporal.log'), detached: true });
  }
  await registerSearchAttributes(env.temporalAddress, env.temporalNamespace);

  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const deps = buildActivityDeps(env);
  const workers = await createWorkers({ connection, namespace: env.temporalNamespace, deps, llmConcurrency: 2 });
  const running = Promise.all(workers.map((w) => w.run()));

  const configPath = process.argv[2] ?? join(PROJECT_ROOT, 'configs', 'demo.json');
  const cfg = loadRunConfig(configPath);
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const runId = `${cfg.runId}-${stamp}`;
  const raw = { ...(cfg.raw as object), runId };
  const { client, close } = await connectClient(env);
  const handle = await startRun(client, raw, { ...cfg, runId });
  const links = uiLinks(env, runId);
  console.log(`[demo] run ${runId} started: ${links.run}`);

  let last = '';
  const timer = setInterval(() => {
    handle.query(statusQuery).then((s: RunStatus) => {
      const line = progressLine(s);
      if (line !== last) console.log(`[demo] ${line}`);
      last = line;
    }, () => undefined);
  }, 2000);
  try {
    const result = await handle.result();
    const s = result.status;
    console.log(`[demo] ${progressLine(s)}`);
    console.log(`[demo] dataset: ${s.dataset?.path} (${s.dataset?.examples ?? 0} examples)`);
    console.log(`[demo] episodes of this run in the web UI: ${links.list}`);
    for (const v of s.variants ?? []) {
      console.log(`[demo] ${v.domain}/${v.variant}: ${v.error ? `failed: ${v.error}` : v.accuracy === null ? 'not evaluated' : `${(v.accuracy * 100).toFixed(1)}% of ${v.n} items`}`);
    }
    if (s.report) console.log(`[demo] report: ${s.report}`);
    if (!s.dataset?.examples || (s.variants ?? []).some((v) => v.error)) process.exitCode = 1;
  } finally {
    clearInterval(timer);
    await close();
    workers.forEach((w) => w.shutdown());
    await running;
    await deps.close();
    await connection.close();
  }
}

function progressLine(s: RunStatus): string {
  const d = Object.values(s.domains)
    .map((x) => `${x.domain}: ${x.accepted} accepted / ${x.episodesFinished} episodes (${Object.entries(x.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'no rejections'})`)
    .join('; ');
  return `${s.stage} — ${d || 'starting'} — tokens ${s.tokens.total}`;
}

main().catch((err) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
