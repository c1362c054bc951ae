import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MissingResource } from '../../common/errors.js';
import { writeFileAtomic } from '../kit/files.js';

/**
 * Stage files carried between data dirs in Temporal payloads, so a fine-tune or an evaluation batch
 * runs on a host that shares no filesystem with the run's owner (docs/architecture.md, "Stage files
 * between hosts"). A bundle is gzip'd JSON of the files by their path relative to the data dir: the
 * stage layout (layout.ts) is a function of run, domain, variant and batch alone, so a path means the
 * same file on every host.
 *
 * Temporal refuses a payload over 2 MB (the server's blob limit). A bundle is an activity's whole
 * argument, so it travels as binary (no base64); what does not fit is not shipped: the bundle then
 * says the files stay with their owner, and only a worker on the owner's data dir (the same host, or
 * a shared filesystem) can use them.
 */
export const SHIPPED_MAX_BYTES = 1_900_000;

interface Bundle {
  files: Record<string, string>;
  /** Not shipped (too large): the files are on the data dir with this id, for this reason. */
  kept?: { owner: string; reason: string };
}

/** The files by their path relative to the data dir, gzip'd. */
const pack = (home: string, paths: string[]): Buffer => gzipSync(JSON.stringify({ files: Object.fromEntries(paths.map((p) => [relativeTo(home, p), readFileSync(p, 'utf8')])) } satisfies Bundle));

/** A data dir's files as one bundle; over the payload limit, a bundle that says they stayed with `owner`. */
export function packFiles(home: string, paths: string[], owner: string): Uint8Array {
  const packed = pack(home, paths);
  if (packed.byteLength <= SHIPPED_MAX_BYTES) return packed;
  const reason = `${paths.length} stage file(s) of ${mb(packed.byteLength)} compressed are over the ${mb(SHIPPED_MAX_BYTES)} a Temporal payload carries`;
  return gzipSync(JSON.stringify({ files: {}, kept: { owner, reason } } satisfies Bundle));
}

/** Files that go back to the owner in an activity's result (a JSON field, so base64); too large for a payload is an error the caller can act on. */
export function packReturnedFiles(home: string, paths: string[], what: string): string {
  const packed = pack(home, paths);
  if (packed.byteLength * 4 / 3 > SHIPPED_MAX_BYTES) throw new MissingResource(`${what} is ${mb(packed.byteLength)} compressed, over the ${mb(SHIPPED_MAX_BYTES)} a Temporal payload carries back: lower evaluate.batchSize`);
  return packed.toString('base64');
}

/**
 * Writes a bundle's files under `home` (each only when its content differs, so the owner's own files
 * are left alone) and returns their paths. A bundle whose files stayed with another data dir is an
 * error here; on that data dir itself (`self`), they are already in place.
 */
export function unpackFiles(home: string, bundle: Uint8Array | string, self?: string): string[] {
  const raw = typeof bundle === 'string' ? Buffer.from(bundle, 'base64') : Buffer.from(bundle);
  const { files, kept } = JSON.parse(gunzipSync(raw).toString('utf8')) as Bundle;
  if (kept && kept.owner !== self) {
    throw new MissingResource(`${kept.reason}: serve nanoflux-train from a worker on the run's data dir (the same NANOFLUX_HOME, e.g. on a shared filesystem), or make the files smaller`);
  }
  return Object.entries(files).map(([rel, text]) => {
    const path = join(home, safeRelative(rel));
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileAtomic(path, text);
    return path;
  });
}

export function isInDataDir(home: string, path: string): boolean {
  const rel = relative(home, path);
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

function relativeTo(home: string, path: string): string {
  if (!isInDataDir(home, path)) throw new Error(`${path} is not in the data dir ${home}`);
  return relative(home, path).split(sep).join('/');
}

/** A bundle names files inside the data dir only: a path that climbs out of it is refused, never written. */
function safeRelative(rel: string): string {
  const n = normalize(rel);
  if (isAbsolute(n) || n === '..' || n.startsWith(`..${sep}`) || n.startsWith('../')) throw new Error(`shipped file ${JSON.stringify(rel)} is outside the data dir`);
  return n;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
