import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ToolSpec } from '../models/chat-model.js';

/**
 * The judge's `python` tool: model-written (hostile) Python run in Pyodide inside a worker thread.
 *
 * Layers, outermost first:
 *  - host side (this file): code-size check before anything starts; wall time enforced by
 *    `worker.terminate()` (stops even a tight WASM loop); V8 heap capped by `resourceLimits`.
 *    A worker is reused for the next run only when the run ended normally or with a Python
 *    exception AND the worker's post-run check found interpreter-wide state unchanged (see the
 *    worker); anything else (timeout, memory, output cap, tampering) retires it, so one run cannot
 *    leave state for the next. A spare is started ahead of time to hide Pyodide's ~1.5 s start-up,
 *    and pyodide.asm.wasm is compiled once here and shared with every worker.
 *  - worker side (python-worker.mjs): WASM memory growth cap, output cap, no host stdin, Node's
 *    child_process/fs/net/... functions replaced by throwing stubs, `js` bound to an empty object,
 *    Function-from-string constructors and `eval` removed, Pyodide's mount/socket/package APIs
 *    deleted, and a Python import guard for js/pyodide_js/pyodide/ctypes/... .
 */

export interface SandboxLimits {
  wallTimeMs: number;
  /** Caps the V8 heap of the worker AND, separately, the WebAssembly memory of the interpreter. */
  memoryMb: number;
  maxOutputBytes: number;
  maxCodeBytes: number;
}

export type PythonResult =
  | { ok: true; stdout: string; truncated: boolean; durationMs: number }
  | {
      ok: false;
      error: string;
      kind: 'timeout' | 'memory' | 'output' | 'python' | 'refused';
      stdout: string;
      durationMs: number;
    };

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  wallTimeMs: 5000,
  memoryMb: 256,
  maxOutputBytes: 64 * 1024,
  maxCodeBytes: 100 * 1024,
};

/** Pyodide start-up (~2 s) gets its own, generous budget: it is not the model's code running. */
const STARTUP_TIMEOUT_MS = 30_000;
/** Fresh workers kept warm per limit set, besides a reusable one. */
const SPARES = 1;

const WORKER_URL = new URL('./python-worker.mjs', import.meta.url);

type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; ok: boolean; stdout: string; truncated?: boolean; error?: string; kind?: string; reusable?: boolean };

/** Compiled once per process: each worker instantiates it instead of compiling 10 MB of WASM. */
// (tsconfig's lib has no WebAssembly types; the module is only handed on to the workers.)
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;
let compiled: Promise<{ module: object; byteLength: number } | null> | null = null;
function compiledPyodide() {
  compiled ??= (async () => {
    const bytes = await readFile(createRequire(import.meta.url).resolve('pyodide/pyodide.asm.wasm'));
    return { module: await wasmApi.compile(bytes), byteLength: bytes.byteLength };
  })().catch(() => null); // then each worker compiles it itself
  return compiled;
}

