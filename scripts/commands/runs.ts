import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { readEnv } from '../../common/env.js';
import { SA } from '../../common/search-attributes.js';
import { queuesOf } from '../../common/queues.js';
import { deploymentWorkers, type DeploymentWorkers, describeBuilds } from '../../workers/deployment.js';
import { type RunStatus, statusQuery } from '../../workflows/messages.js';
import { describeRun, fromWorker, listWorkflows, uiLinks, withClient } from '../lib/client.js';
import { hinted, UserError, withTimeout } from '../lib/errors.js';
import { count, renderStatus, table } from '../lib/format.js';
import { exitWith, out, positiveInt, positiveNumber } from '../lib/output.js';
import { watchLine } from '../lib/watch-line.js';

/** `list` and `status`: what runs there are, and how one stands. */
export function registerRunCommands(program: Command): void {
  program
    .command('list')
    .summary('the runs, newest first')
    .description('the runs on the server, newest first: run id, status, stage, accepted, started')
    .option('--limit <n>', 'show at most n runs', positiveInt, 20)
    .action(async (opts: { limit: number }, cmd: Command) => {
      const runs = await withClient((client) => listRuns(client, opts.limit));
      const human = runs.length
        ? table(
            ['RUN', 'STATUS', 'STAGE', 'ACCEPTED', 'STARTED'],
            runs.map((r) => [r.runId, r.status, r.stage ?? '–', r.accepted === null ? '–' : count(r.accepted), r.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z')]),
          )
        : `no runs on ${readEnv().temporalAddress} (namespace ${readEnv().temporalNamespace}); start one with \`nanoflux run --config <file>\``;
      out(cmd).print(human, { runs });
    });

  program
    .command('status')
    .summary("a run's progress (--watch to follow it)")
    .description('how a run stands: a progress bar per domain, rejections by reason, tokens and cost by role')
    .argument('<run>', 'the run id')
    .option('--watch', 'follow until the run ends (redrawn on a terminal, else one line per change; with --json one JSON line per change); exits 0 when it completed, 1 when it failed')
    .option('--interval <seconds>', 'seconds between redraws with --watch', positiveNumber, 2)
    .action(async (runId: string, opts: { watch?: boolean; interval: number }, cmd: Command) => {
      const o = out(cmd);
      if (!opts.watch && cmd.getOptionValueSource('interval') === 'cli') throw new UserError(hinted('--interval needs --watch', `try nanoflux status ${runId} --watch --interval ${opts.interval}`));
      const final = await withClient(async (client) => {
        if (!opts.watch) {
          const snap = await snapshot(client, runId, false);
          o.print(renderSnapshot(snap), snapshotJson(snap));
          return snap;
        }
        return await watch(client, runId, opts.interval, o.json);
      });
      if (final.workflowStatus !== 'RUNNING' && final.workflowStatus !== 'COMPLETED') {
        exitWith(1);
        // One line here: the full failure (every problem of an invalid config) is in the status above.
        console.error(`nanoflux: ${hinted(`run ${runId} ${final.workflowStatus.toLowerCase()}${final.failure ? `: ${final.failure.split('\n')[0]}` : ''}`, `its history is in the web UI: ${uiLinks(readEnv(), runId, final.workflowId).run}`)}`);
      }
    });
}

export interface RunRow {
  runId: string;
  workflowId: string;
  status: string;
  stage: string | null;
  accepted: number | null;
  startTime: string;
  closeTime: string | null;
}

async function listRuns(client: Client, limit: number): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  const running: Promise<void>[] = [];
  for (const w of await listWorkflows(client, `${SA.kind.name}="run"`, limit)) {
    const row: RunRow = {
      runId: w.typedSearchAttributes.get(SA.runId) ?? w.workflowId.replace(/^nanoflux-/, ''),
      workflowId: w.workflowId,
      status: w.status.name.toLowerCase(),
      stage: w.typedSearchAttributes.get(SA.stage) ?? null,
      accepted: w.typedSearchAttributes.get(SA.accepted) ?? null,
      startTime: w.startTime.toISOString(),
      closeTime: w.closeTime?.toISOString() ?? null,
    };
    rows.push(row);
    // A running run's count lives in its status (the search attribute is set when it exports); ask briefly.
    if (w.status.name === 'RUNNING') {
      running.push(
        withTimeout(client.workflow.getHandle(w.workflowId).query(statusQuery), 3000, () => new Error('timeout'))
          .then((s) => {
            row.accepted = s.accepted;
            row.stage = s.stage;
          })
          .catch(() => undefined),
      );
    }
  }
  await Promise.all(running);
  return rows.sort((a, b) => b.startTime.localeCompare(a.startTime));
}

export interface Snapshot {
  runId: string;
  /** The run's workflow id: nanoflux-<runId>, or whatever `temporal workflow start` was given. */
  workflowId?: string;
  workflowStatus: string;
  status?: RunStatus;
  failure?: string;
  /** Why there is no fresh status (no worker answered); the watch keeps going. */
  note?: string;
  /** A running run's workers by build (workers/deployment.ts): a worker of another build is shown as one that waits. */
  workers?: DeploymentWorkers;
}

/**
 * The run's status: a running run answers the `status` query; a completed one's result holds its
 * final status (no worker needed); a failed one gives its failure, and its status when a worker replays it.
 */
export async function snapshot(client: Client, runId: string, tolerant: boolean): Promise<Snapshot> {
  const { handle, description } = await describeRun(client, runId);
  const workflowStatus = description.status.name;
  const workflowId = handle.workflowId;
  if (workflowStatus === 'COMPLETED') {
    const result = await handle.result();
    return { runId, workflowId, workflowStatus, status: result.status };
  }
  if (workflowStatus === 'RUNNING') {
    // Who serves it: asked beside the query, and left out where the server cannot say (no worker deployments before Temporal 1.27).
    const workers = deploymentWorkers(client, client.options.namespace, queuesOf(description.taskQueue)).catch(() => undefined);
    try {
      const status = await fromWorker(handle.query(statusQuery), `the status query of run ${runId}`);
      return { runId, workflowId, workflowStatus, status, ...withWorkers(await workers) };
    } catch (e) {
      if (!tolerant) throw e;
      return { runId, workflowId, workflowStatus, note: (e as Error).message, ...withWorkers(await workers) };
    }
  }
  let failure: string | undefined;
  try {
    await handle.result();
  } catch (e) {
    failure = e instanceof WorkflowFailedError ? rootCause(e) : (e as Error).message;
  }
  // The whole message: an invalid config's failure lists every problem on its own line.
  const status = await withTimeout(handle.query(statusQuery), 5000, () => new Error('timeout')).catch(() => undefined);
  return { runId, workflowId, workflowStatus, ...(status ? { status } : {}), ...(failure ? { failure } : {}) };
}

/** The message that says what went wrong: the innermost cause (an activity's or child's own error), named by its activity. */
function rootCause(e: WorkflowFailedError): string {
  let err: Error | undefined = e.cause;
  let where = '';
  while (err && (err as { cause?: Error }).cause) {
    const activity = (err as { activityType?: string }).activityType;
    if (activity) where = `${activity}: `;
    err = (err as { cause?: Error }).cause;
  }
  return `${where}${err?.message ?? e.message}`;
}

const withWorkers = (w: DeploymentWorkers | undefined) => (w ? { workers: w } : {});

function renderSnapshot(s: Snapshot): string {
  const body = s.status ? renderStatus(s.status, { workflowStatus: s.workflowStatus, ...(s.failure ? { failure: s.failure } : {}) }) : `run ${s.runId}: ${s.workflowStatus.toLowerCase()}${s.failure ? ` — ${s.failure}` : ''}`;
  const workers = s.workers ? `\n  workers ${describeBuilds(s.workers)}` : '';
  return s.note ? `${body}${workers}\n  (${s.note})` : `${body}${workers}`;
}

function snapshotJson(s: Snapshot): unknown {
  return { ...(s.status ?? { runId: s.runId }), workflowStatus: s.workflowStatus, ...(s.failure ? { failure: s.failure } : {}), ...withWorkers(s.workers) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows the status until the run's workflow closes. On a terminal: redrawn in place (ANSI
 * cursor-up and clear). Otherwise (a pipe, a log file): one line per change, with the time
 * (scripts/lib/watch-line.ts); with --json one JSON document per change, on a terminal or not.
 */
async function watch(client: Client, runId: string, intervalSeconds: number, json: boolean): Promise<Snapshot> {
  const tty = process.stdout.isTTY === true && !json;
  let shown = '';
  let lines = 0;
  for (;;) {
    const s = await snapshot(client, runId, true);
    if (tty) {
      const cols = process.stdout.columns || 120;
      const block = [...renderSnapshot(s).split('\n'), `(${new Date().toLocaleTimeString()}; every ${intervalSeconds}s, Ctrl-C to stop watching)`].map((l) => (l.length > cols ? `${l.slice(0, cols - 1)}…` : l));
      process.stdout.write(`${lines ? `\x1b[${lines}F\x1b[J` : ''}${block.join('\n')}\n`);
      lines = block.length;
    } else {
      const text = json ? JSON.stringify(snapshotJson(s)) : watchLine(s);
      // A poll no worker answered is news only before anything was shown: afterwards it would interleave with the real lines.
      if (text !== shown && !(s.note && shown)) {
        process.stdout.write(`${json ? '' : `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} `}${text}\n`);
        shown = text;
      }
    }
    if (s.workflowStatus !== 'RUNNING') return s;
    await sleep(intervalSeconds * 1000);
  }
}
