import { type AttackText, type PromptOverlap, words } from '../../common/prompt-overlap.js';
import type { JunkReason } from '../../common/contracts/game.js';
import { answerKind } from '../../common/answer-kind.js';

/**
 * Junk guards: checks on an attack before any Defender or Judge token is spent on it. Each names
 * the reason it rejects, and that name is the episode's outcome, counted in status and report.
 * Pure (workflow code): the one input measured outside is how much of the attack repeats the role
 * prompts (`promptOverlap`, measured by the attack activity, which has the prompt texts).
 */


/** Above this share of 6-grams taken from the prompts, the attack is the prompt read back. */
export const PROMPT_OVERLAP_LIMIT = 0.3;

/**
 * Template and instruction text that never belongs in a question or its solution: placeholders,
 * the prompts' data fences and field names, and the instructions the tiny models echo.
 */
const LEAK_MARKERS: { pattern: RegExp; what: string }[] = [
  { pattern: /\{\{[^}]*\}\}|\{[a-z_]+\}/i, what: 'a template placeholder' },
  { pattern: /<<<|>>>/, what: 'a data fence' },
  { pattern: /\bROLE:\s*(?:attacker|defender|judge)\b/i, what: 'a role header' },
  { pattern: /\banswer in json\b/i, what: '"Answer in JSON"' },
  { pattern: /\b(?:referenceAnswer|solutionSteps|questionValid|referenceCorrect|defenderCorrect)\b/, what: 'a JSON field name' },
  { pattern: /\baim at a skill\b|\bthe defender\b|\bthe attacker\b/i, what: 'the game\'s instructions' },
];

/** "Question:" opening a step, or standing as a step by itself: a template's label, not reasoning. */
const LABEL_STEP = /^\s*(?:\d+[.)]\s*)?(?:question|answer|steps?|solution)\s*:\s*$/i;

const ASKS = /\?|\b(?:how (?:many|much|long|far|old)|what (?:is|was|are|were|will|would)|which|find|calculate|compute|determine|work out)\b/i;

export function screenAttack(pack: string, attack: AttackText, overlap: PromptOverlap): { reason: JunkReason; detail: string } | null {
  const all = [attack.question, attack.referenceAnswer, ...attack.solutionSteps].join('\n');
  for (const m of LEAK_MARKERS) {
    if (m.pattern.test(all)) return { reason: 'prompt_leak', detail: `contains ${m.what}` };
  }
  if (overlap.share > PROMPT_OVERLAP_LIMIT) {
    return { reason: 'prompt_leak', detail: `${Math.round(overlap.share * 100)}% of its phrases are the role prompts'${overlap.example ? ` ("${overlap.example}")` : ''}` };
  }
  const steps = degenerateSteps(attack.solutionSteps);
  if (steps) return { reason: 'degenerate_steps', detail: steps };
  // Each part alone: a loop in one step is diluted in the whole text.
  const repeated = [attack.question, attack.referenceAnswer, attack.solutionSteps.join('\n')].map(repeatedTokens).find(Boolean);
  if (repeated) return { reason: 'repeated_tokens', detail: repeated };
  if (!asksSomething(attack.question)) return { reason: 'no_question', detail: 'the question asks nothing' };
  const kind = answerKind(pack, attack.question, attack.referenceAnswer);
  if ('unparseable' in kind) return { reason: 'answer_unparseable', detail: kind.unparseable };
  return null;
}

function degenerateSteps(steps: string[]): string | undefined {
  const real = steps.map((s) => s.trim()).filter((s) => s.replace(/^\d+[.)]\s*/, '').replace(/[^\p{L}\p{N}]+/gu, '').length >= 3);
  if (real.length === 0) return 'no solution step says anything';
  if (steps.some((s) => LABEL_STEP.test(s))) return 'a step is a bare label ("Question:")';
  const distinct = new Set(real.map((s) => s.toLowerCase().replace(/^\d+[.)]\s*/, '')));
  if (real.length >= 2 && distinct.size === 1) return 'every step says the same';
  return undefined;
}


function repeatedTokens(text: string): string | undefined {
  const ws = words(text);
  let run = 1;
  for (let i = 1; i < ws.length; i++) {
    run = ws[i] === ws[i - 1] ? run + 1 : 1;
    if (run >= 4) return `"${ws[i]}" ${run} times in a row`;
  }
  if (ws.length >= 30) {
    const counts = new Map<string, number>();
    for (const w of ws) if (w.length > 2) counts.set(w, (counts.get(w) ?? 0) + 1);
    const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    if (n / ws.length > 0.25) return `"${top}" is ${Math.round((n / ws.length) * 100)}% of the words`;
    // A looping generation repeats a whole phrase: few distinct 4-grams among many.
    const grams = new Set(ws.slice(3).map((_, i) => ws.slice(i, i + 4).join(' ')));
    if (grams.size / (ws.length - 3) < 0.4) return 'the text loops over the same phrases';
  }
  return undefined;
}

function asksSomething(question: string): boolean {
  return words(question).length >= 3 && ASKS.test(question);
}
