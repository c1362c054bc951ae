// Compiles the CLI (scripts/cli.ts) and the worker (workers/main.ts) into dist/ with esbuild, and
// says cheaply whether a build is still current, so `nanoflux` and `npm run worker` start plain
// JavaScript instead of compiling TypeScript through tsx on every call.
//
// Plain .mjs: scripts/nanoflux.mjs and scripts/bootstrap.mjs import it without a TypeScript loader.
// esbuild itself is imported only when a build is needed: checking costs a few stat calls.
//
// Layout: every output sits directly in dist/, one level below the project root, because the
// sources find the root and its files from their own URL (common/env.ts: PROJECT_ROOT;
// workers/create-workers.ts: ../workflows/index.ts, which the Temporal worker bundles from source).
// Output names carry a content hash and are written by rename, and the stamp that names the current
// entry file (dist/<target>.build.json) is written last, also by rename: CLI calls that rebuild at
// the same time (tests run the CLI in parallel while others edit sources) never see a half-written
// file, and a process still running an older build keeps its files.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');

/**
 * What is built. The CLI is split into chunks, so what a command imports lazily (export, report,
 * score: the activity code and its native packages) loads only when it runs; without splitting every
 * package import is hoisted into the entry file (`--help` then took 1.0 s instead of 0.28). The
 * worker loads everything anyway, so it is one file.
 */
export const TARGETS = {
  cli: { entry: 'scripts/cli.ts', splitting: true },
  worker: { entry: 'workers/main.ts', splitting: false },
};

// Files the bundle loads by URL relative to itself (new URL('./x', import.meta.url)), which esbuild
// leaves alone: copied beside the outputs under the same name.
const ASSETS = ['activities/game/judge/python-worker.mjs'];
// Inputs that change the output without being bundled: the build's own options and the tsconfig esbuild reads.
const BUILD_INPUTS = ['scripts/build.mjs', 'tsconfig.json', 'package.json'];
// An unreferenced output is removed this long after its last build (a long `status --watch` may still import a chunk of it).
const KEEP_OLD_MS = 24 * 3600_000;
// Files changed this close to a build's start may have been read before or after the change (mtime granularity): such a build is not trusted.
const RACE_MS = 1000;

const stampPath = (target) => join(DIST, `${target}.build.json`);

function readStamp(target) {
  try {
    return JSON.parse(readFileSync(stampPath(target), 'utf8'));
  } catch {
    return undefined;
  }
}

/** [mtime, size] of a project file; [0, -1] when there is none (a deleted input differs from what was recorded; an absent one stays absent). */
function statOf(path) {
  try {
    const s = statSync(join(ROOT, path));
    return [s.mtimeMs, s.size];
  } catch {
    return [0, -1];
  }
}

/**
 * The current build of `target` (absolute path of its entry file), or undefined when it is missing
 * or any file it was built from changed since (mtime or size; a deleted file counts).
 */
export function currentBuild(target) {
  const stamp = readStamp(target);
  if (!stamp || typeof stamp.entry !== 'string' || !stamp.inputs) return undefined;
  for (const [path, recorded] of Object.entries(stamp.inputs)) {
    const now = statOf(path);
    if (!recorded || now[0] !== recorded[0] || now[1] !== recorded[1]) return undefined;
  }
  const entry = join(DIST, stamp.entry);
  return existsSync(entry) ? entry : undefined;
}

/** Writes `contents` to `path` so that a reader sees either the old file or the whole new one. */
function writeAtomic(path, contents) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/** Builds `target` into dist/ and returns the absolute path of its entry file. Throws esbuild's errors. */
export async function build(target) {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown build target ${target}`);
  const { build: esbuild } = await import('esbuild');
  const started = Date.now();
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: { [target]: spec.entry },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Native and large packages load from node_modules as they are (better-sqlite3, node-llama-cpp, @temporalio/*).
    packages: 'external',
    splitting: spec.splitting,
    // Temporal names a failure by its error's constructor.name: bundling must not rename classes.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outdir: DIST,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  mkdirSync(DIST, { recursive: true });
  const outputs = [];
  let entry;
  for (const file of result.outputFiles) {
    const name = relative(DIST, file.path);
    outputs.push(name);
    if (result.metafile.outputs[relative(ROOT, file.path)]?.entryPoint === spec.entry) entry = name;
    // Hashed names: an existing file already holds these bytes; touched so pruning sees it in use.
    if (existsSync(file.path)) utimesSync(file.path, new Date(), new Date());
    else writeAtomic(file.path, file.contents);
  }
  if (!entry) throw new Error(`esbuild produced no entry file for ${spec.entry}`);
  for (const asset of ASSETS) {
    const bytes = readFileSync(join(ROOT, asset));
    const to = join(DIST, asset.split('/').pop());
    if (!existsSync(to) || !readFileSync(to).equals(bytes)) writeAtomic(to, bytes);
  }
  const inputs = {};
  for (const path of [...Object.keys(result.metafile.inputs), ...ASSETS, ...BUILD_INPUTS]) {
    const s = statOf(path);
    inputs[path] = s[0] < started - RACE_MS ? s : null;
  }
  writeAtomic(stampPath(target), `${JSON.stringify({ entry, outputs, builtAt: new Date(started).toISOString(), inputs }, null, 1)}\n`);
  prune();
  return join(DIST, entry);
}

/** Removes outputs no current stamp names, once they have been unused for KEEP_OLD_MS. */
function prune() {
  const keep = new Set(Object.keys(TARGETS).flatMap((t) => readStamp(t)?.outputs ?? []));
  const cutoff = Date.now() - KEEP_OLD_MS;
  for (const name of readdirSync(DIST)) {
    if (keep.has(name) || !/^(chunk|cli|worker)-[A-Z0-9]+\.js(\.map)?$|\.tmp$/.test(name)) continue;
    try {
      if (statSync(join(DIST, name)).mtimeMs < cutoff) unlinkSync(join(DIST, name));
    } catch {
      // Another build removed it first.
    }
  }
}

/** The entry file of a current build of `target`, building it first when needed. */
export async function ensureBuilt(target) {
  const current = currentBuild(target);
  if (current) return { entry: current, rebuilt: false };
  return { entry: await build(target), rebuilt: true };
}

/** esbuild's first error as one line (file:line: text), or the error's own first line. */
function firstError(err) {
  const e = err?.errors?.[0];
  if (e) return `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`;
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

/**
 * Runs `target` in this process from its current build (building it first when needed), with this
 * process's arguments. When the build fails the source runs through tsx instead, after one line
 * on stderr: a syntax error then reads as tsx reports it, and a missing esbuild stops nothing.
 */
export async function runBuilt(target, { sourceMaps = false } = {}) {
  let entry;
  try {
    ({ entry } = await ensureBuilt(target));
  } catch (err) {
    console.error(`[build] could not compile ${TARGETS[target].entry} (${firstError(err)}); running it through tsx`);
    // In this process, as the build would have run: same signals, same exit code.
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(ROOT, TARGETS[target].entry)).href);
    return;
  }
  // Stack traces name the TypeScript lines; read from the .map files, so only for a process that lives long enough to need them.
  if (sourceMaps) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(entry).href);
}

// `node scripts/build.mjs [target…]`: builds the targets named (default all), whether current or not.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const targets = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(TARGETS);
  for (const t of targets) {
    const t0 = performance.now();
    const entry = await build(t);
    console.error(`[build] ${t}: ${relative(ROOT, entry)} (${Math.round(performance.now() - t0)} ms)`);
  }
}
