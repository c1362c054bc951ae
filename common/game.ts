import { z } from 'zod';
import type { Attack, Defense, MultiVerdict, Verdict } from './contracts/index.js';

/**
 * What the game's roles return. Each schema is both the JSON schema sent to the model and the
 * validator of its answer; the types are in common/contracts/game.ts (zod-free, for workflow code),
 * and the checks at the end keep the two from drifting apart.
 */

export const AttackSchema = z.strictObject({
  question: z.string().min(10).max(4000).describe('The multi-step question, self-contained'),
  referenceAnswer: z.string().min(1).max(400).describe('The final answer only (a number, a word, a short phrase)'),
  solutionSteps: z.array(z.string().min(1).max(600)).min(1).max(12).describe('Numbered reasoning steps that reach the reference answer'),
  skill: z.string().min(1).max(120).describe('The skill the question targets'),
  annotation: z.string().min(1).max(1200).describe('Why the question is hard: the pitfall it sets'),
});

/** Math attacks carry a program that prints the final answer: the sandbox runs it to verify the reference (activities/game/packs.ts). */
export const MathAttackSchema = AttackSchema.extend({
  program: z.string().min(1).max(2000).describe('A short Python 3 program (standard library only) that computes the final answer and prints it as its last line'),
});

export const DefenseSchema = z.strictObject({
  reasoning: z.string().min(1).max(4000).describe('Step-by-step reasoning'),
  answer: z.string().min(1).max(400).describe('The final answer only'),
});

export const VerdictSchema = z.strictObject({
  questionValid: z.boolean().describe('The question is well posed and has one correct answer'),
  referenceCorrect: z.boolean().describe("The Attacker's reference answer is right, as checked with tools"),
  defenderCorrect: z.boolean().describe("The Defender's final answer matches the correct answer"),
  complexity: z.int().min(1).max(5).describe('1 = one routine step … 5 = many interacting steps with a trap'),
  hops: z.int().min(1).max(10).describe('Number of dependent reasoning steps'),
  quality: z.number().min(1).max(5).describe('Reasoning quality of the reference solution, 1.0–5.0'),
  explanation: z.string().min(1).max(2000).describe('Why: what was checked and how'),
});

/** The Judge's verdict on several Defender answers (solve-rate mode): one flag per answer, in order. */
export const MultiVerdictSchema = VerdictSchema.omit({ defenderCorrect: true }).extend({
  defendersCorrect: z.array(z.boolean()).min(2).max(16).describe('For each Defender answer in order: whether it is correct'),
});

/** True when A and B are the same type (each assignable to the other is not enough: optional and readonly fields must match too). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Same<A, B>): Same<A, B> => ok;
// A schema that no longer infers its contract type fails the typecheck here.
same<z.infer<typeof AttackSchema>, Omit<Attack, 'program'>>(true);
same<z.infer<typeof MathAttackSchema>['program'], NonNullable<Attack['program']>>(true);
same<z.infer<typeof DefenseSchema>, Defense>(true);
same<z.infer<typeof VerdictSchema>, Verdict>(true);
same<z.infer<typeof MultiVerdictSchema>, MultiVerdict>(true);

/** The role each of the game's model activities plays (activity type → role): where a call's spend is counted. */
export const ROLE_OF_ACTIVITY: Readonly<Record<string, 'attacker' | 'defender' | 'judge'>> = { attack: 'attacker', defend: 'defender', judge: 'judge' };
