import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../kit/files.js';
import type { RunCalibration } from './measures.js';

/**
 * The run's Judge calibration kept beside its dataset (runs/<run>/calibration.json): the run's
 * export writes what the workflow measured, and `nanoflux export` and the run's report.md, which
 * have no workflow state, read it back.
 */
export const CALIBRATION_FILE = 'calibration.json';

export function writeRunCalibration(dir: string, c: RunCalibration): string {
  const path = join(dir, CALIBRATION_FILE);
  writeFileAtomic(path, JSON.stringify({ calibration: c.calibration ?? [], ...(c.judgeAccepted ? { judgeAccepted: c.judgeAccepted } : {}) }, null, 2) + '\n');
  return path;
}

/** What the run's export recorded; nothing when it recorded nothing (a run from before calibration). */
export function readRunCalibration(dir: string): RunCalibration {
  const path = join(dir, CALIBRATION_FILE);
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message}); delete it or re-run the export from the run`);
  }
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as RunCalibration).calibration)) {
    throw new Error(`${path}: expected {"calibration": [...]}; delete it or re-run the export from the run`);
  }
  return parsed as RunCalibration;
}
