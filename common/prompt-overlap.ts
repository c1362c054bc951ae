/**
 * How much of an attack repeats the role prompts: the tiny models read their instructions back as
 * questions. Measured by the attack activity (it has the prompt texts), judged by the junk guards
 * (workflows/logic/junk.ts). Pure and dependency-free: both sides import it.
 */
export interface AttackText {
  question: string;
  referenceAnswer: string;
  solutionSteps: string[];
}

/** Share of the attack's word 6-grams (or of its question's: see `promptOverlap`) that also stand in a role prompt, and the first such phrase. */
export interface PromptOverlap {
  share: number;
  example?: string;
}

export const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export function ngrams(text: string, n: number): string[] {
  const ws = words(text);
  return ws.length < n ? [] : ws.slice(n - 1).map((_, i) => ws.slice(i, i + n).join(' '));
}

/**
 * Against the prompts' 6-grams (a set built once per prompt version, without the {{placeholders}}):
 * the larger of the share over the whole attack and over the question alone. An instruction read
 * back at the head of a question is otherwise diluted by the steps after it (a question that was
 * 60% the math notes measured 30% overall: tests/fixtures/judge-gate, prompt_leak domain_notes).
 */
export function promptOverlap(attack: AttackText, promptGrams: ReadonlySet<string>): PromptOverlap {
  const whole = overlapOf(ngrams([attack.question, ...attack.solutionSteps].join('\n'), 6), promptGrams);
  const question = overlapOf(ngrams(attack.question, 6), promptGrams);
  return question.share > whole.share ? question : whole;
}

function overlapOf(grams: string[], promptGrams: ReadonlySet<string>): PromptOverlap {
  if (grams.length === 0) return { share: 0 };
  const hits = grams.filter((g) => promptGrams.has(g));
  return { share: hits.length / grams.length, ...(hits[0] ? { example: hits[0] } : {}) };
}
