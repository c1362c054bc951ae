/**
 * The word problems of the paper rehearsal's stand-in players (scripts/lib/stand-in/server.ts): a
 * quantity changed by 1–5 operations, told in varied words. One grammar serves both sides: the
 * stand-in Attacker writes in it, the stand-in Judge and Defender read the operations back from the
 * question's text alone (no shared memory), so what the Judge confirms is recomputed from what was
 * asked. Pure and seeded: the same seed writes the same problem.
 */

import { mulberry32 } from '../../../common/paired-stats.js';

export type Op = { kind: 'add' | 'sub' | 'mul' | 'div'; by: number };

export interface Problem {
  question: string;
  start: number;
  ops: Op[];
  answer: number;
  /** The reference solution's steps at the drawn level of detail (what the Judge's quality grades). */
  steps: string[];
  program: string;
  annotation: string;
}

/** How much working a reference solution shows: the quality axis of the ablation. */
export type Detail = 'explained' | 'terse' | 'gaps';

const NAMES = ['Mia', 'Omar', 'Lena', 'Ravi', 'Sofia', 'Tariq', 'Yuki', 'Bruno', 'Nadia', 'Ezra', 'Ines', 'Kofi', 'Priya', 'Hugo', 'Zara', 'Milan'];
const THINGS = ['marbles', 'stickers', 'apples', 'pencils', 'coins', 'seashells', 'postcards', 'beads', 'cookies', 'stamps', 'tickets', 'buttons', 'eggs', 'bolts', 'candles', 'cards'];
const PLACES = ['at the market', 'after school', 'on Saturday', 'at the fair', 'in the workshop', 'at the library', 'before lunch', 'on the trip'];

/** Each operation's phrasings; `{x}` is its number. The parser below recognises exactly these. */
const SAY: Record<Op['kind'], string[]> = {
  add: ['Then they get {x} more.', 'Next, a friend gives them {x} more.', 'Later they find {x} more.'],
  sub: ['Then they give away {x}.', 'Next, {x} of them are lost.', 'Later they sell {x} of them.'],
  mul: ['Then the amount is multiplied by {x}.', 'Next, they end up with {x} times as many.'],
  div: ['Then they split them into {x} equal groups and keep one group.', 'Next, they share them equally among {x} people, keeping one share.'],
};

/** One operation on the running total; `ops.reduce(apply, start)` is a problem's answer. */
export const apply = (v: number, op: Op): number => (op.kind === 'add' ? v + op.by : op.kind === 'sub' ? v - op.by : op.kind === 'mul' ? v * op.by : v / op.by);
const SYMBOL: Record<Op['kind'], string> = { add: '+', sub: '-', mul: '*', div: '/' };
const VERB: Record<Op['kind'], string> = { add: 'adding', sub: 'taking away', mul: 'multiplying by', div: 'keeping one of the equal shares, dividing by' };

/** The seeded generator the bootstrap uses: the rehearsal's problems are the same on every machine. */
export const rng = mulberry32;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const between = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** The next operation on `v`, keeping every intermediate a positive whole number. */
function nextOp(r: () => number, v: number): Op {
  const divisors = [2, 3, 4, 5].filter((d) => v % d === 0 && v / d >= 2);
  const kinds: Op['kind'][] = ['add', 'add', 'sub', 'mul', ...(divisors.length > 0 ? (['div', 'div'] as const) : [])];
  const kind = pick(r, kinds);
  if (kind === 'add') return { kind, by: between(r, 3, 40) };
  if (kind === 'sub') return v > 3 ? { kind, by: between(r, 1, Math.min(v - 2, 40)) } : { kind: 'add', by: between(r, 3, 40) };
  if (kind === 'mul') return { kind, by: between(r, 2, 4) };
  return { kind, by: pick(r, divisors) };
}

