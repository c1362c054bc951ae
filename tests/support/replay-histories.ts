import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv } from '../../common/env.js';

/** The committed histories that tests/replay/replay.test.ts replays (layout in tests/replay/histories/README.md). */
export const REPLAY_HISTORIES = join(import.meta.dirname, '..', 'replay', 'histories');

/** Where histories are read and refreshed: `REPLAY_HISTORIES_DIR` (a scratch copy) when set, else the committed folder. */
export const historiesDir = (): string => readEnv().replayHistoriesDir ?? REPLAY_HISTORIES;

/** Every saved history under `dir`, as paths relative to it (`run/v1.json`), in a stable order. */
export function savedHistories(dir = historiesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.json'))
    .map((p) => p.split('\\').join('/'))
    .sort();
}

/**
 * Writes `history` as the next version of `kind` (`<dir>/<kind>/v<N>.json`, N one past the highest
 * there) and returns its path. An existing file is never overwritten: old versions are what prove
 * that runs started by earlier code still replay.
 */
export function writeHistoryVersion(kind: string, history: Parameters<typeof historyToJSON>[0], dir = historiesDir()): string {
  const folder = join(dir, kind);
  mkdirSync(folder, { recursive: true });
  const versions = readdirSync(folder).map((n) => /^v(\d+)\.json$/.exec(n)?.[1]).filter((n) => n !== undefined).map(Number);
  const path = join(folder, `v${Math.max(0, ...versions) + 1}.json`);
  // 'wx' fails if the file exists, e.g. when two refreshes race for the same version.
  writeFileSync(path, historyToJSON(history), { flag: 'wx' });
  return path;
}

/** Saves a fresh history as the next version of `kind` when the run was asked to (`UPDATE_REPLAY_HISTORIES=1`). */
export function refreshReplayHistory(kind: string, history: Parameters<typeof historyToJSON>[0]): string | undefined {
  return readEnv().updateReplayHistories ? writeHistoryVersion(kind, history) : undefined;
}
