import { extractChoice, extractNumericAnswer, normalizeNumber, numericEqual } from './answers.js';

/**
 * What kind of final answer a question asks for, read from the question and its domain pack: the
 * deterministic checks of an episode (the junk guard on the reference, the Defender's correctness)
 * follow from it. Pure: workflow code decides with it, and the same rules score evaluation answers
 * (common/answers.ts).
 */
export type AnswerKind =
  | { kind: 'numeric'; reference: string }
  | { kind: 'options'; choices: string[]; reference: string }
  | { kind: 'free' };

const WORD_OPTIONS: { pattern: RegExp; choices: string[] }[] = [
  { pattern: /\byes\b[^.?!\n]{0,20}\bno\b[^.?!\n]{0,20}\bmaybe\b/i, choices: ['yes', 'no', 'maybe'] },
  { pattern: /\b(?:answer|reply|respond)\b[^.?!\n]{0,30}\byes\b\s*(?:or|\/)\s*\bno\b/i, choices: ['yes', 'no'] },
];

/**
 * The options a question states: lettered lines ("A. …", "(B) …", "C) …", at least two, from A on
 * in order) or an explicit yes/no(/maybe) instruction. Undefined when it states none.
 */
export function statedOptions(question: string): string[] | undefined {
  const letters: string[] = [];
  for (const line of question.split('\n')) {
    const m = /^\s*\(?([A-H])[).:]\s+\S/.exec(line);
    if (m && m[1] === String.fromCharCode(65 + letters.length)) letters.push(m[1]);
  }
  if (letters.length >= 2) return letters;
  return WORD_OPTIONS.find((w) => w.pattern.test(question))?.choices;
}

/**
 * The answer kind of an attack, or why its stated final answer cannot be one: a question with
 * stated options needs a reference among them; a math question needs a number; elsewhere a number
 * is compared as a number and anything else is left to the Judge.
 */
export function answerKind(pack: string, question: string, referenceAnswer: string): AnswerKind | { unparseable: string } {
  const choices = statedOptions(question);
  if (choices) {
    const reference = extractChoice(referenceAnswer, choices);
    return reference === undefined ? { unparseable: `the reference "${clip(referenceAnswer)}" is none of the stated options ${choices.join('/')}` } : { kind: 'options', choices, reference };
  }
  const number = numericReference(referenceAnswer);
  if (number !== undefined) return { kind: 'numeric', reference: number };
  if (pack === 'math') return { unparseable: `the reference "${clip(referenceAnswer)}" is not a number` };
  return { kind: 'free' };
}

/**
 * A reference answer that is one number, perhaps with a unit or currency ("$18", "42 apples",
 * "12.5%"): the number. A sentence that happens to contain numbers is not a numeric reference.
 */
function numericReference(text: string): string | undefined {
  const t = text.trim();
  const n = extractNumericAnswer(t);
  if (n === undefined) return undefined;
  const words = t.replace(/[^A-Za-z]+/g, ' ').trim().split(/\s+/).filter(Boolean);
  return words.length <= 3 ? normalizeNumber(n) ?? n : undefined;
}

/**
 * The Defender's correctness by rule, where the rule can decide: option match, or numeric equality
 * when the Defender's answer holds a number. Undefined leaves it to the Judge.
 */
export function correctByRule(kind: AnswerKind, defenderAnswer: string): boolean | undefined {
  if (kind.kind === 'options') {
    const picked = extractChoice(defenderAnswer, kind.choices);
    return picked === undefined ? false : picked === kind.reference;
  }
  if (kind.kind === 'numeric') {
    const n = extractNumericAnswer(defenderAnswer);
    return n === undefined ? undefined : numericEqual(n, kind.reference);
  }
  return undefined;
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
