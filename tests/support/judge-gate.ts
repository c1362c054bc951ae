import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { answerKind } from '../../common/answer-kind.js';
import type { Outcome } from '../../common/contracts/game.js';
import { promptOverlap } from '../../common/prompt-overlap.js';
import { wilson } from '../../common/stats.js';
import { PACKS } from '../../activities/game/packs.js';
import { rolePromptGrams } from '../../activities/game/prompts.js';
import { decide } from '../../workflows/logic/decide.js';
import { decideVerified, referenceGate } from '../../workflows/logic/gate.js';
import { screenAttack } from '../../workflows/logic/junk.js';
import { FIXTURE_PATH, type FixtureEpisode, type Label } from '../fixtures/judge-gate/generate.js';

/**
 * The verified gate of workflows/episode.ts run on the labelled episodes of
 * tests/fixtures/judge-gate, step for step as a gated episode runs it — junk guards (with the
 * prompt overlap the attack activity measures), the pack's `verify` (the real Pyodide sandbox for
 * math), `referenceGate`, then `decideVerified` — with a Judge that says yes to everything. Novelty
 * is left out: the fixture's questions are distinct and it is not what this measures. Shared by
 * bench/judge-gate.ts (the figures) and tests/unit/judge-gate-fixture.test.ts (the targets).
 */

export const LABELS = ['good', 'wrong_reference', 'junk', 'prompt_leak', 'defender_right'] as const satisfies readonly Label[];
/** Labels whose attack must not reach the dataset. */
export const BAD_LABELS: readonly Label[] = ['wrong_reference', 'junk', 'prompt_leak'];
/** The prompt version the overlap is measured against (the one the demo and configs use). */
const PROMPT_VERSION = 'v1';

/** The Judge that accepts everything: valid question, reference verified, Defender wrong. */
export const YES_JUDGE = { questionValid: true, referenceCorrect: true, defendersCorrect: [false] };

const EpisodeSchema = z.strictObject({
  id: z.string().min(1),
  label: z.enum(LABELS),
  pack: z.enum(['math', 'medical']),
  variant: z.string().min(1),
  attack: z.strictObject({
    question: z.string(),
    referenceAnswer: z.string(),
    solutionSteps: z.array(z.string()),
    skill: z.string(),
    annotation: z.string(),
    program: z.string().optional(),
  }),
  defense: z.strictObject({ reasoning: z.string(), answer: z.string() }),
});

