/**
 * What the benchmarks share: a real dev server (in memory, its own port), the scripted
 * OpenAI-compatible server on loopback, a run config over it, and one run through the real workers
 * in this process. Each benchmark measures its baseline in the same process and run.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildActivityDeps } from '../../activities/deps.js';
import type { ActivityDeps } from '../../activities/index.js';
import { parseRunConfig, type RunConfig, type RunConfigInput } from '../../common/config.js';
import { readEnv } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { type DevServer, startDevServer } from '../../scripts/lib/dev-server.js';
import { testConfig } from '../../tests/support/game-script.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from '../../tests/support/scripted-openai.js';
import { createWorkers, type WorkerSetOptions, WORKFLOWS_PATH } from '../../workers/create-workers.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';

/** The env var the scripted models' configs name; the scripted server accepts any key. */
export const BENCH_KEY_ENV = 'NANOFLUX_TEST_KEY';

export { arg } from './args.js';

export interface BenchEnv {
  server: DevServer;
  llm: ScriptedOpenAI;
  close(): Promise<void>;
}

export async function startBenchEnv(): Promise<BenchEnv> {
  process.env[BENCH_KEY_ENV] ??= 'bench-key';
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({});
  const llm = await startScriptedOpenAI();
  return {
    server,
    llm,
    async close() {
      await llm.close();
      await server.stop();
    },
  };
}

/** The test suite's three-role config over `baseURL`, with the generation settings given. */
export function benchConfig(baseURL: string, runId: string, overrides: Partial<RunConfigInput> = {}): RunConfig {
  const r = parseRunConfig(testConfig(baseURL, runId, overrides));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

export function benchHome(): string {
  return mkdtempSync(join(tmpdir(), 'nf-bench-'));
}

export type BenchDeps = ActivityDeps & { close(): Promise<void> };

export function benchDeps(home: string): BenchDeps {
  return buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (bundling takes seconds, and is not what is measured). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
  return bundle;
}

/**
 * Runs `config` through Temporal (nanofluxRun → domain loop → episode children) with the workers in
 * this process, and returns the wall time from start to the run's result. `during` sees the handle
 * while the run goes (to poll its status).
 */
export async function runThroughTemporal(
  env: BenchEnv,
  config: RunConfig,
  o: { home?: string; workers?: Partial<Omit<WorkerSetOptions, 'connection' | 'namespace' | 'deps'>>; during?: (h: WorkflowHandle<typeof nanofluxRun>, deps: BenchDeps) => Promise<void> } = {},
): Promise<{ ms: number; result: Awaited<ReturnType<typeof nanofluxRun>> }> {
  const connection = await NativeConnection.connect({ address: env.server.address });
  const deps = benchDeps(o.home ?? benchHome());
  const workers = await createWorkers({ connection, namespace: 'default', deps, workflowBundle: await workflowBundle(), ...o.workers });
  const running = workers.run();
  // Timed from a served deployment: the first worker start's wait for its build to become current is not orchestration.
  await workers.serving();
  const cc = await Connection.connect({ address: env.server.address });
  const client = new Client({ connection: cc, namespace: 'default' });
  try {
    const t0 = performance.now();
    const handle = await client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId(config.runId), args: [config] });
    const during = o.during?.(handle, deps);
    const result = await handle.result();
    const ms = performance.now() - t0;
    await during;
    return { ms, result };
  } finally {
    workers.shutdown();
    await running;
    await deps.close();
    await cc.close();
    await connection.close();
  }
}