/** A problem of `opsCount` operations whose reference solution shows `detail` of its working. */
export function writeProblem(seed: number, opsCount: number, detail: Detail): Problem {
  const r = rng(seed);
  const name = pick(r, NAMES);
  const things = pick(r, THINGS);
  const start = between(r, 6, 60);
  const ops: Op[] = [];
  let v = start;
  for (let i = 0; i < opsCount; i++) {
    const op = nextOp(r, v);
    ops.push(op);
    v = apply(v, op);
  }
  const sentences = ops.map((op) => pick(r, SAY[op.kind]).replace('{x}', String(op.by)));
  const question = `${name} has ${start} ${things} ${pick(r, PLACES)}. ${sentences.join(' ')} How many ${things} does ${name} have now?`;
  return { question, start, ops, answer: v, steps: solutionSteps(start, ops, things, detail), program: programOf(start, ops), annotation: annotationOf(ops) };
}

function solutionSteps(start: number, ops: Op[], things: string, detail: Detail): string[] {
  let v = start;
  const lines = ops.map((op) => {
    const next = apply(v, op);
    const line = detail === 'terse' ? `${v} ${SYMBOL[op.kind]} ${op.by} = ${next}` : `Start from ${v} ${things}; ${VERB[op.kind]} ${op.by} gives ${v} ${SYMBOL[op.kind]} ${op.by} = ${next} ${things}.`;
    v = next;
    return line;
  });
  if (detail !== 'gaps') return lines;
  // Gaps: the working of every step but the last is left out, its result stated bare.
  const bare = `That leaves ${ops.slice(0, -1).reduce(apply, start)} ${things} before the last change.`;
  return ops.length > 1 ? [bare, lines.at(-1)!] : [`So there are ${v} ${things}.`];
}

const programOf = (start: number, ops: Op[]): string =>
  [`v = ${start}`, ...ops.map((op) => (op.kind === 'div' ? `v = v // ${op.by}` : `v = v ${SYMBOL[op.kind]} ${op.by}`)), 'print(v)'].join('\n');

function annotationOf(ops: Op[]): string {
  const mixed = ops.some((o) => o.kind === 'mul' || o.kind === 'div') && ops.some((o) => o.kind === 'add' || o.kind === 'sub');
  return mixed ? 'The changes must be applied in the order told: multiplying before adding gives a different total.' : 'Each change applies to the running total, not to the starting amount.';
}

const PATTERNS = Object.entries(SAY).flatMap(([kind, forms]) =>
  forms.map((f) => ({ kind: kind as Op['kind'], re: new RegExp(`^${f.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{x}', '(\\d+)')}\\s*`) })),
);

/** The operations read back from a question in this grammar; undefined for any other text. */
export function readProblem(question: string): { start: number; ops: Op[] } | undefined {
  const head = /^\s*[A-Z][a-z]+ has (\d+) [a-z]+ [^.]*\.\s*/.exec(question);
  if (!head) return undefined;
  let rest = question.slice(head[0].length);
  const ops: Op[] = [];
  while (!/^How many /.test(rest)) {
    const hit = PATTERNS.map(({ kind, re }) => ({ kind, m: re.exec(rest) })).find((x) => x.m);
    if (!hit?.m) return undefined;
    ops.push({ kind: hit.kind, by: Number(hit.m[1]) });
    rest = rest.slice(hit.m[0].length);
  }
  return ops.length > 0 ? { start: Number(head[1]), ops } : undefined;
}

/** The problem as one arithmetic expression, for the Judge's exact_arithmetic tool: ((12 + 5) * 2). */
export const expressionOf = (p: { start: number; ops: Op[] }): string => p.ops.reduce((e, op) => `(${e} ${SYMBOL[op.kind]} ${op.by})`, String(p.start));

/**
 * The reference solution's quality on the Judge's rubric (prompts/v1/judge.md), read from its steps:
 * 2 = a result appears with no computation behind it (fewer worked steps than operations), 3 = correct but
 * terse (bare arithmetic), 4 = each step says what it computes. Never 5: nothing here names a trap.
 */
export function gradeSteps(steps: string[], opsCount: number): number {
  if (steps.filter((s) => s.includes('=')).length < opsCount) return 2;
  return steps.every((s) => /[a-z]{4,}/i.test(s.replace(/\d/g, ''))) ? 4 : 3;
}

/** The first number in an answer ("17", "17 marbles", "Answer: 17"); undefined when there is none. */
export function numberIn(text: string): number | undefined {
  const m = /-?\d[\d,]*(?:\.\d+)?/.exec(text);
  return m ? Number(m[0].replace(/,/g, '')) : undefined;
}
