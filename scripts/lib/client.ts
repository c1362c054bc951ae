import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import { readEnv } from '../../common/env.js';
import { describeProblems, parseRunConfig, type RunConfig } from '../../common/config.js';
import { TaskQueue } from '../../common/queues.js';
import { SA } from '../../common/search-attributes.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';

export class UserError extends Error {}

export async function connectClient(env = readEnv()): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: env.temporalAddress, connectTimeout: 5000 });
  } catch {
    throw new UserError(`cannot reach Temporal at ${env.temporalAddress}: start it with \`npm run dev-server\` or set TEMPORAL_ADDRESS`);
  }
  return { client: new Client({ connection, namespace: env.temporalNamespace }), close: () => connection.close() };
}

/** Reads and validates a run config file; every problem is listed with its field path. */
export function loadRunConfig(path: string): RunConfig & { raw: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const r = parseRunConfig(raw);
  if (!r.ok) throw new UserError(`${path}: ${describeProblems(r.problems)}`);
  return { ...r.config, raw };
}

/** Starts `nanofluxRun`; a second launch of a running run id is refused (conflict policy FAIL). */
export async function startRun(client: Client, raw: unknown, config: RunConfig) {
  return await client.workflow.start<typeof nanofluxRun>('nanofluxRun', {
    taskQueue: TaskQueue.main,
    workflowId: runWorkflowId(config.runId),
    args: [raw],
    workflowIdConflictPolicy: 'FAIL',
    typedSearchAttributes: [
      { key: SA.runId, value: config.runId },
      { key: SA.kind, value: 'run' },
      { key: SA.stage, value: 'generating' },
    ],
    staticSummary: `NanoFlux run ${config.runId}: ${config.domains.map((d) => d.name).join(', ')}`,
  });
}

export function uiLinks(env = readEnv(), runId: string): { run: string; list: string } {
  const ui = process.env.NANOFLUX_UI_URL ?? 'http://localhost:8233';
  const ns = encodeURIComponent(env.temporalNamespace);
  return {
    run: `${ui}/namespaces/${ns}/workflows/${encodeURIComponent(runWorkflowId(runId))}`,
    list: `${ui}/namespaces/${ns}/workflows?query=${encodeURIComponent(`NanofluxRunId="${runId}"`)}`,
  };
}

/** The config a run was started with: its first history event holds the workflow's input. */
export async function runConfigFromTemporal(runId: string): Promise<RunConfig> {
  const { client, close } = await connectClient();
  try {
    const history = await client.workflow.getHandle(runWorkflowId(runId)).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const parsed = parseRunConfig(payload ? defaultPayloadConverter.fromPayload(payload) : undefined);
    if (!parsed.ok) throw new UserError(`run ${runId} has no valid config in its history; pass --config <file>`);
    return parsed.config;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read run ${runId} from Temporal (${(e as Error).message}); pass --config <file>`);
  } finally {
    await close();
  }
}

export { WorkflowNotFoundError };
