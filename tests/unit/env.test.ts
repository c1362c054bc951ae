import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, EnvError, PROJECT_ROOT, readEnv } from '../../common/env.js';
import { readmeWithEnvReference } from '../../scripts/env-reference.js';

const DECLARED = new Map(Object.values(ENV_VARS).map((v) => [v.name, v]));

/** The project's own source: what the worker, CLI, tests, benchmarks, bootstrap and trainer run. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      // tests/fixtures hold stand-ins for third-party programs (an MCP server) with variables of their own.
      if (e.isDirectory()) {
        if (!['node_modules', 'fixtures', '.venv', '__pycache__'].includes(e.name)) walk(path);
      } else if (/\.(ts|mjs|js|py)$/.test(e.name)) files.push(path);
    }
  };
  for (const dir of ['activities', 'common', 'workers', 'scripts', 'workflows', 'tests', 'bench', 'trainer']) walk(join(PROJECT_ROOT, dir));
  return files;
}

/** Variables a file reads by name: `process.env.<NAME>` and `env.<NAME>` (not assignments), `env['<NAME>']`, Python's `os.environ.get("<NAME>")`. */
function reads(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b(?!\s*(?:\?\?|\|\|)?=(?!=))/g)) names.push(m[1]!);
  for (const m of text.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) names.push(m[1]!);
  for (const m of text.matchAll(/os\.environ(?:\.get\(|\[)\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) names.push(m[1]!);
  return names;
}

describe('the environment (common/env.ts)', () => {
  const files = sourceFiles().map((path) => ({ path: relative(PROJECT_ROOT, path), text: readFileSync(path, 'utf8') }));

  it('declares every variable the source reads', () => {
    const undeclared = files.flatMap((f) => reads(f.text).filter((n) => !DECLARED.has(n)).map((n) => `${f.path}: ${n}`));
    expect(undeclared).toEqual([]);
  });

  it('is read through readEnv() everywhere but common/env.ts and scripts/bootstrap.mjs (plain Node, before npm install)', () => {
    const direct = files
      .filter((f) => !['common/env.ts', 'scripts/bootstrap.mjs'].includes(f.path) && !f.path.endsWith('.py'))
      .flatMap((f) => reads(f.text).map((n) => `${f.path}: ${n}`));
    expect(direct).toEqual([]);
  });

  it("lists bootstrap's variables as read by bootstrap, and only those", () => {
    const bootstrap = new Set(reads(files.find((f) => f.path === 'scripts/bootstrap.mjs')!.text));
    const declared = [...DECLARED.values()].filter((v) => v.readers.includes('bootstrap')).map((v) => v.name);
    expect(declared.sort()).toEqual([...bootstrap].sort());
  });

  it('keeps the README environment table in step with the declarations (npm run schema)', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8'), 'README.md environment table is stale: run npm run schema').toBe(readmeWithEnvReference());
  });

  it('defaults to what the code read before the table existed', () => {
    const env = readEnv({});
    expect(env).toMatchObject({
      home: join(PROJECT_ROOT, '.nanoflux'),
      temporalAddress: 'localhost:7233',
      temporalNamespace: 'default',
      qdrantUrl: undefined,
      llmConcurrency: 8,
      trainConcurrency: 1,
      queues: ['main', 'llm', 'train'],
      workerVersioning: true,
      logLevel: 'WARN',
      localThreads: Math.max(1, Math.min(4, availableParallelism() - 1)),
      temporalPort: 7233,
      temporalUiPort: undefined,
      uiUrl: 'http://localhost:8233',
      cliTimeout: 30,
      debug: false,
      chromium: '/usr/bin/chromium',
      updateReplayHistories: false,
      chaosSeed: undefined,
      peerPython: 'python3',
    });
    expect(env.given.size).toBe(0);
    // Blank is unset, as the `||` reads were.
    expect(readEnv({ NANOFLUX_TRAIN_CONCURRENCY: '', TEMPORAL_ADDRESS: ' ' })).toMatchObject({ trainConcurrency: 1, temporalAddress: 'localhost:7233' });
  });

  it('reads the values given', () => {
    const env = readEnv({ NANOFLUX_HOME: '/tmp/nf', NANOFLUX_TRAIN_CONCURRENCY: '2', NANOFLUX_QUEUES: ' nanoflux-train ', NANOFLUX_DEBUG: '1', NANOFLUX_CHAOS_SEED: '0', TEMPORAL_ADDRESS: 'localhost:7233' });
    expect(env).toMatchObject({ home: '/tmp/nf', trainConcurrency: 2, queues: ['train'], debug: true, chaosSeed: 0 });
    expect([...env.given].sort()).toEqual(['NANOFLUX_CHAOS_SEED', 'NANOFLUX_DEBUG', 'NANOFLUX_HOME', 'NANOFLUX_QUEUES', 'NANOFLUX_TRAIN_CONCURRENCY', 'TEMPORAL_ADDRESS']);
  });

  it('refuses a bad value in one line naming the variable and what it expects', () => {
    expect(() => readEnv({ NANOFLUX_TRAIN_CONCURRENCY: 'abc' })).toThrow(EnvError);
    expect(() => readEnv({ NANOFLUX_TRAIN_CONCURRENCY: 'abc' })).toThrow(/^environment variable NANOFLUX_TRAIN_CONCURRENCY="abc": expected a positive integer$/);
    expect(() => readEnv({ NANOFLUX_QUEUES: 'nanoflux-gpu' })).toThrow(/NANOFLUX_QUEUES="nanoflux-gpu": unknown queue role nanoflux-gpu; known: main, llm, train/);
    let message = '';
    try {
      readEnv({ NANOFLUX_LOG_LEVEL: 'loud', TEMPORAL_PORT: '70000', QDRANT_URL: 'not a url', NANOFLUX_DEBUG: 'yes' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toContain('\n');
    for (const part of ['NANOFLUX_LOG_LEVEL="loud": expected one of TRACE, DEBUG, INFO, WARN, ERROR', 'TEMPORAL_PORT="70000": expected a port', 'QDRANT_URL="not a url": expected a URL', 'NANOFLUX_DEBUG="yes": expected 1 or 0']) {
      expect(message).toContain(part);
    }
  });
});
