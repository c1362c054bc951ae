import { NativeConnection } from '@temporalio/worker';
import { join } from 'node:path';
import { readEnv, type NanofluxEnv } from '../../common/env.js';
import type { RunConfig } from '../../common/config.js';
import { buildActivityDeps } from '../../activities/deps.js';
import { createWorkers, registerSearchAttributes } from '../../workers/create-workers.js';
import { installLogging } from '../../workers/logger.js';
import { statusQuery, type RunStatus } from '../../workflows/messages.js';
import type { Client } from '@temporalio/client';
import { SA } from '../../common/search-attributes.js';
import { connectClient, listWorkflows, startRun, uiLinks } from './client.js';
import { acceptedLines, calibrationLines, failedLine, honestyLine, nothingAcceptedLine, rejectionLine, verificationLine } from './demo-summary.js';
import { startDevServer, waitForServer } from './dev-server.js';

export interface DemoOutcome {
  status: RunStatus;
  /** False when something really failed (a stage, or every episode). */
  ok: boolean;
}

/**
 * What `npm run demo` and `npm run demo:paper` share: starts the dev server (left running, so the
 * web UI link works afterwards) when none answers, runs a worker in this process, launches the
 * config under a fresh run id, shows progress, and ends with what a reader needs to trust or
 * distrust the result: the Judge's calibration, rejections by reason, the executed check's
 * tallies and each accepted example beside what its program printed.
 */
export async function runDemo(raw: unknown, cfg: RunConfig): Promise<DemoOutcome> {
  const env = readEnv();
  // Errors only, from the SDK's native side too: its warnings (slow workflow tasks on a busy CPU) would bury the demo's own lines.
  installLogging({ level: 'ERROR', debug: env.debug });
  const serverPid = await ensureServer(env);
  await registerSearchAttributes(env.temporalAddress, env.temporalNamespace);

  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const deps = buildActivityDeps(env);
  const workers = await createWorkers({ connection, namespace: env.temporalNamespace, deps, llmConcurrency: 2 });
  const running = workers.run();

  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const runId = `${cfg.runId}-${stamp}`;
  const { client, close } = await connectClient(env);
  const started = Date.now();
  const playedBy = describePlayers(cfg);
  try {
    const handle = await startRun(client, { ...(raw as object), runId }, { ...cfg, runId });
    const links = uiLinks(env, runId);
    console.log(`[demo] run ${runId} started (${playedBy}): ${links.run}`);
    const status = await follow(() => handle.query(statusQuery), () => handle.result(), () => variantsLine(client, runId));
    const ok = report(status, cfg, deps.ledger.episodes(runId), playedBy);
    console.log(`[demo] episodes of this run in the web UI: ${links.list}`);
    console.log(`[demo] took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
    if (serverPid !== undefined) console.log(`[demo] the Temporal dev server this demo started stays up for the web UI (pid ${serverPid}); stop it with \`kill ${serverPid}\``);
    return { status, ok };
  } finally {
    await close();
    workers.shutdown();
    await running;
    await deps.close();
    await connection.close();
  }
}

/** The pid of the dev server it started, if it had to start one. */
async function ensureServer(env: NanofluxEnv): Promise<number | undefined> {
  try {
    await waitForServer(env.temporalAddress, 1500);
    return undefined;
  } catch {
    if (env.given.has('TEMPORAL_ADDRESS')) throw new Error(`no Temporal server answers at ${env.temporalAddress}`);
    console.log(`[demo] starting the Temporal dev server (data in ${env.home}, web UI http://localhost:8233)`);
    const server = await startDevServer({ port: 7233, uiPort: 8233, dbFile: join(env.home, 'temporal.sqlite'), logFile: join(env.home, 'temporal.log'), detached: true });
    return server.process.pid;
  }
}

/**
 * The fine-tune/evaluate stage's progress, from the variant workflows' search attributes (the run's
 * status has each variant only once all are done): those finished, and each running one's step.
 */
async function variantsLine(client: Client, runId: string): Promise<string> {
  const all = await listWorkflows(client, `${SA.runId.name}="${runId}" AND ${SA.kind.name}="variant"`);
  const name = (w: (typeof all)[number]) => w.workflowId.slice(w.workflowId.lastIndexOf('/variant-') + '/variant-'.length);
  const running = all.filter((w) => w.status.name === 'RUNNING').map((w) => `${name(w)} ${w.typedSearchAttributes.get(SA.stage) ?? ''}`.trim());
  return `${all.length - running.length} variants fine-tuned and evaluated${running.length ? `; now ${running.sort().join(', ')}` : ''}`;
}

