import { wilson } from '../../../common/stats.js';
import { extractChoice, extractNumericAnswer, numericEqual } from '../../../common/answers.js';
import type { BenchmarkName, VariantScore } from '../../../common/contracts/index.js';
import type { BenchmarkItem } from '../../kit/benchmarks.js';
import { readJsonlRows } from '../../kit/files.js';

export interface Prediction {
  id: string;
  prediction: string;
}

export interface ItemScore {
  id: string;
  reference: string;
  /** What the scorer read from the prediction; null when it found nothing or there was no prediction. */
  extracted: string | null;
  correct: boolean;
}

/** What scoring a variant's predictions gives: its score (part of its VariantResult) and how each item fared (scores.json). */
export interface ScoreReport extends VariantScore {
  /** Items with no prediction: scored wrong (a model that skips hard items must not gain by it). */
  missing: string[];
  items: ItemScore[];
}

export { wilson };

const listed = (ids: string[]) => (ids.length > 20 ? `${ids.slice(0, 20).join(', ')} … (${ids.length} in all)` : ids.join(', '));

/**
 * Scores predictions against a benchmark's items. Numeric benchmarks (gsm8k, gsmhard) compare the
 * extracted number with `numericEqual`; closed-answer ones (pubmedqa, mcq) compare `extractChoice`
 * with the reference. A prediction for an id the benchmark lacks, or two for one id, is an error:
 * either means the predictions were made against another file, and a silent score would mislead.
 */
export function scorePredictions(benchmark: BenchmarkName, items: BenchmarkItem[], predictions: Prediction[]): ScoreReport {
  const known = new Set(items.map((i) => i.id));
  const byId = new Map<string, string>();
  const unknown: string[] = [];
  const duplicate: string[] = [];
  for (const p of predictions) {
    if (!known.has(p.id)) unknown.push(p.id);
    else if (byId.has(p.id)) duplicate.push(p.id);
    else byId.set(p.id, p.prediction);
  }
  if (unknown.length > 0) throw new Error(`${unknown.length} prediction(s) for ids not in ${benchmark}: ${listed(unknown)}`);
  if (duplicate.length > 0) throw new Error(`more than one prediction for id(s): ${listed(duplicate)}`);

  const numeric = benchmark === 'gsm8k' || benchmark === 'gsmhard';
  const missing: string[] = [];
  const scored = items.map((item): ItemScore => {
    const prediction = byId.get(item.id);
    if (prediction === undefined) {
      missing.push(item.id);
      return { id: item.id, reference: item.reference, extracted: null, correct: false };
    }
    const answer = afterThinking(prediction);
    const extracted = numeric ? extractNumericAnswer(answer) : extractChoice(answer, item.choices ?? []);
    const correct = extracted !== undefined && (numeric ? numericEqual(extracted, item.reference) : extracted === item.reference);
    return { id: item.id, reference: item.reference, extracted: extracted ?? null, correct };
  });
  const correct = scored.filter((s) => s.correct).length;
  const n = items.length;
  return { benchmark, n, correct, accuracy: n === 0 ? 0 : correct / n, ci95: wilson(correct, n), missing, items: scored };
}

/**
 * Predictions JSONL: `{"id": …, "prediction": "…"}` per line. A line without `id` takes its 0-based
 * line number, matching the line-number ids of gsm8k/gsmhard, so predictions written in file order
 * need no ids. A broken line or a missing `prediction` names the file and line.
 */
export function loadPredictions(file: string): Prediction[] {
  return readJsonlRows(file).map(({ line, value }) => {
    const where = `${file}:${line + 1}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected an object with "prediction"`);
    const row = value as { id?: unknown; prediction?: unknown };
    if (typeof row.prediction !== 'string') throw new Error(`${where}: no "prediction" string`);
    if (row.id !== undefined && row.id !== null && typeof row.id !== 'string' && typeof row.id !== 'number') throw new Error(`${where}: "id" must be a string or a number`);
    const id = row.id === undefined || row.id === null ? String(line) : String(row.id);
    return { id, prediction: row.prediction };
  });
}

/**
 * The part of a prediction that answers: after a thinking model's `</think>` (an `Answer:` it tried
 * while thinking is not its answer), nothing when the thinking never closed (cut off by
 * maxNewTokens: no answer was given). A prediction without a think block is all answer.
 */
export function afterThinking(prediction: string): string {
  const close = prediction.lastIndexOf('</think>');
  if (close !== -1) return prediction.slice(close + '</think>'.length);
  return /^\s*<think>/.test(prediction) ? '' : prediction;
}
