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

/** Share of the attack's word 6-grams that also stand in a role prompt, and the first such phrase. */
export interface PromptOverlap {
  share: number;
  example?: string;
}

export const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

export function ngrams(text: string, n: number): string[] {
  const ws = words(text);
  return ws.length < n ? [] : ws.slice(n - 1).map((_, i) => ws.slice(i, i + n).join(' '));
}

/** Against the prompts' 6-grams (a set built once per prompt version, without the {{placeholders}}). */
export function promptOverlap(attack: AttackText, promptGrams: ReadonlySet<string>): PromptOverlap {
  const grams = ngrams([attack.question, ...attack.solutionSteps].join('\n'), 6);
  if (grams.length === 0) return { share: 0 };
  const hits = grams.filter((g) => promptGrams.has(g));
  return { share: hits.length / grams.length, ...(hits[0] ? { example: hits[0] } : {}) };
}
