/**
 * How many texts a long embedding job (a decontamination set, an import) sends per request. A slow
 * server on CPU answers a big batch after the call's timeout every time, so resending the same batch
 * can never succeed: a timed-out batch is halved, and the size grows back (doubles) after a run of
 * successes, so a server that was only busy for a while is not stuck with tiny batches. A size that
 * times out again right after growing makes the next growth wait twice as long: against a server whose
 * limit is fixed, probing above it costs one timeout per ever longer run of successes.
 */

export interface BatchPolicy {
  /** The largest batch: the embedder's own request limit. */
  max: number;
  /** Successes in a row before the size doubles. */
  growAfter: number;
  /** The longest wait `growAfter` can double to. */
  maxGrowAfter: number;
}

export interface BatchState {
  size: number;
  /** Successful batches since the size last changed. */
  streak: number;
  /** Successes needed before the next doubling. */
  growAfter: number;
  /** The size was just doubled and has not yet succeeded. */
  grown: boolean;
}

export type BatchOutcome = 'ok' | 'timeout';

export const batchPolicy = (max: number): BatchPolicy => ({ max: Math.max(1, Math.floor(max)), growAfter: 4, maxGrowAfter: 64 });

/** A job's first state: the policy's largest batch, or the size a previous attempt had learned (clamped to the policy). */
export function initialBatch(policy: BatchPolicy, learned?: number): BatchState {
  const size = learned === undefined ? policy.max : Math.min(policy.max, Math.max(1, Math.floor(learned)));
  return { size, streak: 0, growAfter: policy.growAfter, grown: false };
}

/**
 * The state after a request of `sent` texts (at most `state.size`; fewer at the end of the job or where
 * some were already stored). Undefined: a single text timed out, which no smaller batch can fix, so
 * the job fails (retryable) as any other timed-out call.
 */
export function nextBatch(state: BatchState, outcome: 'ok', sent: number, policy: BatchPolicy): BatchState;
export function nextBatch(state: BatchState, outcome: BatchOutcome, sent: number, policy: BatchPolicy): BatchState | undefined;
export function nextBatch(state: BatchState, outcome: BatchOutcome, sent: number, policy: BatchPolicy): BatchState | undefined {
  const tried = Math.max(1, Math.min(sent, state.size));
  if (outcome === 'timeout') {
    if (tried <= 1) return undefined;
    // Half of what was actually sent: a short tail that timed out says nothing about the full size.
    return { size: Math.floor(tried / 2), streak: 0, growAfter: state.grown ? Math.min(policy.maxGrowAfter, state.growAfter * 2) : state.growAfter, grown: false };
  }
  // A grown size that worked has proven itself: the next growth is back to the policy's pace.
  const growAfter = state.grown ? policy.growAfter : state.growAfter;
  const streak = state.streak + 1;
  if (streak >= growAfter && state.size < policy.max) {
    return { size: Math.min(policy.max, state.size * 2), streak: 0, growAfter, grown: true };
  }
  return { size: state.size, streak, growAfter, grown: false };
}
