import { Client, Connection, isGrpcServiceError, ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowExecutionDescription, type WorkflowExecutionInfo, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { readEnv, type NanofluxEnv } from '../../common/env.js';
import { parseRunConfig, type RunConfig } from '../../common/config.js';
import { ErrorType } from '../../common/errors.js';
import { isStoreQueue, queuesOf, STORE_QUEUE_MEMO } from '../../common/queues.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runListUrl, workflowUrl } from '../../common/web-ui.js';
import { SA } from '../../common/search-attributes.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { startOptions } from '../../workflows/logic/start-options.js';
import type { nanofluxRun } from '../../workflows/run.js';
import type { Tracing } from '../../workers/tracing.js';
import { hinted, OperationalError, RunNotFound, UserError, withTimeout } from './errors.js';

export { UserError, OperationalError, RunNotFound } from './errors.js';
export { loadRunConfig } from './config-file.js';

/** How long the CLI waits for a worker to answer a query or an update (NANOFLUX_CLI_TIMEOUT, seconds). */
export const workerTimeoutMs = (env: Pick<NanofluxEnv, 'cliTimeout'> = readEnv()): number => Math.max(1, env.cliTimeout) * 1000;

export const where = (env: NanofluxEnv = readEnv()): string => `${env.temporalAddress} (namespace ${env.temporalNamespace})`;

export async function connectClient(env = readEnv()): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: env.temporalAddress, connectTimeout: 5000 });
  } catch {
    throw new OperationalError(hinted(`cannot reach Temporal at ${env.temporalAddress}`, 'start it with `npm run dev-server`, or set TEMPORAL_ADDRESS'));
  }
  // With OTEL_EXPORTER_OTLP_ENDPOINT the CLI's start (and signals, queries, updates) open the trace
  // that the workflow's and the model calls' spans join (workers/tracing.ts); flushed at close, as the CLI exits right after.
  const tracing = env.otlpEndpoint ? await cliTracing() : undefined;
  return {
    client: new Client({ connection, namespace: env.temporalNamespace, interceptors: tracing?.interceptors ?? {} }),
    close: async () => {
      await connection.close();
      await tracing?.processor.forceFlush();
    },
  };
}

/** Loaded only when tracing: the OpenTelemetry SDK and exporter are not worth their load time to every CLI command. */
let installed: Promise<Tracing & { interceptors: ReturnType<typeof import('../../workers/tracing.js').clientTracingInterceptors> }> | undefined;
const cliTracing = () =>
  (installed ??= import('../../workers/tracing.js').then((t) => {
    const tracing = t.installTracing({ serviceName: 'nanoflux-cli' });
    return { ...tracing, interceptors: t.clientTracingInterceptors(tracing) };
  }));

/** Connects, runs `fn`, and always closes the connection. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient();
  try {
    return await fn(client);
  } finally {
    await close().catch(() => undefined);
  }
}

export const runNotFound = (runId: string): RunNotFound =>
  new RunNotFound(hinted(`no run ${runId} on ${where()}`, '`nanoflux list` shows the runs'));

/**
 * The workflow id of a run, whatever id it was started under: `nanoflux-<runId>` (what `nanoflux run`
 * starts) first, else the newest `nanofluxRun` whose NanofluxRunId search attribute is the run id
 * (one started by `temporal workflow start --workflow-id anything`). Every command that names a run
 * goes through here (describeRun, runInput). Undefined when neither finds it.
 */
export async function resolveRunWorkflowId(client: Client, runId: string): Promise<string | undefined> {
  const byId = runWorkflowId(runId);
  try {
    await client.workflow.getHandle(byId).describe();
    return byId;
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  }
  const found = await listWorkflows(client, `${SA.runId.name} = ${JSON.stringify(runId)} AND ${SA.kind.name} = "run"`, 50).catch((e: unknown) => {
    // A server without NanoFlux's search attributes cannot hold a run found by them.
    if (e instanceof OperationalError) return [];
    throw e;
  });
  return found.sort((a, b) => b.startTime.getTime() - a.startTime.getTime())[0]?.workflowId;
}

/** The run's workflow, described: a missing run is the one-line "no run … on …" error. */
export async function describeRun(client: Client, runId: string): Promise<{ handle: WorkflowHandle<typeof nanofluxRun>; description: WorkflowExecutionDescription }> {
  const workflowId = await resolveRunWorkflowId(client, runId);
  if (workflowId === undefined) throw runNotFound(runId);
  const handle = client.workflow.getHandle<typeof nanofluxRun>(workflowId);
  try {
    return { handle, description: await handle.describe() };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw runNotFound(runId);
    throw e;
  }
}

/** A run that must still be running for a command (pause, set-budget, review, …). */
export async function runningRun(client: Client, runId: string, command: string): Promise<WorkflowHandle<typeof nanofluxRun>> {
  const { handle, description } = await describeRun(client, runId);
  const status = description.status.name;
  if (status !== 'RUNNING') {
    throw new OperationalError(hinted(`run ${runId} is not running (${status.toLowerCase()}), so \`${command}\` has nothing to act on`, `\`nanoflux status ${runId}\` shows how it ended`));
  }
  return handle;
}

