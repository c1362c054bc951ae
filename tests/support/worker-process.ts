import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { type ScriptedOpenAI, startScriptedOpenAI } from './scripted-openai.js';
import { testClient } from './workers.js';

/**
 * The real worker entry (`npm run worker`: the compiled worker, rebuilt first if a source changed) in
 * its own process, so a test can kill it outright. The build runs in that same process, so a SIGKILL
 * leaves no worker behind.
 */
export function startWorkerProcess(namespace: string, home: string, env: NodeJS.ProcessEnv = {}, capture?: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts', 'worker.mjs')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: namespace, NANOFLUX_HOME: home, NANOFLUX_TEST_KEY: 'test-key-value', ...env },
    stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'inherit'],
  });
  if (capture) {
    child.stdout!.setEncoding('utf8').on('data', capture);
    child.stderr!.setEncoding('utf8').on('data', capture);
  }
  return child;
}

/** Polls `ok` until it holds; an error saying the worker "exited on its own" ends the wait at once. */
export async function waitFor(ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch((e: Error) => (/exited on its own/.test(e.message) ? Promise.reject(e) : false)))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

export type TestClient = Awaited<ReturnType<typeof testClient>>;

/**
 * The before/after of a test file that drives the real worker process: a scripted model server and
 * a Temporal client for the file (handed to `ready`), and whatever worker process is still running
 * (`running`) killed at the end.
 */
export function workerProcessSuite(namespace: string, ready: (server: ScriptedOpenAI, tc: TestClient) => void, running: () => ChildProcess | undefined): void {
  let server: ScriptedOpenAI | undefined;
  let tc: TestClient | undefined;
  beforeAll(async () => {
    server = await startScriptedOpenAI();
    tc = await testClient(namespace);
    ready(server, tc);
  });
  afterAll(async () => {
    const worker = running();
    if (worker) await killHard(worker);
    await tc?.close();
    await server?.close();
  });
}
