/**
 * The game's roles and outcomes as plain constants. Kept apart from the zod schemas in game.ts
 * because workflow code imports them: every workflow instance re-evaluates the modules it imports
 * (the SDK's per-workflow module cache), and building zod schemas cost each episode milliseconds.
 */
export const ROLES = ['attacker', 'defender', 'judge'] as const;
export type Role = (typeof ROLES)[number];
export type TokensByRole = Record<Role | 'embedding', number>;

/** `too_hard`: in solve-rate mode, fewer Defender samples solved it than the band's minimum. */
export const OUTCOMES = ['accepted', 'duplicate', 'defender_correct', 'too_hard', 'invalid_question', 'reference_wrong', 'failed', 'rejected_in_review'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type RejectionReason = Exclude<Outcome, 'accepted'>;