/** Starts a worker; resolves once Pyodide is loaded and hardened. */
async function startWorker(limits: SandboxLimits, live: Set<Worker>): Promise<Worker> {
  const wasm = await compiledPyodide();
  const worker = new Worker(WORKER_URL, {
    workerData: {
      wasmMaxBytes: limits.memoryMb * 1024 * 1024,
      maxOutputBytes: limits.maxOutputBytes,
      wasmModule: wasm?.module,
      wasmByteLength: wasm?.byteLength,
    },
    resourceLimits: {
      maxOldGenerationSizeMb: limits.memoryMb,
      maxYoungGenerationSizeMb: Math.min(32, Math.max(4, Math.floor(limits.memoryMb / 8))),
    },
    // No host environment variables, no inherited loader flags, and the worker's own stdout/stderr
    // (Pyodide's fatal-error chatter) is swallowed instead of reaching the host's console.
    env: {},
    execArgv: [],
    stdout: true,
    stderr: true,
  });
  live.add(worker);
  worker.once('exit', () => live.delete(worker));
  worker.stdout.resume();
  worker.stderr.resume();
  // While idle, a crash must not become an unhandled 'error' event.
  worker.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('start-up timed out')), STARTUP_TIMEOUT_MS);
      worker.once('message', (m: WorkerReply) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve();
        else reject(new Error('unexpected start-up message'));
      });
      worker.once('error', (e) => { clearTimeout(timer); reject(e); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited during start-up (${code})`)); });
    });
  } catch (e) {
    void worker.terminate();
    throw e;
  }
  return worker;
}

function limitsKey(l: SandboxLimits): string {
  return `${l.memoryMb}/${l.maxOutputBytes}`;
}

function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {}); // observed later, by whoever takes it
  return p;
}

/** A small pool of Pyodide workers (one reusable + one spare per limit set); runs are serialised. */
export class PythonSandbox {
  private pool = new Map<string, Promise<Worker>[]>();
  private live = new Set<Worker>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  run(code: string, limits?: Partial<SandboxLimits>): Promise<PythonResult> {
    const next = this.queue.then(() => this.runNow(code, { ...DEFAULT_SANDBOX_LIMITS, ...limits }));
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool.clear();
    // Also catches workers still starting: they add themselves to `live` before loading.
    await compiled?.catch(() => null);
    await Promise.all([...this.live].map((w) => w.terminate()));
  }

  private take(limits: SandboxLimits): Promise<Worker> {
    const key = limitsKey(limits);
    const list = this.pool.get(key) ?? [];
    const next = list.shift() ?? settled(startWorker(limits, this.live));
    // Refill so the next call finds a worker already (or nearly) loaded.
    while (list.length < SPARES) list.push(settled(startWorker(limits, this.live)));
    this.pool.set(key, list);
    return next;
  }

  private giveBack(limits: SandboxLimits, worker: Worker): void {
    if (this.closed) { void worker.terminate(); return; }
    const key = limitsKey(limits);
    const list = this.pool.get(key) ?? [];
    list.unshift(Promise.resolve(worker)); // a loaded worker goes first
    this.pool.set(key, list);
  }

  private async runNow(code: string, limits: SandboxLimits): Promise<PythonResult> {
    const refused = (error: string): PythonResult => ({ ok: false, kind: 'refused', error, stdout: '', durationMs: 0 });
    if (typeof code !== 'string') return refused('code must be a string');
    const size = Buffer.byteLength(code, 'utf8');
    if (size > limits.maxCodeBytes) return refused(`code is ${size} bytes, over the ${limits.maxCodeBytes}-byte limit`);
    if (this.closed) return refused('python sandbox is closed');
    let worker: Worker;
    try {
      worker = await this.take(limits);
    } catch (e) {
      return refused(`python sandbox unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let reusable = false;
    type Listener = Parameters<Worker['off']>[1];
    const listeners: Array<[string, Listener]> = [];
    try {
      return await new Promise<PythonResult>((resolve) => {
        const timer = setTimeout(() => {
          resolve({ ok: false, kind: 'timeout', error: `timed out after ${limits.wallTimeMs} ms`, stdout: '', durationMs: elapsed() });
        }, limits.wallTimeMs);
        const done = (r: PythonResult) => { clearTimeout(timer); resolve(r); };
        const on = (event: string, fn: Listener) => {
          worker.on(event, fn);
          listeners.push([event, fn]);
        };
        on('message', (m: WorkerReply) => {
          if (m.type !== 'result') return;
          reusable = m.reusable === true && (m.ok || m.kind === 'python');
          if (m.ok) done({ ok: true, stdout: m.stdout, truncated: m.truncated ?? false, durationMs: elapsed() });
          else {
            const kind = (['memory', 'output', 'python'] as const).find((k) => k === m.kind) ?? 'python';
            done({ ok: false, kind, error: m.error ?? 'unknown error', stdout: m.stdout, durationMs: elapsed() });
          }
        });
        on('error', (e: Error & { code?: string }) => {
          const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
          done({ ok: false, kind: memory ? 'memory' : 'python', error: memory ? 'out of memory (JavaScript heap)' : `sandbox failure: ${e.message}`, stdout: '', durationMs: elapsed() });
        });
        on('exit', (c: number) => {
          done({ ok: false, kind: 'python', error: `sandbox worker exited (${c})`, stdout: '', durationMs: elapsed() });
        });
        worker.postMessage({ code });
      });
    } finally {
      for (const [event, fn] of listeners) worker.off(event, fn);
      // Retiring is also what stops a program still printing after the output cap or still looping
      // after the timeout.
      if (reusable) this.giveBack(limits, worker);
      else void worker.terminate();
    }
  }
}


let shared: PythonSandbox | null = null;

/** Run untrusted Python 3 (standard library only) in the shared sandbox. Never throws. */
export function runPython(code: string, limits?: Partial<SandboxLimits>): Promise<PythonResult> {
  shared ??= new PythonSandbox();
  return shared.run(code, limits);
}

/** Terminates the shared sandbox's workers (tests call this in afterAll; a later call starts anew). */
export async function closePythonSandbox(): Promise<void> {
  const s = shared;
  shared = null;
  await s?.close();
}

export const pythonTool: ToolSpec = {
  name: 'python',
  description:
    'Run a Python 3 program (standard library only: fractions, decimal, math, statistics, itertools, ...; ' +
    'no network, files or third-party packages) and return what it printed. Use print() to show results. ' +
    `Limits: ${DEFAULT_SANDBOX_LIMITS.wallTimeMs / 1000} s, ${DEFAULT_SANDBOX_LIMITS.memoryMb} MB, ` +
    `${DEFAULT_SANDBOX_LIMITS.maxOutputBytes / 1024} KiB of output.`,
  parameters: {
    type: 'object',
    properties: { code: { type: 'string', description: 'The Python program to run' } },
    required: ['code'],
    additionalProperties: false,
  },
  async run(args: unknown): Promise<string> {
    // Never throws: an error is text the model can read and correct.
    try {
      const code = (args as { code?: unknown } | null)?.code;
      if (typeof code !== 'string') return JSON.stringify({ error: 'python: argument "code" (string) is required', kind: 'refused' });
      const r = await runPython(code);
      if (r.ok) return JSON.stringify({ stdout: r.stdout, truncated: r.truncated });
      return JSON.stringify({ error: r.error, kind: r.kind, ...(r.stdout ? { stdout: r.stdout } : {}) });
    } catch (e) {
      return JSON.stringify({ error: `python: ${e instanceof Error ? e.message : String(e)}`, kind: 'python' });
    }
  },
};
