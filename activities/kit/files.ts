import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where a run's files live under NANOFLUX_HOME: the export, stage files, the report. */
export const runDir = (home: string, runId: string): string => join(home, 'runs', runId);

/** Writes through a temporary file and a rename, so a retried export replaces rather than appends, and a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** One JSON document a line, written atomically (a retry replaces the file, never appends to it). */
/** JSON Lines: one row per line, a newline after each. */
export function jsonlText(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

export function writeJsonl(path: string, rows: unknown[]): void {
  writeFileAtomic(path, jsonlText(rows));
}

/**
 * Every non-blank line of a JSONL file with its 0-based line number: ids and field errors point at
 * the real line even when a file has blank lines. A broken line names its file and line (1-based)
 * so the dataset can be fixed.
 */
export function readJsonlRows(file: string): { line: number; value: unknown }[] {
  const rows: { line: number; value: unknown }[] = [];
  readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((text, line) => {
      if (text.trim() === '') return;
      try {
        rows.push({ line, value: JSON.parse(text) });
      } catch (e) {
        throw new Error(`${file}:${line + 1}: invalid JSON line: ${(e as Error).message}`);
      }
    });
  return rows;
}

/** The values of `readJsonlRows`. */
export const readJsonl = (file: string): unknown[] => readJsonlRows(file).map((r) => r.value);
