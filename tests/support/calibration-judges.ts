import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDatasetsDir } from '../../activities/store/decontamination.js';
import type { RecordedRequest, ScriptedOpenAI, ScriptedResponse } from './scripted-openai.js';

/**
 * Scripted Judges for the calibration tests, on the scripted OpenAI-compatible server:
 * - `right`: a Judge that is right on calibration items. Items are built from GSM8K train
 *   (activities/game/calibration/set.ts), so it looks the question up in datasets/gsm8k/train.jsonl
 *   and compares the fenced REFERENCE_ANSWER and DEFENDER_ANSWER (activities/game/prompts.ts) with
 *   the true answer; junk (prompt or template text, steps that say nothing) is not a valid question.
 *   Any other prompt (the game's own episodes) is left to the game's script (tests/support/game-script.ts).
 * - `yes`: says "valid, reference verified, Defender wrong" to everything, calibration and game alike.
 * Which Judge answers is picked by the request's model name, so both can serve runs of one test file.
 */
export type CalibrationJudgeKind = 'right' | 'yes';

/** GSM8K train: each question and its final answer (the number after `####`, commas dropped). */
export function gsm8kTrainAnswers(datasetsDir = defaultDatasetsDir()): Map<string, number> {
  const rows = readFileSync(join(datasetsDir, 'gsm8k', 'train.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  return new Map(
    rows.map((l) => {
      const { question, answer } = JSON.parse(l) as { question: string; answer: string };
      return [question, Number(answer.split('####').at(-1)!.trim().replace(/,/g, ''))];
    }),
  );
}

/** The text of one data fence of the Judge's prompt (`<<<LABEL … LABEL>>>`), if it has it. */
function fenced(req: Pick<RecordedRequest, 'body'>, label: string): string | undefined {
  const text = (req.body?.messages ?? []).map((m: { content?: unknown }) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  return new RegExp(`<<<${label}\\n([\\s\\S]*?)\\n${label}>>>`).exec(text)?.[1];
}

const asNumber = (s: string | undefined): number => Number((s ?? '').trim().replace(/[,$]/g, ''));

/** Prompt or template text, or solution steps none of which says anything (at least three words). */
function junk(question: string, reference: string, steps: string): boolean {
  if (/\{\{|\}\}|answer in json|aim at a skill/i.test(`${question}\n${reference}\n${steps}`)) return true;
  return !steps.split('\n').some((s) => s.replace(/^\d+\.\s*/, '').split(/\s+/).filter((w) => /\w/.test(w)).length >= 3);
}

/** Whether a request is the Judge asked about a calibration item (a GSM8K train question, or junk). */
export function isCalibrationPrompt(req: Pick<RecordedRequest, 'body' | 'role'>, answers: Map<string, number>): boolean {
  const question = fenced(req, 'QUESTION');
  if (req.role !== 'judge' || question === undefined) return false;
  return answers.has(question) || junk(question, fenced(req, 'REFERENCE_ANSWER') ?? '', fenced(req, 'REFERENCE_STEPS') ?? '');
}

const verdict = (v: { questionValid: boolean; referenceCorrect: boolean; defenderCorrect: boolean }, explanation: string): ScriptedResponse => ({
  json: { ...v, complexity: 2, hops: 2, quality: 3.0, explanation },
});

/** The right Judge's verdict on a calibration item; undefined for any other prompt. */
function rightVerdict(req: RecordedRequest, answers: Map<string, number>): ScriptedResponse | undefined {
  if (!isCalibrationPrompt(req, answers)) return undefined;
  const truth = answers.get(fenced(req, 'QUESTION')!);
  if (truth === undefined) return verdict({ questionValid: false, referenceCorrect: false, defenderCorrect: false }, 'Prompt text or empty steps, not a question.');
  return verdict(
    { questionValid: true, referenceCorrect: asNumber(fenced(req, 'REFERENCE_ANSWER')) === truth, defenderCorrect: asNumber(fenced(req, 'DEFENDER_ANSWER')) === truth },
    `Recomputed: ${truth}.`,
  );
}

/**
 * Installs the Judges on the server (as its interceptor): requests for the judge models named in
 * `judges` are answered by that Judge; everything else goes on to the server's script.
 */
export function scriptCalibrationJudges(server: ScriptedOpenAI, judges: Record<string, CalibrationJudgeKind>, answers = gsm8kTrainAnswers()): void {
  server.intercept((req) => {
    const kind = req.role === 'judge' ? judges[String(req.body?.model)] : undefined;
    if (kind === 'yes') return verdict({ questionValid: true, referenceCorrect: true, defenderCorrect: false }, 'Valid, and the reference is verified.');
    if (kind === 'right') return rightVerdict(req, answers);
    return undefined;
  });
}

/** Calibration prompts the server received for a judge model so far. */
export function calibrationPrompts(server: ScriptedOpenAI, model: string, answers: Map<string, number>): number {
  return server.chatRequests().filter((r) => r.body?.model === model && isCalibrationPrompt(r, answers)).length;
}
