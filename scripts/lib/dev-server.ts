import { Connection } from '@temporalio/client';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
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
  /** Where the server's pid is recorded for `npm run dev-server -- --stop`; default temporal.pid beside dbFile (none without dbFile). */
  pidFile?: string;
}

/** A port that something already listens on: startDevServer refuses it rather than report another server as its own. */
export class PortTaken extends Error {
  override name = 'PortTaken';
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

/** Whether something accepts connections on 127.0.0.1:port. */
export async function portInUse(port: number, timeoutMs = 1000): Promise<boolean> {
  return await new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(true));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** The process listening on a TCP port, from /proc/net/tcp{,6} and /proc/<pid>/fd (Linux; only processes this user may inspect). */
export function portListener(port: number): { pid: number; command: string } | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1]?.endsWith(`:${hex}`) && f[3] === '0A' && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return { pid: Number(pid), command: commandOf(Number(pid)) ?? '?' };
    }
  }
  return undefined;
}

/** A process's command line, or undefined when it is gone (or unreadable). */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || undefined;
  } catch {
    return undefined;
  }
}

const isTemporalServer = (command: string | undefined): boolean => !!command && /temporal/.test(command) && /\bserver\b/.test(command) && /\bstart-dev\b/.test(command);

async function answersTemporal(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await c.workflowService.getSystemInfo({});
      return true;
    } finally {
      await c.close().catch(() => undefined);
    }
  } catch {
    return false;
  }
}

/** The pid recorded in a pid file, when the file holds one. */
function recordedPid(pidFile: string | undefined): number | undefined {
  if (!pidFile || !existsSync(pidFile)) return undefined;
  const n = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Who holds a port, in words with what to do; undefined when it is free. A Temporal server that
 * answers is named as such (and as this project's when its pid is the recorded one).
 */
export async function portHolder(port: number, pidFile?: string): Promise<string | undefined> {
  if (!(await portInUse(port))) return undefined;
  const holder = portListener(port);
  const who = holder ? `pid ${holder.pid}: ${holder.command.length > 100 ? `${holder.command.slice(0, 99)}…` : holder.command}` : undefined;
  if (await answersTemporal(`127.0.0.1:${port}`)) {
    const ours = holder !== undefined && holder.pid === recordedPid(pidFile);
    return ours
      ? `port ${port} is taken by the Temporal dev server this project started (${who}, recorded in ${pidFile}); use it as it is, or stop it with \`npm run dev-server -- --stop\``
      : `port ${port} is taken by a Temporal server that answers there${who ? ` (${who})` : ''}; use it as it is, stop it${holder ? ` (kill ${holder.pid})` : ''}${pidFile ? ' or with `npm run dev-server -- --stop` if this project started it' : ''}, or set TEMPORAL_PORT to another port`;
  }
  return `port ${port} is taken by another process${who ? ` (${who})` : ' (not one this user can inspect)'}; stop it or set TEMPORAL_PORT (and TEMPORAL_UI_PORT) to free ports`;
}

/**
 * Stops the dev server whose pid a pid file records (`npm run dev-server -- --stop`), after checking
 * that the pid is a `temporal server start-dev`: SIGTERM, then SIGKILL after 10 s. Returns what it did;
 * throws when the pid belongs to something else (the file is then left alone).
 */
export async function stopDevServer(pidFile: string): Promise<string> {
  const pid = recordedPid(pidFile);
  if (pid === undefined) return `no dev server recorded in ${pidFile}: nothing to stop`;
  const command = commandOf(pid);
  if (command === undefined) {
    rmSync(pidFile, { force: true });
    return `the dev server recorded in ${pidFile} (pid ${pid}) is not running; removed the stale record`;
  }
  if (!isTemporalServer(command)) throw new Error(`pid ${pid} recorded in ${pidFile} is not a Temporal dev server (${command}); not stopping it — remove ${pidFile} if it is stale`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (commandOf(pid) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (commandOf(pid) !== undefined) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
  return `stopped the Temporal dev server (pid ${pid})`;
}

/** temporal.pid in the data directory: the dev server `npm run dev-server` or the demo started. */
export const devServerPidFile = (home: string): string => join(home, 'temporal.pid');

/** Starts `temporal server start-dev` from the installed CLI (TEMPORAL_CLI_PATH, .venv, or PATH). */
export async function startDevServer(o: DevServerOptions = {}): Promise<DevServer> {
  const pidFile = o.pidFile ?? (o.dbFile ? devServerPidFile(dirname(o.dbFile)) : undefined);
  // A port already served would otherwise pass waitForServer below (another server answers) while ours exits at once.
  for (const p of o.port === undefined ? [] : [o.port, ...(o.uiPort ? [o.uiPort] : [])]) {
    const held = await portHolder(p, pidFile);
    if (held) throw new PortTaken(held);
  }
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
  if (pidFile && child.pid !== undefined) writeFileSync(pidFile, `${child.pid}\n`);
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
      if (pidFile && recordedPid(pidFile) === child.pid) rmSync(pidFile, { force: true });
    },
  };
}
