import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../common/env.js';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A program run to its end, asynchronously (the in-process workers keep running meanwhile); killed after `timeoutMs`. */
export function runCommand(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The real `nanoflux` binary with these extra environment variables. */
export const runNanoflux = (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<CommandResult> =>
  runCommand([process.execPath, join(PROJECT_ROOT, 'scripts', 'nanoflux.mjs'), ...args], { env: { ...process.env, ...env }, ...(timeoutMs ? { timeoutMs } : {}) });