/** Prints progress every 2 s (and once why the run paused) until the run ends; returns its final status. */
async function follow(query: () => Promise<RunStatus>, result: () => Promise<{ status: RunStatus }>, stages: () => Promise<string>): Promise<RunStatus> {
  let last = '';
  let pauseSaid = '';
  const timer = setInterval(() => {
    query().then(async (s) => {
      const line = s.stage === 'training' ? `training — ${await stages().catch(() => 'fine-tunes and evaluations in progress')}` : progressLine(s);
      if (line !== last) console.log(`[demo] ${line}`);
      last = line;
      const preflight = s.pausedBy?.preflight?.length ? `preflight found ${s.pausedBy.preflight.join(' | ')}; fix it, then \`npx nanoflux resume ${s.runId}\` checks again` : undefined;
      const why = s.pausedBy?.calibration ?? preflight ?? (s.pausedBy?.budget ? `the token budget is spent (${s.pausedBy.budget.used} of ${s.pausedBy.budget.limit}); \`npx nanoflux set-budget ${s.runId} --max-tokens <more>\` goes on` : '');
      if (why && why !== pauseSaid) console.log(`[demo] paused: ${why}`);
      pauseSaid = why;
    }, () => undefined);
  }, 2000);
  try {
    return (await result()).status;
  } finally {
    clearInterval(timer);
  }
}

/** The closing summary; false when something really failed (a stage, or every episode). */
function report(s: RunStatus, cfg: RunConfig, records: Parameters<typeof acceptedLines>[0], playedBy: string): boolean {
  const say = (line: string) => console.log(`[demo] ${line}`);
  say(progressLine(s));
  const onFail = cfg.judge.calibration === false ? undefined : cfg.judge.calibration.onFail;
  calibrationLines(s, onFail).forEach(say);
  say(rejectionLine(s));
  const failed = failedLine(records);
  if (failed) say(failed);
  say(verificationLine(s));
  const accepted = acceptedLines(records);
  if (s.accepted > 0) {
    say(`accepted examples (${s.accepted}), each with what its program printed:`);
    accepted.forEach((l) => console.log(l));
    say(`dataset: ${s.dataset?.path} (${s.dataset?.examples ?? 0} examples)`);
  } else {
    say(nothingAcceptedLine(s));
  }
  for (const v of s.variants ?? []) {
    say(`${v.domain}/${v.variant}: ${v.error ? `failed: ${v.error}` : v.accuracy === null ? 'not evaluated' : `${(v.accuracy * 100).toFixed(1)}% of ${v.n} items`}`);
  }
  if (s.report) say(`report: ${s.report}`);
  const embedded = [cfg.models.a, cfg.models.b, cfg.models.judge].every((m) => m.provider === 'local' && m.model === 'smollm2-135m');
  say(honestyLine(playedBy, embedded, s.accepted));

  // Every episode failing, and not only for answers that never fit their schema (a tiny model's own
  // failing), is a broken setup: an endpoint that refuses every call, a sandbox that never starts.
  if (records.length > 0 && records.every((r) => r.summary.outcome === 'failed') && records.some((r) => !r.summary.error?.startsWith('ModelOutputInvalid'))) {
    say('FAILED: every episode failed');
    return false;
  }
  for (const f of s.failedDomains ?? []) say(`FAILED: domain ${f.domain}: ${f.error}`);
  if (s.failedDomains?.length) return false;
  return !(s.variants ?? []).some((v) => v.error);
}

function describePlayers(cfg: RunConfig): string {
  const names = [...new Set([cfg.models.a, cfg.models.b, cfg.models.judge].map((m) => (m.provider === 'local' ? `${m.model} (in-process)` : `${m.model} at ${m.baseURL ?? 'the OpenAI API'}`)))];
  return names.join(', ');
}

function progressLine(s: RunStatus): string {
  if (s.stage === 'preflight') return 'preflight: checking each model, the benchmark files and the sandbox before any episode';
  if (s.stage === 'calibrating') return 'calibrating the Judge on its labelled items before any episode (one Judge call each: minutes on CPU, cached for the next run)';
  const d = Object.values(s.domains)
    .map((x) => `${x.domain}: ${x.accepted} accepted / ${x.episodesFinished} episodes (${Object.entries(x.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'no rejections'})`)
    .join('; ');
  return `${s.stage} — ${d || 'starting'} — tokens ${s.tokens.total}`;
}
