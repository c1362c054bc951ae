import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { BENCH_KEY_ENV } from './harness.js';

/** The real `npm run worker` entry in its own process, on the benchmark's dev server, with its own data dir. */
export function startWorker(address: string, home: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [join(PROJECT_ROOT, 'scripts', 'worker.mjs')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', NANOFLUX_HOME: home, [BENCH_KEY_ENV]: 'bench-key', NANOFLUX_LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * Waits until the model queue has `n` pollers, or, given `pids`, a poller from each of these
 * processes (a worker just stopped stays in the server's poller list for a while, so counting alone
 * would take it for the new one).
 */
export async function pollersReady(client: Client, n: number, pids: number[] = []): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: TaskQueue.llm },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    const identities = new Set((r.pollers ?? []).map((p) => p.identity ?? ''));
    const ready = pids.length > 0 ? pids.every((pid) => [...identities].some((id) => id.startsWith(`${pid}@`))) : identities.size >= n;
    if (ready) return;
    await new Promise((ok) => setTimeout(ok, 500));
  }
  throw new Error(`${n} workers did not start polling in 5 minutes`);
}

/** SIGTERM each worker and wait for it to exit. */
export async function stop(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise((ok) => (w.exitCode !== null ? ok(null) : (w.once('exit', ok), w.kill('SIGTERM'))))));
}
