import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Attack, Defense } from '../../../common/contracts/index.js';
import { ErrorType, NanofluxError } from '../../../common/errors.js';
import { writeFileAtomic } from '../../kit/files.js';
import type { CalibrationOutcome } from '../../../common/contracts/calibration.js';
import { type JudgeAnswer, scoreCalibration } from './score.js';
import { buildCalibrationSet, calibrationSource } from './set.js';

export interface CalibrationRequest {
  domain: { name: string; pack: string; benchmark?: string; promptVersion: string };
  /** What identifies the Judge for the cache: its model ref without secrets (a ref names its key's variable, never the key). */
  judgeIdentity: unknown;
  judgeModel: string;
  items: number;
  minAgreement: number;
  seed?: number;
}

export type { CalibrationOutcome };

/** Judges one item; throws when the call fails for good (counted as a disagreement, never as agreement). */
export type JudgeItem = (attack: Attack, defense: Defense) => Promise<NonNullable<JudgeAnswer>>;

/**
 * A Judge that cannot answer an item in schema (or whose request is refused) disagrees with its
 * label; a transient failure (429, 5xx, timeout) goes back to Temporal for a retry, keeping the
 * answers already received.
 */
function answerOrRethrow(e: unknown): null {
  const type = e instanceof NanofluxError ? e.type : undefined;
  if (type === ErrorType.ModelOutputInvalid || type === ErrorType.ModelRequestRejected) return null;
  throw e;
}

/** Items in flight at once: a real endpoint takes them in parallel; the embedded model queues them anyway. */
const PARALLEL = 4;

/**
 * Runs the Judge over the domain's calibration set and scores it. Cached on disk by Judge, prompt
 * version, pack, source, size and seed: a reset or a resume-from finds the result instead of paying
 * for it again, and answers already received are kept across a retry (one file per answer set).
 */
export async function calibrateJudge(home: string, datasetsDir: string, req: CalibrationRequest, judge: JudgeItem, progress?: (done: number, total: number) => void): Promise<CalibrationOutcome> {
  const source = calibrationSource(req.domain.pack, req.domain.benchmark);
  if (!source) return { domain: req.domain.name, skipped: `no labelled calibration set for pack "${req.domain.pack}"${req.domain.benchmark ? ` and benchmark "${req.domain.benchmark}"` : ''}` };
  const key = createHash('sha256')
    .update(JSON.stringify({ judge: req.judgeIdentity, prompt: req.domain.promptVersion, pack: req.domain.pack, source, items: req.items, seed: req.seed ?? 1 }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(home, 'calibration');
  const answersFile = join(dir, `${key}.answers.json`);
  const items = buildCalibrationSet(source, datasetsDir, req.items, req.seed ?? 1);
  const answers: (JudgeAnswer | undefined)[] = existsSync(answersFile) ? (JSON.parse(readFileSync(answersFile, 'utf8')) as (JudgeAnswer | undefined)[]) : [];
  const cached = items.every((_, i) => answers[i] !== undefined);
  let done = answers.filter((a) => a !== undefined).length;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      if (answers[i] !== undefined) continue;
      const it = items[i]!;
      answers[i] = await judge(it.attack, it.defense).catch(answerOrRethrow);
      done++;
      writeFileAtomic(answersFile, JSON.stringify(answers));
      progress?.(done, items.length);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const report = scoreCalibration(items, answers as JudgeAnswer[], { source, judgeModel: req.judgeModel, promptVersion: req.domain.promptVersion, minAgreement: req.minAgreement });
  writeFileAtomic(join(dir, `${key}.report.json`), JSON.stringify(report, null, 2));
  return { domain: req.domain.name, report, cached };
}
