import type { ModelRef } from '../../common/config.js';
import { ErrorType, ModelError } from '../../common/errors.js';

/**
 * Client-side rate limiting of model endpoints (`requestsPerMinute` on a model ref), enforced before
 * a request is sent so that the provider's 429s stay rare.
 *
 * One limiter per endpoint per WORKER PROCESS. The endpoint is base URL + `apiKeyEnv` + model
 * (`endpointKey`): providers such as OpenAI limit requests per model per account, so roles that use
 * the same model through the same key (the Attacker and Defender slots on one model, say) share one
 * budget, while a judge or embedding model on the same account gets its own. Refs that differ only
 * in other fields (temperature, maxOutputTokens, price) still share it; when they give different
 * limits, the smallest wins. Only refs that set `requestsPerMinute` are limited. With several worker
 * processes serving `nanoflux-llm`, each enforces its own limit: give each process its share of the
 * provider's (for 2 workers on a 500 RPM account, 250 each).
 *
 * Why not Temporal's `maxTaskQueueActivitiesPerSecond` alone (docs/architecture.md, "Rate limits per endpoint"): it counts
 * activity starts, not HTTP requests, and one model activity can send several requests — schema
 * re-asks after an invalid answer, the judge's tool rounds, embedding batches — so a queue rate of
 * R activities can still mean 3R requests. It is also one number per queue, while each endpoint has
 * its own limit, and it cannot react to a 429. It remains the tool for a cluster-wide cap on top.
 *
 * The limiter is a scheduler with no burst: requests leave one at a time on an even grid of
 * `60 s × (1 + headroom) / R`, first come first served. A request released a little late (timer
 * lateness, a busy event loop) does not move the grid, so lateness does not eat the budget; after an
 * idle gap longer than one slot the grid restarts at the present, so idle time is never paid back in
 * a burst. As a guard, at most R requests (rounded down, at least 1) leave in any `60 s × (1 +
 * headroom)` window of actual release times. The headroom (1% by default) absorbs jitter between
 * the moment a request leaves here and the moment the provider counts it: the provider's sliding or
 * fixed 60-second window then never sees more than R.
 *
 * A 429 with Retry-After (or a 503 with one) on any request to the endpoint holds back every request
 * waiting for, or later asking for, that endpoint until the Retry-After has passed (`noteFailure`);
 * the failed call itself is retried by Temporal after the same delay (activities/kit/errors.ts).
 *
 * Waiting happens inside the activity. The activity boundary (activities/kit/boundary.ts) heartbeats
 * every few seconds for the whole call, so a wait keeps the activity alive, and the wait ends at
 * once when Temporal cancels the activity (`acquire(signal)`). A wait longer than `maxWaitMs` (a
 * long Retry-After, a deep queue for a small limit) is not sat out inside the activity, whose
 * start-to-close timeout is 10 minutes: the request fails as RateLimited with the expected wait as
 * its retry delay, and Temporal schedules the retry (it counts as an attempt).
 */

export interface RateLimiterOptions {
  requestsPerMinute: number;
  /** Share of the minute left unused, against timing jitter; default 0.01 (so at most 99% of R is used). */
  headroom?: number;
  /** Longest wait sat out in this process; longer ones fail as RateLimited with that retry delay. Default 2 minutes. */
  maxWaitMs?: number;
  /** Shown in error messages. */
  name?: string;
  /** The clock (ms); default Date.now. Timers are the global setTimeout, so fake timers drive both. */
  now?: () => number;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
  detach(): void;
}

const MINUTE_MS = 60_000;
export const DEFAULT_HEADROOM = 0.01;
export const DEFAULT_MAX_WAIT_MS = 120_000;

export class RateLimiter {
  readonly name: string;
  private rpm: number;
  private readonly headroom: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  /** The grid: earliest time of the next release by spacing. */
  private nextSlot = -Infinity;
  /** A Retry-After in force: nothing leaves before it. */
  private heldUntil = -Infinity;
  /** Release times of the last (at most) `cap` requests: the window guard. */
  private readonly sent: number[] = [];
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Counters, for logs and tests. */
  readonly stats = { released: 0, waited: 0, heldBack: 0, handedBack: 0, cancelled: 0 };

  constructor(o: RateLimiterOptions) {
    if (!(o.requestsPerMinute > 0) || !Number.isFinite(o.requestsPerMinute)) throw new RangeError(`requestsPerMinute must be a positive number, got ${o.requestsPerMinute}`);
    this.rpm = o.requestsPerMinute;
    this.headroom = o.headroom ?? DEFAULT_HEADROOM;
    this.maxWaitMs = o.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.now = o.now ?? Date.now;
    this.name = o.name ?? 'endpoint';
  }

  get requestsPerMinute(): number {
    return this.rpm;
  }

  /** Length of the window the guard counts in, ms. */
  get windowMs(): number {
    return MINUTE_MS * (1 + this.headroom);
  }

