/**
 * The game's roles, outcomes and what its roles return, as plain types and constants. Zod-free
 * because workflow code imports them: every workflow instance re-evaluates the modules it imports
 * (the SDK's per-workflow module cache), and building zod schemas cost each episode milliseconds.
 * The schemas sent to the models are in common/game.ts, checked there against these types.
 */

export const ROLES = ['attacker', 'defender', 'judge'] as const;
export type Role = (typeof ROLES)[number];
export type TokensByRole = Record<Role | 'embedding', number>;

/**
 * Junk caught before the Defender is called (workflows/logic/junk.ts), each its own outcome so
 * status, report and web UI count them by name.
 */
export const JUNK_REASONS = ['prompt_leak', 'degenerate_steps', 'repeated_tokens', 'no_question', 'answer_unparseable'] as const;
export type JunkReason = (typeof JUNK_REASONS)[number];

/**
 * `too_hard`: in solve-rate mode, fewer Defender samples solved it than the band's minimum.
 * `reference_wrong`: the Judge, or the executed check, found the reference wrong;
 * `reference_unverified`: the domain requires an executed check and it could not confirm the reference (no program, or it failed).
 */
export const OUTCOMES = ['accepted', 'duplicate', 'defender_correct', 'too_hard', 'invalid_question', 'reference_wrong', 'failed', 'rejected_in_review', 'reference_unverified', ...JUNK_REASONS] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type RejectionReason = Exclude<Outcome, 'accepted'>;

export interface Attack {
  question: string;
  referenceAnswer: string;
  solutionSteps: string[];
  skill: string;
  annotation: string;
  /** Domains whose pack requires it (math): a Python program that prints the final answer, run in the sandbox to verify the reference. */
  program?: string;
}

export interface Defense {
  reasoning: string;
  answer: string;
}

export interface Verdict {
  questionValid: boolean;
  referenceCorrect: boolean;
  defenderCorrect: boolean;
  complexity: number;
  hops: number;
  quality: number;
  explanation: string;
}

/** The Judge's verdict on several Defender answers (solve-rate mode): one flag per answer, in order. */
export interface MultiVerdict extends Omit<Verdict, 'defenderCorrect'> {
  defendersCorrect: boolean[];
}

/** The verdict as the workflow sees it: one correctness flag per Defender answer, whatever the mode. */
export type JudgeVerdict = Omit<Verdict, 'defenderCorrect'> & { defendersCorrect: boolean[] };

/** What the prompts need of a domain. */
export interface DomainBrief {
  name: string;
  brief: string;
  pack: 'math' | 'genomics' | 'medical' | 'none';
  promptVersion: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, those the provider served from its prompt cache (`prompt_tokens_details.cached_tokens`); absent: none reported. */
  cachedPromptTokens?: number;
  /** Of completionTokens, the reasoning model's thinking (`completion_tokens_details.reasoning_tokens`); absent: none reported. */
  reasoningTokens?: number;
  /** The tiers the provider says it billed (each response's `service_tier`); absent: it did not say. */
  billedTiers?: string[];
  /** The part of this usage billed at the flex tier (activities/game/models/tiers.ts); absent: none. */
  flex?: TierTokens;
  /** The part answered through the Batch API (activities/game/models/batcher.ts); absent: none. */
  batch?: TierTokens;
}

/** Tokens of a usage that the provider billed at a discounted tier. */
export interface TierTokens {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
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
  /** `traceId`, `spanId`: where in OpenTelemetry's traces it was stored (activities/kit/tracing.ts), when the worker traced; absent otherwise. */
  provenance: { runId: string; episode: number; workflowId: string; attackerModel: string; defenderModel: string; judgeModel: string; traceId?: string; spanId?: string };
  /** How its reference was verified (absent on examples from before the verified gate): `verified: null` means by the Judge alone. */
  verification?: { method: 'program' | 'options' | 'none'; verified: boolean | null };
}
