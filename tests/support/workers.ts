import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildActivityDeps } from '../../activities/deps.js';
import { readEnv } from '../../common/env.js';
import { createWorkers, tracedBundle, WORKFLOWS_PATH } from '../../workers/create-workers.js';
import { clientTracingInterceptors, type Tracing } from '../../workers/tracing.js';
import { installLogging } from '../../workers/logger.js';
import { quietLogger } from './global-setup.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from './scripted-openai.js';

let runtimeInstalled = false;

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'nanoflux-home-'));
}

/** A client on the test server (or on `address`, a server of the test's own), in the given namespace. */
export async function testClient(namespace: string, address = inject('temporalAddress'), o: { tracing?: Tracing } = {}): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace, interceptors: clientTracingInterceptors(o.tracing) }), close: () => connection.close() };
}

/** The real worker set (both queues, real activity deps) in this test process, on the shared dev server (or on `address`). */
export async function startTestWorkers(namespace: string, home = tempHome(), address = inject('temporalAddress'), o: { tracing?: Tracing } = {}) {
  if (!runtimeInstalled) {
    installLogging({ level: 'ERROR' });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect({ address });
  const deps = buildActivityDeps({ ...readEnv(), home, qdrantUrl: undefined });
  // Traced, the workflow code is bundled here with Temporal's interceptors (the shared bundle has none).
  const workflowBundle = o.tracing ? await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger, ...tracedBundle(true) }) : { codePath: inject('workflowBundlePath') };
  const workers = await createWorkers({ connection, namespace, deps, workflowBundle, ...(o.tracing ? { tracing: o.tracing } : {}) });
  const running = workers.run();
  return {
    home,
    deps,
    /** The Temporal workers themselves (their status: activities in flight). */
    workers: workers.workers,
    async stop() {
      workers.shutdown();
      await running;
      await deps.close();
      await connection.close();
    },
  };
}

/**
 * Registers the usual workflow-test fixture in the calling describe block: the scripted
 * OpenAI-compatible server, the real workers and a client, all on `namespace`.
 */
export function useGameFixture(namespace: string, o: { tracing?: Tracing } = {}) {
  const f = {} as {
    server: ScriptedOpenAI;
    workers: Awaited<ReturnType<typeof startTestWorkers>>;
    tc: Awaited<ReturnType<typeof testClient>>;
  };
  beforeAll(async () => {
    f.server = await startScriptedOpenAI();
    f.workers = await startTestWorkers(namespace, tempHome(), inject('temporalAddress'), o);
    f.tc = await testClient(namespace, inject('temporalAddress'), o);
  });
  afterAll(async () => {
    await f.tc?.close();
    await f.workers?.stop();
    await f.server?.close();
  });
  return f;
}

/** Polls `probe` every 200 ms until `ok` holds for its value (a failing probe counts as not yet); the value. */
export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