/** Waits for a worker's answer to a query or update, with a clear line when no worker answers. */
export async function fromWorker<T>(p: Promise<T>, what: string): Promise<T> {
  return await withTimeout(p, workerTimeoutMs(), () =>
    new OperationalError(hinted(`no worker answered ${what} within ${workerTimeoutMs() / 1000} s`, 'is a worker running on this namespace? start one with `npm run worker`')),
  );
}

/** An update the workflow's validator refused is a usage error (exit 2), with the validator's own words. */
export async function executeUpdate<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await fromWorker(p, what);
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure && e.cause.type === ErrorType.InvalidArgument) {
      throw new UserError(hinted(`${what} refused: ${e.cause.message}`, 'see `nanoflux <command> --help`'));
    }
    if (e instanceof WorkflowUpdateFailedError) throw new OperationalError(hinted(`${what} failed: ${e.cause?.message ?? e.message}`, 'see the worker log'));
    throw e;
  }
}

/**
 * The queue of the worker that owns an earlier execution's data (its memo, workflows/run.ts), if the
 * run id ran before: a run started again there finds its finished episodes in that worker's ledger.
 */
export async function runStoreQueue(client: Client, runId: string): Promise<string | undefined> {
  try {
    const q = (await client.workflow.getHandle(runWorkflowId(runId)).describe()).memo?.[STORE_QUEUE_MEMO];
    // Only an owner of this deployment (the same prefix): a run first started under another prefix (the
    // legacy `nanoflux` queues) would wait on a queue no worker of this checkout polls; it claims anew.
    return typeof q === 'string' && isStoreQueue(q) && queuesOf(q).main === TaskQueue.main ? q : undefined;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Starts `nanofluxRun`; a second launch of a running run id is refused (conflict policy FAIL). */
export async function startRun(client: Client, raw: unknown, config: RunConfig) {
  const storeQueue = await runStoreQueue(client, config.runId);
  try {
    return await client.workflow.start<typeof nanofluxRun>('nanofluxRun', {
      taskQueue: TaskQueue.main,
      ...startOptions({ kind: 'run', runId: config.runId }),
      ...(storeQueue ? { memo: { [STORE_QUEUE_MEMO]: storeQueue } } : {}),
      args: [raw],
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `NanoFlux run ${config.runId}: ${config.domains.map((d) => d.name).join(', ')}`,
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw new OperationalError(hinted(`run ${config.runId} is already running on ${where()}`, `watch it with \`nanoflux status ${config.runId}\`, or give the config another runId`));
    }
    throw e;
  }
}

/** The run's page and its workflow list in the web UI (common/web-ui.ts builds them for report.html too); a non-http base is printed as given. */
export function uiLinks(env = readEnv(), runId: string, workflowId = runWorkflowId(runId)): { run: string; list: string } {
  const ui = { url: env.uiUrl, namespace: env.temporalNamespace };
  return { run: workflowUrl(ui, workflowId) ?? env.uiUrl, list: runListUrl(ui, runId) ?? env.uiUrl };
}

/**
 * Workflows found through NanoFlux's search attributes. A server that does not know them (one not
 * started by `npm run dev-server`, before any worker ran) gets a line saying how to register them.
 */
export async function listWorkflows(client: Client, query: string, limit = Infinity): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  try {
    for await (const w of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      found.push(w);
      if (found.length >= limit) break;
    }
  } catch (e) {
    // The server says so only in words: its INVALID_ARGUMENT carries no typed detail for an unknown attribute.
    if (e instanceof ServiceError && isGrpcServiceError(e.cause) && /invalid search attribute: Nanoflux/.test(e.cause.details)) {
      throw new OperationalError(hinted(`${where()} does not know NanoFlux's search attributes`, 'start the server with `npm run dev-server`, or start a worker once (`npm run worker` registers them)'));
    }
    throw e;
  }
  return found;
}

/** The input a run was started with: its first history event holds the workflow's argument. */
export async function runInput(client: Client, runId: string): Promise<unknown> {
  const workflowId = await resolveRunWorkflowId(client, runId);
  if (workflowId === undefined) throw runNotFound(runId);
  let history;
  try {
    history = await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw runNotFound(runId);
    throw e;
  }
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
}

/** The config a run was started with, from its history; every failure suggests `--config <file>` instead. */
export async function runConfigFromTemporal(runId: string): Promise<RunConfig> {
  try {
    return await withClient(async (client) => {
      const parsed = parseRunConfig(await runInput(client, runId));
      if (!parsed.ok) throw new OperationalError(hinted(`run ${runId} has no valid config in its history`, "pass the run's config with --config <file>"));
      return parsed.config;
    });
  } catch (e) {
    if (e instanceof OperationalError && !e.message.includes('--config')) throw new OperationalError(`${e.message}, or pass the run's config with --config <file>`);
    if (e instanceof OperationalError || e instanceof UserError) throw e;
    throw new OperationalError(hinted(`cannot read run ${runId} from Temporal (${(e as Error).message})`, "pass the run's config with --config <file>"));
  }
}

export { WorkflowNotFoundError };
