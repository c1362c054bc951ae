import { Worker } from 'node:worker_threads';
import type { ToolSpec } from '../models/chat-model.js';

/**
 * The judge's `python` tool: model-written (hostile) Python run in Pyodide inside a worker thread.
 *
 * Layers, outermost first:
 *  - host side (this file): code-size check before anything starts; wall time enforced by
 *    `worker.terminate()` (stops even a tight WASM loop); V8 heap capped by `resourceLimits`;
 *    every worker is used for ONE run and then terminated, so no run can leave state (monkeypatched
 *    builtins, modules, files in the in-memory FS) for the next. Spare workers are started ahead of
 *    time to hide Pyodide's ~1.5–2 s start-up.
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
/** Workers kept warm per limit set; a used worker is replaced in the background. */
const SPARES = 2;

const WORKER_URL = new URL('./python-worker.mjs', import.meta.url);

type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; ok: boolean; stdout: string; truncated?: boolean; error?: string; kind?: string };

interface Warm {
  worker: Worker;
  ready: Promise<void>;
}

function startWorker(limits: SandboxLimits): Warm {
  const worker = new Worker(WORKER_URL, {
    workerData: { wasmMaxBytes: limits.memoryMb * 1024 * 1024, maxOutputBytes: limits.maxOutputBytes },
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
  worker.stdout.resume();
  worker.stderr.resume();
  // Until the worker is used, a crash must not become an unhandled 'error' event.
  const onIdleError = () => {};
  worker.on('error', onIdleError);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('python sandbox: start-up timed out')), STARTUP_TIMEOUT_MS);
    worker.once('message', (m: WorkerReply) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve();
      else reject(new Error('python sandbox: unexpected start-up message'));
    });
    worker.once('error', (e) => { clearTimeout(timer); reject(e); });
    worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`python sandbox: worker exited during start-up (${code})`)); });
  });
  ready.catch(() => {}); // observed by whoever takes this worker
  return { worker, ready };
}

function limitsKey(l: SandboxLimits): string {
  return `${l.memoryMb}/${l.maxOutputBytes}`;
}

/** A pool of single-use Pyodide workers; runs are serialised through a queue. */
export class PythonSandbox {
  private spares = new Map<string, Warm[]>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  run(code: string, limits?: Partial<SandboxLimits>): Promise<PythonResult> {
    const next = this.queue.then(() => this.runNow(code, { ...DEFAULT_SANDBOX_LIMITS, ...limits }));
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.spares.values()].flat();
    this.spares.clear();
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  private take(limits: SandboxLimits): Warm {
    const key = limitsKey(limits);
    const list = this.spares.get(key) ?? [];
    const warm = list.shift() ?? startWorker(limits);
    // Refill so the next call finds a worker already (or nearly) loaded.
    while (list.length < SPARES) list.push(startWorker(limits));
    this.spares.set(key, list);
    return warm;
  }

  private async runNow(code: string, limits: SandboxLimits): Promise<PythonResult> {
    if (typeof code !== 'string') {
      return { ok: false, kind: 'refused', error: 'code must be a string', stdout: '', durationMs: 0 };
    }
    const size = Buffer.byteLength(code, 'utf8');
    if (size > limits.maxCodeBytes) {
      return { ok: false, kind: 'refused', error: `code is ${size} bytes, over the ${limits.maxCodeBytes}-byte limit`, stdout: '', durationMs: 0 };
    }
    if (this.closed) {
      return { ok: false, kind: 'refused', error: 'python sandbox is closed', stdout: '', durationMs: 0 };
    }
    const { worker, ready } = this.take(limits);
    try {
      await ready;
    } catch (e) {
      void worker.terminate();
      return { ok: false, kind: 'refused', error: `python sandbox unavailable: ${e instanceof Error ? e.message : String(e)}`, stdout: '', durationMs: 0 };
    }
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      return await new Promise<PythonResult>((resolve) => {
        const timer = setTimeout(() => {
          resolve({ ok: false, kind: 'timeout', error: `timed out after ${limits.wallTimeMs} ms`, stdout: '', durationMs: elapsed() });
        }, limits.wallTimeMs);
        const done = (r: PythonResult) => { clearTimeout(timer); resolve(r); };
        worker.on('message', (m: WorkerReply) => {
          if (m.type !== 'result') return;
          if (m.ok) done({ ok: true, stdout: m.stdout, truncated: m.truncated ?? false, durationMs: elapsed() });
          else {
            const kind = (['memory', 'output', 'python'] as const).find((k) => k === m.kind) ?? 'python';
            done({ ok: false, kind, error: m.error ?? 'unknown error', stdout: m.stdout, durationMs: elapsed() });
          }
        });
        worker.on('error', (e: Error & { code?: string }) => {
          const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
          done({ ok: false, kind: memory ? 'memory' : 'python', error: memory ? 'out of memory (JavaScript heap)' : `sandbox failure: ${e.message}`, stdout: '', durationMs: elapsed() });
        });
        worker.on('exit', (c) => {
          done({ ok: false, kind: 'python', error: `sandbox worker exited (${c})`, stdout: '', durationMs: elapsed() });
        });
        worker.postMessage({ code });
      });
    } finally {
      // Single use: whatever the run did to the interpreter dies with it. Also what stops a program
      // still printing after the output cap, or still looping after the timeout.
      void worker.terminate();
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
