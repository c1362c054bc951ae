import type { EpisodeSummary } from '../../common/contracts/index.js';
import { ErrorType } from '../../common/errors.js';

/**
 * The per-domain circuit breaker: failures that no retry and no other episode can fix (a missing
 * key, a refused request, a missing file, a conversation that cannot fit) would otherwise fail every
 * episode until the domain's episode budget is spent. Not here: ModelOutputInvalid (a model that
 * sometimes misses the schema is the game's business, not a broken setup) and the retryable types.
 */
export const BREAKER_TYPES: readonly string[] = [
  ErrorType.MissingApiKey,
  ErrorType.ModelRequestRejected,
  ErrorType.MissingResource,
  ErrorType.ContextExceeded,
  ErrorType.InvalidRunConfig,
];

/** A failure type with how often it happened and the last message (one line), for status. */
export interface FailureReason {
  count: number;
  last: string;
}

/** The run of consecutive finished episodes that failed with the same type. */
export interface FailureStreak {
  type?: string;
  count: number;
}

/** Why a domain's breaker opened: shown in status and the memo until `resume` closes it. */
export interface BreakerTrip {
  type: string;
  count: number;
  message: string;
}

const KNOWN_TYPES = new Set<string>(Object.values(ErrorType));

/**
 * The failure type of a failed episode: the summary's own (set since the breaker existed), else the
 * `Type: message` prefix its error has always carried; `other` when it names none.
 */
export function failureType(s: Pick<EpisodeSummary, 'outcome' | 'error' | 'errorType'>): string | undefined {
  if (s.outcome !== 'failed') return undefined;
  if (s.errorType) return s.errorType;
  const prefix = /^([A-Za-z]+): /.exec(s.error ?? '')?.[1];
  return prefix !== undefined && KNOWN_TYPES.has(prefix) ? prefix : 'other';
}

/** One line of a message, at most `max` characters (200: status prints one line per failure reason). */
export function oneLine(message: string | undefined, max = 200): string {
  const line = (message ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Adds a finished episode to the tally of failure reasons (unchanged for an episode that did not fail). */
export function recordFailure(reasons: Record<string, FailureReason> | undefined, s: Pick<EpisodeSummary, 'outcome' | 'error' | 'errorType'>): Record<string, FailureReason> | undefined {
  const type = failureType(s);
  if (type === undefined) return reasons;
  const prev = reasons?.[type];
  return { ...reasons, [type]: { count: (prev?.count ?? 0) + 1, last: oneLine(s.error) } };
}

/**
 * Feeds one finished episode to the breaker. Any episode that did not fail with the streak's type
 * (an accepted one, a rejection, another failure type) starts the count again. `threshold` 0 never trips.
 */
export function observeEpisode(
  streak: FailureStreak,
  s: Pick<EpisodeSummary, 'outcome' | 'error' | 'errorType'>,
  threshold: number,
): { streak: FailureStreak; trip?: BreakerTrip } {
  const type = failureType(s);
  if (type === undefined || !BREAKER_TYPES.includes(type)) return { streak: { count: 0 } };
  const count = streak.type === type ? streak.count + 1 : 1;
  const next = { type, count };
  if (threshold > 0 && count >= threshold) return { streak: next, trip: { type, count, message: oneLine(s.error) } };
  return { streak: next };
}

/** What status says of an open breaker, and what to do. */
export function describeTrip(t: BreakerTrip, runId: string): string {
  return `${t.count} consecutive episodes failed with ${t.type} (${t.message}); fix the cause, then \`nanoflux resume ${runId}\``;
}

/** The top failure reasons over the domains, most frequent first (ties by type, for a stable display). */
export function topFailureReasons(domains: Array<{ failures?: Record<string, FailureReason> }>, limit = 5): Array<{ type: string } & FailureReason> {
  const all = new Map<string, FailureReason>();
  for (const d of domains) {
    for (const [type, r] of Object.entries(d.failures ?? {})) {
      const prev = all.get(type);
      all.set(type, { count: (prev?.count ?? 0) + r.count, last: r.last });
    }
  }
  return [...all.entries()]
    .map(([type, r]) => ({ type, ...r }))
    .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type))
    .slice(0, limit);
}

/** An error and its causes, outermost first (bounded: a cause chain is short, a cycle must not hang). */
function* causeChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 6; depth++) {
    yield e;
    if (!(e instanceof Error)) return;
    e = e.cause;
  }
}

/** An ApplicationFailure's type (the failures that wrap one — activity, child workflow — carry none). */
const typeOf = (e: unknown): string | undefined => {
  const type = (e as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type ? type : undefined;
};

/** The failure type nearest the top of the cause chain: an activity's failure wraps the one it threw. */
export function failureTypeOf(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const type = e instanceof Error ? typeOf(e) : undefined;
    if (type) return type;
  }
  return undefined;
}

/**
 * An error with its causes, one line: a child workflow's failure says only "Activity task failed"
 * or "Child Workflow execution failed"; what happened is further down the chain, with its type.
 */
export function failureText(err: unknown): string {
  const parts: string[] = [];
  for (const e of causeChain(err)) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    const type = typeOf(e);
    const text = type ? `${type}: ${e.message}` : e.message;
    if (text && !parts.includes(text)) parts.push(text);
  }
  return oneLine(parts.join(' ← '));
}
