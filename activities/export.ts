import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The formats live in export-formats.ts; re-exported so existing imports keep working.
export { toOpenAIChat } from './export-formats.js';

export const runDir = (home: string, runId: string): string => join(home, 'runs', runId);

/** Writes through a temporary file and a rename, so a retried export replaces rather than appends, and a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeJsonl(path: string, rows: unknown[]): void {
  writeFileAtomic(path, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}