  /** Time between two releases on the grid, ms. */
  get spacingMs(): number {
    return this.windowMs / this.rpm;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Until when a Retry-After holds requests back (-Infinity: none). */
  get holdUntil(): number {
    return this.heldUntil;
  }

  private get cap(): number {
    return Math.max(1, Math.floor(this.rpm));
  }

  /** Another ref on the same endpoint asked for a lower limit: the smallest wins. */
  limitTo(requestsPerMinute: number): void {
    if (requestsPerMinute > 0 && requestsPerMinute < this.rpm) {
      this.rpm = requestsPerMinute;
      this.pump();
    }
  }

  /**
   * Resolves when this request may be sent; call right before sending it. Rejects with the signal's
   * reason when it is aborted (the activity was cancelled), or at once with a RateLimited ModelError
   * when the wait would exceed maxWaitMs.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const wait = this.expectedWaitMs(this.queue.length);
    if (wait > this.maxWaitMs) {
      this.stats.handedBack++;
      return Promise.reject(this.tooLong(wait));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        this.stats.cancelled++;
        reject(abortReason(signal!));
        this.pump();
      };
      const waiter: Waiter = { resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
      if (this.queue.includes(waiter)) this.stats.waited++;
    });
  }

  /** The provider asked to wait (a 429 or 503 with Retry-After): hold every request to this endpoint back until then. */
  holdBack(retryAfterMs: number): void {
    if (!(retryAfterMs >= 0)) return;
    const now = this.now();
    const until = now + retryAfterMs;
    if (until <= this.heldUntil) return;
    this.heldUntil = until;
    this.stats.heldBack++;
    if (until - now > this.maxWaitMs) {
      // Not worth holding an activity slot for: every waiter goes back to Temporal with the delay.
      for (const w of this.queue.splice(0)) {
        w.detach();
        this.stats.handedBack++;
        w.reject(this.tooLong(until - now));
      }
    }
    this.pump();
  }

  /** Looks at a failed request: a RateLimited error with a Retry-After holds the endpoint back. Returns the error. */
  noteFailure<E>(err: E): E {
    if (err instanceof ModelError && err.type === ErrorType.RateLimited && err.retryAfterMs !== undefined) this.holdBack(err.retryAfterMs);
    return err;
  }

  /** A rough wait for a request that would queue behind `ahead` others. */
  expectedWaitMs(ahead: number): number {
    const now = this.now();
    return Math.max(0, Math.max(now, this.readyAt()) + ahead * this.spacingMs - now);
  }

  /** Earliest time the head of the queue may leave. */
  private readyAt(): number {
    let at = Math.max(this.heldUntil, this.nextSlot);
    const cap = this.cap;
    if (this.sent.length >= cap) at = Math.max(at, this.sent[this.sent.length - cap]! + this.windowMs);
    return at;
  }

  private release(now: number): void {
    this.sent.push(now);
    if (this.sent.length > this.cap) this.sent.splice(0, this.sent.length - this.cap);
    // Late by less than one slot: stay on the grid. Later than that (idle, or held back): restart it now.
    const base = now - this.nextSlot < this.spacingMs ? this.nextSlot : now;
    this.nextSlot = base + this.spacingMs;
    this.stats.released++;
  }

  /** Releases every waiter whose time has come, then sleeps until the next one's. */
  private pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const now = this.now();
      const at = this.readyAt();
      if (at > now) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(at - now));
        return;
      }
      const w = this.queue.shift()!;
      w.detach();
      this.release(now);
      w.resolve();
    }
  }

  private tooLong(waitMs: number): ModelError {
    return new ModelError(
      ErrorType.RateLimited,
      `client-side rate limit of ${this.rpm} requests/minute on ${this.name}: the next slot is ${Math.ceil(waitMs / 1000)} s away, longer than the ${Math.round(this.maxWaitMs / 1000)} s an activity waits; retried later`,
      { retryAfterMs: Math.ceil(waitMs) },
    );
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** The OpenAI client's own default, so a ref that leaves baseURL out and one that spells it out share a limiter. */
const OPENAI_DEFAULT_BASE = 'https://api.openai.com/v1';

/** The endpoint a ref names, for sharing a limit: base URL + key variable + model (see the module comment). */
export function endpointKey(ref: Pick<ModelRef, 'baseURL' | 'apiKeyEnv' | 'model'>): string {
  const base = (ref.baseURL ?? OPENAI_DEFAULT_BASE).replace(/\/+$/, '');
  return `${base} key=${ref.apiKeyEnv ?? ''} model=${ref.model}`;
}

/** The host alone, for messages: a URL may carry credentials (`http://user:pass@host`). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'endpoint';
  }
}

const limiters = new Map<string, RateLimiter>();

/** The limiter shared by every ref of this process that names the same endpoint; undefined when the ref sets no limit (or is local). */
export function rateLimiterFor(ref: ModelRef): RateLimiter | undefined {
  if (ref.provider !== 'openai' || ref.requestsPerMinute === undefined) return undefined;
  const key = endpointKey(ref);
  let l = limiters.get(key);
  if (l) l.limitTo(ref.requestsPerMinute);
  else {
    l = new RateLimiter({ requestsPerMinute: ref.requestsPerMinute, name: `${ref.model} at ${hostOf(ref.baseURL ?? OPENAI_DEFAULT_BASE)}` });
    limiters.set(key, l);
  }
  return l;
}

/** Tests: forget every limiter of this process. */
export function resetRateLimiters(): void {
  limiters.clear();
}
