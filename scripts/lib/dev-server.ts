import { Connection } from '@temporalio/client';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { temporalCliPath } from '../../common/env.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../common/search-attributes.js';

export interface DevServerOptions {
  /** gRPC port; default a free one. */
  port?: number;
  /** Web UI port; omitted = headless. */
  uiPort?: number;
  /** SQLite file that keeps executions across restarts; omitted = in memory. */
  dbFile?: string;
  namespaces?: string[];
  /** Where the server's output goes (appended); default discarded. */
  logFile?: string;
  /** Keep running after this process exits (npm run dev-server / demo). */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The dev server runs one history shard, and each shard reads its task queues at most
 * `*ProcessorMaxPollRPS` times a second (default 20, sized for clusters of hundreds of shards). With
 * one shard that caps the whole server: every activity or workflow task waited ~45 ms to be
 * dispatched (bench/README.md, "orchestration overhead"). Raising the caps makes a step ~15 ms.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'history.transferProcessorMaxPollRPS=1000',
  'history.timerProcessorMaxPollRPS=1000',
  'history.visibilityProcessorMaxPollRPS=1000',
] as const;

export function devServerArgs(o: DevServerOptions & { port: number }): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', 'warn'];
  for (const kv of DEV_SERVER_DYNAMIC_CONFIG) args.push('--dynamic-config-value', kv);
  if (o.uiPort) args.push('--ui-port', String(o.uiPort));
  else args.push('--headless');
  if (o.dbFile) args.push('--db-filename', o.dbFile, '--sqlite-pragma', 'journal_mode=WAL');
  for (const sa of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', sa);
  for (const ns of o.namespaces ?? []) args.push('--namespace', ns);
  return args;
}

/** Waits until the server answers gRPC (a started process is not yet a ready server). */
export async function waitForServer(address: string, timeoutMs = 60_000, gone: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const why = gone();
    if (why) throw new Error(why);
    try {
      const c = await Connection.connect({ address, connectTimeout: 2000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal server at ${address} did not become ready in ${timeoutMs} ms: ${String(last)}`);
}

/** Starts `temporal server start-dev` from the installed CLI (TEMPORAL_CLI_PATH, .venv, or PATH). */
export async function startDevServer(o: DevServerOptions = {}): Promise<DevServer> {
  const port = o.port ?? (await freePort());
  if (o.dbFile) mkdirSync(dirname(o.dbFile), { recursive: true });
  let out: 'ignore' | number = 'ignore';
  if (o.logFile) {
    mkdirSync(dirname(o.logFile), { recursive: true });
    out = openSync(o.logFile, 'a');
  }
  const child = spawn(temporalCliPath(), devServerArgs({ ...o, port }), { stdio: ['ignore', out, out], detached: o.detached ?? false });
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const address = `127.0.0.1:${port}`;
  await waitForServer(address, 60_000, () =>
    spawnError ? `cannot start ${temporalCliPath()}: ${spawnError.message} (run node scripts/bootstrap.mjs)` : child.exitCode !== null || child.signalCode !== null ? `temporal server exited early (${child.exitCode ?? child.signalCode}); see ${o.logFile ?? 'its output'}` : undefined,
  );
  if (o.detached) child.unref();
  return {
    address,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}
