import { z } from 'zod';
import { ModelError } from '../../../common/errors.js';
import { type BatchState, batchPolicy, initialBatch, nextBatch } from './batches.js';
import type { Embedder } from './embedder.js';

/**
 * Where a long embedding job stands, heartbeated after every batch: the first `done` items are
 * stored, and `batch` is the size the server was last found to answer in time. A retried attempt
 * (after a crash or a failure) starts there instead of re-reading the job from its start at the
 * full batch size that timed out before.
 */
const JobCursorSchema = z.object({
  job: z.string(),
  done: z.int().min(0),
  total: z.int().min(0),
  batch: z.int().min(1),
});
export type JobCursor = z.infer<typeof JobCursorSchema>;

/** The batch size for embedders that name no limit (the embedded encoder): a progress step, not a request limit. */
const DEFAULT_MAX_BATCH = 64;

export interface EmbeddingJob<T> {
  /** Names the job in its cursor: a cursor of another job (another benchmark, another import) is not taken. */
  job: string;
  /** The same list in the same order on every attempt: the cursor is a position in it. */
  items: readonly T[];
  embedder: Embedder;
  text(item: T): string;
  /** The items of a batch not stored yet: batches finished after the last heartbeat reached the server are not embedded again. */
  pending(batch: T[]): Promise<T[]>;
  /** Stores a batch with its vectors (idempotent: keyed points). */
  write(batch: T[], vectors: number[][]): Promise<void>;
  /** Sees the cursor after every batch and every halving (the activity heartbeats it). */
  onProgress?(cursor: JobCursor): void;
  /** The previous attempt's heartbeat details, unchecked: used only when it is a cursor of this job. */
  resume?: unknown;
}

export interface JobResult {
  /** Texts embedded by this attempt. */
  embedded: number;
  /** Embedding calls that timed out and were retried smaller. */
  timeouts: number;
  /** The position this attempt started at (0: from the start). */
  resumedAt: number;
}

/** The previous attempt's cursor when it belongs to this job and still fits its items; else none (start over). */
export function resumeCursor(details: unknown, job: string, total: number): JobCursor | undefined {
  const parsed = JobCursorSchema.safeParse(details);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  return c.job === job && c.total === total && c.done <= total ? c : undefined;
}

const timedOut = (e: unknown): e is ModelError => e instanceof ModelError && e.timedOut === true;

/**
 * Embeds and stores `items` in batches that halve on a timed-out call and grow back after successes
 * (batches.ts), reporting a cursor after each. A single text that still times out fails the job with
 * the embedder's retryable error, as any timed-out call.
 */
export async function runEmbeddingJob<T>(j: EmbeddingJob<T>): Promise<JobResult> {
  const total = j.items.length;
  const policy = batchPolicy(j.embedder.maxBatch ?? DEFAULT_MAX_BATCH);
  const from = resumeCursor(j.resume, j.job, total);
  let state: BatchState = initialBatch(policy, from?.batch);
  let pos = from?.done ?? 0;
  const result: JobResult = { embedded: 0, timeouts: 0, resumedAt: pos };
  // A size just grown has not answered yet: the cursor keeps the one that did, so a resumed attempt
  // does not open with a timeout.
  const report = () => j.onProgress?.({ job: j.job, done: pos, total, batch: state.grown ? Math.max(1, Math.floor(state.size / 2)) : state.size });
  // At once: until the first report, a resumed attempt's periodic heartbeat would carry no cursor, and
  // a second crash before its first batch would lose the one it started from.
  report();
  while (pos < total) {
    const chunk = j.items.slice(pos, pos + state.size);
    const todo = await j.pending(chunk);
    if (todo.length > 0) {
      let vectors: number[][];
      try {
        ({ vectors } = await j.embedder.embed(todo.map((t) => j.text(t))));
      } catch (e) {
        const smaller = timedOut(e) ? nextBatch(state, 'timeout', todo.length, policy) : undefined;
        if (!smaller) throw e;
        result.timeouts++;
        state = smaller;
        report();
        continue;
      }
      await j.write(todo, vectors);
      result.embedded += todo.length;
      state = nextBatch(state, 'ok', todo.length, policy);
    }
    pos += chunk.length;
    report();
  }
  return result;
}