/** The fixture's episodes; a bad line fails with its line number and what is wrong with it. */
export function loadEpisodes(path = FIXTURE_PATH): FixtureEpisode[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const seen = new Set<string>();
  return lines.map((line, i) => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const r = EpisodeSchema.safeParse(json);
    if (!r.success) throw new Error(`${path}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    if (seen.has(r.data.id)) throw new Error(`${path}:${i + 1}: duplicate id ${r.data.id}`);
    seen.add(r.data.id);
    return r.data;
  });
}

export type Stage = 'junk guard' | 'reference check' | 'verdict';

export interface GateResult {
  id: string;
  label: Label;
  pack: FixtureEpisode['pack'];
  variant: string;
  /** The gated episode's outcome, and the step that decided it. */
  outcome: Outcome;
  stage: Stage;
  detail: string;
  /** The same episode decided by the yes-Judge alone (no deterministic check). */
  judgeAlone: Outcome;
  /** Whether the gate did what the label asks: bad kept out, good accepted, a right Defender caught. */
  right: boolean;
}

/** What each label should come to: bad and defender_right items kept out (defender_right by the rule), good ones accepted. */
export function gateRight(label: Label, outcome: Outcome): boolean {
  if (label === 'good') return outcome === 'accepted';
  if (label === 'defender_right') return outcome === 'defender_correct';
  return outcome !== 'accepted';
}

export async function runGate(e: FixtureEpisode): Promise<GateResult> {
  const judgeAlone = decide({ ...YES_JUDGE, defenderCorrect: YES_JUDGE.defendersCorrect[0]! });
  const done = (outcome: Outcome, stage: Stage, detail: string): GateResult => ({ id: e.id, label: e.label, pack: e.pack, variant: e.variant, outcome, stage, detail, judgeAlone, right: gateRight(e.label, outcome) });
  const overlap = promptOverlap(e.attack, rolePromptGrams(PROMPT_VERSION, e.pack));
  const junk = screenAttack(e.pack, e.attack, overlap);
  if (junk) return done(junk.reason, 'junk guard', junk.detail);
  const check = await PACKS[e.pack].verify(e.attack);
  const refuted = referenceGate(check);
  if (refuted) return done(refuted, 'reference check', check.detail);
  const kind = answerKind(e.pack, e.attack.question, e.attack.referenceAnswer);
  const r = decideVerified({ verdict: YES_JUDGE, check, kind: 'unparseable' in kind ? { kind: 'free' } : kind, defenderAnswers: [e.defense.answer] });
  const by = r.verification.defenderDecidedBy[0] === 'rule' ? 'by rule' : 'by the Judge';
  return done(r.outcome, 'verdict', `${check.detail}; Defender "${e.defense.answer}" decided ${by}`);
}

/** One figure with its Wilson 95% interval. */
export interface Rate {
  hits: number;
  of: number;
  rate: number;
  ci95: { low: number; high: number };
}
const rate = (hits: number, of: number): Rate => ({ hits, of, rate: of === 0 ? 0 : hits / of, ci95: wilson(hits, of) });

export interface Headline {
  /** Share of wrong_reference + junk + prompt_leak items kept out of the dataset. */
  badRejected: Rate;
  /** Share of good items accepted. */
  goodKept: Rate;
  /** Share of defender_right items decided defender_correct (the yes-Judge says the Defender was wrong). */
  defenderRightCaught: Rate;
}

export function headline(results: { label: Label; outcome: Outcome }[]): Headline {
  const of = (labels: readonly Label[]) => results.filter((r) => labels.includes(r.label));
  const bad = of(BAD_LABELS);
  const good = of(['good']);
  const right = of(['defender_right']);
  return {
    badRejected: rate(bad.filter((r) => r.outcome !== 'accepted').length, bad.length),
    goodKept: rate(good.filter((r) => r.outcome === 'accepted').length, good.length),
    defenderRightCaught: rate(right.filter((r) => r.outcome === 'defender_correct').length, right.length),
  };
}

/** The targets of issue 12 (bad rejected, good kept) and this bench's own for a right Defender. */
export const TARGETS: { key: keyof Headline; min: number; what: string }[] = [
  { key: 'badRejected', min: 0.95, what: 'deterministic checks reject wrong_reference + junk + prompt_leak' },
  { key: 'goodKept', min: 0.9, what: 'deterministic checks keep good episodes' },
  { key: 'defenderRightCaught', min: 0.9, what: 'rule catches a right Defender the yes-Judge calls wrong' },
];

/** Per label: how many were accepted, and the rest by outcome. */
export function byLabel(results: GateResult[], pick: (r: GateResult) => Outcome = (r) => r.outcome): Record<Label, { n: number; accepted: number; rejected: number; outcomes: Partial<Record<Outcome, number>> }> {
  const out = Object.fromEntries(LABELS.map((l) => [l, { n: 0, accepted: 0, rejected: 0, outcomes: {} as Partial<Record<Outcome, number>> }])) as Record<Label, { n: number; accepted: number; rejected: number; outcomes: Partial<Record<Outcome, number>> }>;
  for (const r of results) {
    const row = out[r.label];
    const o = pick(r);
    row.n += 1;
    if (o === 'accepted') row.accepted += 1;
    else row.rejected += 1;
    row.outcomes[o] = (row.outcomes[o] ?? 0) + 1;
  }
  return out;
}
