import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NanofluxEnv, PROJECT_ROOT, readEnv } from '../../../common/env.js';

/** The project's Python (bootstrap's .venv, which has the trainer's requirements), or NANOFLUX_PYTHON. */
export function trainerPython(env: Pick<NanofluxEnv, 'python'> = readEnv()): string {
  if (env.python) return env.python;
  const venv = join(PROJECT_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Environment of a trainer process: the package on PYTHONPATH, and no model hub ever reached. */
export function trainerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PYTHONPATH: join(PROJECT_ROOT, 'trainer'), HF_HUB_OFFLINE: '1' };
}

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last few KB of stderr, for the error message of a failed run. */
  stderrTail: string;
}

/** After SIGTERM a trainer saves a checkpoint; past this grace it is killed. */
const TERM_GRACE_MS = 60_000;
const TAIL = 4000;

/**
 * Runs a command, handing each JSON line of its stdout to `onEvent` (the trainer's progress
 * events; other lines go to `onLine`). An abort sends SIGTERM, then SIGKILL after a grace period.
 */
export function runProcess(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; onEvent?: (e: Record<string, unknown>) => void; onLine?: (line: string) => void },
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) handle(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-TAIL);
    });
    const handle = (line: string) => {
      if (!line.trim()) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        opts.onLine?.(line);
        return;
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) opts.onEvent?.(parsed as Record<string, unknown>);
      else opts.onLine?.(line);
    };
    child.on('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`could not start ${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (pending) handle(pending);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, stderrTail: stderr });
    });
  });
}
