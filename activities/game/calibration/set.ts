import { join } from 'node:path';
import { normalizeNumber, numericEqual } from '../../../common/answers.js';
import type { Attack, Defense } from '../../../common/contracts/index.js';
import { readJsonl } from '../../kit/files.js';
import { loadPubmedQaRecords } from '../../kit/benchmarks.js';

/**
 * The Judge's calibration set: labelled items built from a benchmark's TRAIN split (never the test
 * split that evaluation and decontamination use), each a question with a true or a corrupted
 * reference and a right or wrong Defender answer, plus junk. Deterministic for (source, size, seed),
 * so a cached calibration is found again after a reset or a resume-from.
 */
export type CalibrationSource = 'gsm8k-train' | 'pubmedqa-train';

export type CalibrationKind = 'defender_right' | 'defender_wrong' | 'reference_wrong' | 'junk';

/** What a correct Judge says; null where a field has no right answer (a junk item's reference). */
export interface CalibrationLabels {
  questionValid: boolean;
  referenceCorrect: boolean | null;
  defenderCorrect: boolean | null;
}

export interface CalibrationItem {
  id: string;
  kind: CalibrationKind;
  attack: Attack;
  defense: Defense;
  labels: CalibrationLabels;
}

/** The one kind a Judge should let through: valid, true reference, Defender wrong. */
export const acceptable = (l: CalibrationLabels): boolean => l.questionValid && l.referenceCorrect === true && l.defenderCorrect === false;

/** The source for a domain: its pack or benchmark picks one; none means no labelled set exists. */
export function calibrationSource(pack: string, benchmark: string | undefined): CalibrationSource | undefined {
  if (pack === 'math' || benchmark === 'gsm8k' || benchmark === 'gsmhard') return 'gsm8k-train';
  if (pack === 'medical' || benchmark === 'pubmedqa') return 'pubmedqa-train';
  return undefined;
}

interface Seed {
  id: string;
  question: string;
  reference: string;
  steps: string[];
  corrupt(k: number): string;
}

export function buildCalibrationSet(source: CalibrationSource, datasetsDir: string, size: number, seed = 1): CalibrationItem[] {
  const seeds = source === 'gsm8k-train' ? gsm8kTrain(datasetsDir) : pubmedqaTrain(datasetsDir);
  const order = shuffled(seeds.length, seed);
  const junk = Math.max(2, Math.round(size * 0.1));
  const kinds: CalibrationKind[] = ['defender_wrong', 'defender_right', 'reference_wrong'];
  const items: CalibrationItem[] = [];
  for (let i = 0; i < size - junk; i++) items.push(labelled(seeds[order[i]!]!, kinds[i % 3]!, i));
  for (let j = 0; j < junk; j++) items.push(junkItem(seeds[order[size - junk + j]!]!, j));
  return items;
}

function labelled(s: Seed, kind: CalibrationKind, i: number): CalibrationItem {
  const wrong = s.corrupt(i);
  const reference = kind === 'reference_wrong' ? wrong : s.reference;
  const defenderAnswer = kind === 'defender_wrong' ? wrong : s.reference;
  return {
    id: `${s.id}/${kind}`,
    kind,
    attack: attack(s.question, reference, s.steps),
    defense: { reasoning: [...s.steps.slice(0, -1), `So the answer is ${defenderAnswer}.`].join('\n'), answer: defenderAnswer },
    labels: { questionValid: true, referenceCorrect: kind !== 'reference_wrong', defenderCorrect: kind !== 'defender_wrong' },
  };
}

/** The junk the tiny models produce: the prompt read back, template text, no steps. */
function junkItem(s: Seed, j: number): CalibrationItem {
  const shapes = [
    { question: 'Aim at a skill the Defender fails on, or one it has not been tested on.', reference: '{{response}}', steps: ['1.', 'Question:'] },
    { question: `${s.question.split(/[.?]/)[0]}. Answer in JSON only.`, reference: s.reference, steps: ['The answer comes from the question.'] },
  ];
  const shape = shapes[j % shapes.length]!;
  return {
    id: `${s.id}/junk-${j}`,
    kind: 'junk',
    attack: attack(shape.question, shape.reference, shape.steps),
    defense: { reasoning: 'The question gives the answer.', answer: s.reference },
    labels: { questionValid: false, referenceCorrect: null, defenderCorrect: null },
  };
}

const attack = (question: string, referenceAnswer: string, solutionSteps: string[]): Attack => ({
  question,
  referenceAnswer,
  solutionSteps,
  skill: 'calibration',
  annotation: 'A calibration item with a known verdict.',
});

function gsm8kTrain(dir: string): Seed[] {
  return (readJsonl(join(dir, 'gsm8k', 'train.jsonl')) as { question: string; answer: string }[]).map((row, line) => {
    const [work = '', final = ''] = row.answer.split('####');
    const reference = normalizeNumber(final) ?? final.trim();
    const steps = work.replace(/<<[^>]*>>/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
    return { id: `gsm8k-train-${line}`, question: row.question, reference, steps, corrupt: (k) => perturbNumber(reference, k) };
  });
}

/** PubMedQA's labelled set less its test split; the long answer is the reasoning. */
function pubmedqaTrain(dir: string): Seed[] {
  const test = new Set(loadPubmedQaRecords(join(dir, 'pubmedqa')).map((r) => r.id));
  const all = loadPubmedQaRecords(join(dir, 'pubmedqa', 'ori_pqal.json'), true);
  const swap: Record<string, string> = { yes: 'no', no: 'yes', maybe: 'yes' };
  return all
    .filter((r) => !test.has(r.id))
    .map((r) => ({
      id: `pubmedqa-train-${r.id}`,
      question: `${r.contexts.join('\n\n')}\n\n${r.question} Answer yes, no, or maybe.`,
      reference: r.reference,
      steps: [`The abstract's findings bear on the question directly.`, `Its conclusion supports "${r.reference}".`],
      corrupt: () => swap[r.reference]!,
    }));
}

/** A different number, by one of a few plausible slips (off by one, doubled, off by ten, halved). */
export function perturbNumber(reference: string, k: number): string {
  const x = Number(reference);
  if (!Number.isFinite(x)) return `${reference}1`;
  const slips = [x + 1, x * 2 === x ? x + 2 : x * 2, x + 10, x > 1 ? Math.round(x / 2) : x + 3, x > 1 ? x - 1 : x + 5];
  const pick = slips[k % slips.length]!;
  const out = numericEqual(String(pick), reference) ? x * 2 + 7 : pick;
  return normalizeNumber(String(out)) ?? String(out);
}

/** A seeded permutation of 0..n-1 (Fisher–Yates over a 32-bit LCG): the same items for the same seed. */
function shuffled(n: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let s = (seed * 2654435761) >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}
