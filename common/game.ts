import { z } from 'zod';

/** What the game's roles return. Each schema is both the JSON schema sent to the model and the validator of its answer. */

export const AttackSchema = z.strictObject({
  question: z.string().min(10).max(4000).describe('The multi-step question, self-contained'),
  referenceAnswer: z.string().min(1).max(400).describe('The final answer only (a number, a word, a short phrase)'),
  solutionSteps: z.array(z.string().min(1).max(600)).min(1).max(12).describe('Numbered reasoning steps that reach the reference answer'),
  skill: z.string().min(1).max(120).describe('The skill the question targets'),
  annotation: z.string().min(1).max(1200).describe('Why the question is hard: the pitfall it sets'),
});
export type Attack = z.infer<typeof AttackSchema>;

export const DefenseSchema = z.strictObject({
  reasoning: z.string().min(1).max(4000).describe('Step-by-step reasoning'),
  answer: z.string().min(1).max(400).describe('The final answer only'),
});
export type Defense = z.infer<typeof DefenseSchema>;

export const VerdictSchema = z.strictObject({
  questionValid: z.boolean().describe('The question is well posed and has one correct answer'),
  referenceCorrect: z.boolean().describe("The Attacker's reference answer is right, as checked with tools"),
  defenderCorrect: z.boolean().describe("The Defender's final answer matches the correct answer"),
  complexity: z.int().min(1).max(5).describe('1 = one routine step … 5 = many interacting steps with a trap'),
  hops: z.int().min(1).max(10).describe('Number of dependent reasoning steps'),
  quality: z.number().min(1).max(5).describe('Reasoning quality of the reference solution, 1.0–5.0'),
  explanation: z.string().min(1).max(2000).describe('Why: what was checked and how'),
});
export type Verdict = z.infer<typeof VerdictSchema>;

/** The Judge's verdict on several Defender answers (solve-rate mode): one flag per answer, in order. */
export const MultiVerdictSchema = VerdictSchema.omit({ defenderCorrect: true }).extend({
  defendersCorrect: z.array(z.boolean()).min(2).max(16).describe('For each Defender answer in order: whether it is correct'),
});
export type MultiVerdict = z.infer<typeof MultiVerdictSchema>;

export { OUTCOMES, type Outcome, type RejectionReason, ROLES, type Role, type TokensByRole } from './outcomes.js';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** One recorded tool call of the judge (tool, input, short output, duration, error). */
export interface ToolCallRecord {
  tool: string;
  input: string;
  output: string;
  durationMs: number;
  error?: string;
}

export interface Scores {
  complexity: number;
  hops: number;
  quality: number;
  qualityLevel: string;
  novelty: number;
  /** Solve-rate mode: the share of Defender samples that solved it. */
  solveRate?: number;
}

/** A training example: what the export turns into the trainer's chat format. */
export interface TrainingExample {
  id: string;
  question: string;
  solutionSteps: string[];
  answer: string;
  annotation: string;
  domain: string;
  skill: string;
  complexity: number;
  hops: number;
  quality: number;
  qualityLevel: string;
  novelty: number;
  provenance: { runId: string; episode: number; workflowId: string; attackerModel: string; defenderModel: string; judgeModel: string };
}
