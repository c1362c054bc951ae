import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { activity, cancellationSignal } from '../../activities/kit/boundary.js';
import { buildEmbedder } from '../../activities/store/embeddings/build.js';
import { buildChatModel } from '../../activities/game/models/build.js';
import { endpointKey, RateLimiter, rateLimiterFor } from '../../activities/kit/rate-limiter.js';
import { type ModelRef, parseRunConfig } from '../../common/config.js';
import { ErrorType, ModelError } from '../../common/errors.js';
import { failure } from '../support/expect-error.js';
import { testConfig } from '../support/game-script.js';
import { startScriptedOpenAI, type ScriptedOpenAI } from '../support/scripted-openai.js';

/**
 * The client-side rate limit (activities/kit/rate-limiter.ts). Timing is checked on vitest's
 * fake clock (Date and timers), where it is exact; the tests over the scripted HTTP server use real
 * time and assert only lower bounds that follow from the limiter's rules, never tight upper bounds.
 */

/** The mock activity logs the cancelled activity's failure as a warning: expected here. */
const QUIET = new DefaultLogger('ERROR');

/** Starts `n` acquires now and records the fake-clock time each is released at (NaN: rejected). */
function acquireMany(l: RateLimiter, n: number, signal?: AbortSignal): { at: number[]; errors: unknown[] } {
  const at: number[] = [];
  const errors: unknown[] = [];
  for (let i = 0; i < n; i++) {
    l.acquire(signal).then(
      () => (at[i] = Date.now()),
      (e: unknown) => {
        at[i] = NaN;
        errors.push(e);
      },
    );
  }
  return { at, errors };
}

/** The largest number of times in any window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('RateLimiter on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('spaces requests evenly: 60 per minute without headroom is one a second, first one at once', async () => {
    const l = new RateLimiter({ requestsPerMinute: 60, headroom: 0 });
    const t0 = Date.now();
    const { at } = acquireMany(l, 5);
    await vi.advanceTimersByTimeAsync(0);
    expect(at.filter(Number.isFinite)).toEqual([t0]);
    await vi.advanceTimersByTimeAsync(4000);
    expect(at.map((t) => t - t0)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(l.queued).toBe(0);
  });

  it('uses 99% of R by default over five minutes of backlog, and never more than R in any 60 s window', async () => {
    const R = 120;
    // A backlog this deep would be handed back to Temporal after 2 minutes' worth (maxWaitMs): not here.
    const l = new RateLimiter({ requestsPerMinute: R, maxWaitMs: Infinity });
    expect(l.spacingMs).toBeCloseTo(505, 6);
    const t0 = Date.now();
    const { at } = acquireMany(l, 1000);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    const done = at.filter((t) => Number.isFinite(t) && t < t0 + 5 * 60_000);
    // 300 s / 0.505 s = 594.06 slots, the first at t0.
    expect(done.length).toBe(595);
    expect(done.length / (5 * R)).toBeGreaterThan(0.99);
    expect(maxInWindow(done, 60_000)).toBeLessThanOrEqual(R);
    // Evenly: every gap is exactly one slot.
    for (let i = 1; i < done.length; i++) expect(done[i]! - done[i - 1]!).toBeCloseTo(505, 0);
  });

  it('does not pay idle time back in a burst: after a pause the grid restarts', async () => {
    const l = new RateLimiter({ requestsPerMinute: 120, headroom: 0 }); // 500 ms slots
    const t0 = Date.now();
    await l.acquire();
    await vi.advanceTimersByTimeAsync(10_000);
    const { at } = acquireMany(l, 3);
    await vi.advanceTimersByTimeAsync(2000);
    expect(at.map((t) => t - t0)).toEqual([10_000, 10_500, 11_000]);
  });

  it('keeps the grid when a release is late by less than a slot, and the window guard holds on actual release times', async () => {
    // R = 2 without headroom: 30 s slots, at most 2 releases in any 60 s.
    let skew = 0;
    const l = new RateLimiter({ requestsPerMinute: 2, headroom: 0, now: () => Date.now() + skew });
    const t0 = Date.now();
    const { at } = acquireMany(l, 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(at[0]).toBe(t0);
    // The event loop is 20 s late when the second slot's timer fires (simulated by the clock the limiter reads).
    skew = 20_000;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(at[1]! + skew - t0).toBe(50_000); // released at 50 s by the limiter's clock, 20 s late
    // Third: on the grid (60 s), not pushed to 50 + 30 = 80 s.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(at[2]! + skew - t0).toBe(60_000);
    // Fourth: the grid says 90 s, but releases 2 and 4 must be 60 s apart: 110 s.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(at[3]).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(at[3]! + skew - t0).toBe(110_000);
  });

  it('holds every request back until a Retry-After has passed, then spaces them again', async () => {
    const l = new RateLimiter({ requestsPerMinute: 120, headroom: 0 });
    const t0 = Date.now();
    await l.acquire(); // one request is out…
    const { at } = acquireMany(l, 3); // …three wait…
    // …and the one out comes back 429 with Retry-After: 5 s, through the same path the clients use.
    const err = new ModelError(ErrorType.RateLimited, 'HTTP 429', { status: 429, retryAfterMs: 5000 });
    expect(l.noteFailure(err)).toBe(err);
    expect(l.holdUntil).toBe(t0 + 5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(at.filter(Number.isFinite)).toEqual([]);
    // A request asked for during the hold waits too, behind the others.
    const late = acquireMany(l, 1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(at.map((t) => t - t0)).toEqual([5000, 5500, 6000]);
    expect(late.at.map((t) => t - t0)).toEqual([6500]);
    // Other failures and a 429 without Retry-After do not hold anything back.
    l.noteFailure(new ModelError(ErrorType.RateLimited, 'HTTP 429', { status: 429 }));
    l.noteFailure(new ModelError(ErrorType.ModelUnavailable, 'HTTP 500', { status: 500 }));
    expect(l.holdUntil).toBe(t0 + 5000);
  });

  it('hands a wait longer than maxWaitMs back to Temporal as RateLimited with that delay', async () => {
    const l = new RateLimiter({ requestsPerMinute: 60, headroom: 0, maxWaitMs: 10_000 });
    const { at, errors } = acquireMany(l, 3);
    await vi.advanceTimersByTimeAsync(0);
    // A Retry-After of an hour: the waiting requests are not held for it inside their activities.
    l.holdBack(3_600_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toEqual([Date.now(), NaN, NaN]);
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ModelError);
      expect(e).toMatchObject({ type: ErrorType.RateLimited, retryAfterMs: 3_600_000 });
    }
    // And a new request fails at once rather than queueing.
    const e = await failure(l.acquire());
    expect(e.type).toBe(ErrorType.RateLimited);
    expect(e.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(e.message).toMatch(/client-side rate limit of 60 requests\/minute/);
    // A deep queue is handed back too: at 6 per minute (10 s slots) the second waiter would wait 20 s.
    const slow = new RateLimiter({ requestsPerMinute: 6, headroom: 0, maxWaitMs: 15_000 });
    const q = acquireMany(slow, 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(q.errors.map((x) => (x as ModelError).type)).toEqual([ErrorType.RateLimited, ErrorType.RateLimited]);
    expect(slow.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(slow.queued).toBe(0);
  });

  it('a cancelled wait leaves the queue at once with the abort reason, and its slot goes to the next request', async () => {
    const l = new RateLimiter({ requestsPerMinute: 60, headroom: 0 });
    const t0 = Date.now();
    await l.acquire();
    const ac = new AbortController();
    const cancelled = acquireMany(l, 1, ac.signal);
    const other = acquireMany(l, 1);
    await vi.advanceTimersByTimeAsync(300);
    ac.abort(new Error('activity cancelled'));
    await vi.advanceTimersByTimeAsync(0);
    expect(cancelled.at).toEqual([NaN]);
    expect((cancelled.errors[0] as Error).message).toBe('activity cancelled');
    expect(l.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(700);
    expect(other.at.map((t) => t - t0)).toEqual([1000]);
    expect(l.stats).toMatchObject({ released: 2, cancelled: 1 });
    // Already aborted: refused without queueing.
    await expect(l.acquire(ac.signal)).rejects.toThrow('activity cancelled');
    expect(l.queued).toBe(0);
  });

  it('inside an activity, a wait keeps heartbeating (the boundary\'s periodic beat) and ends on cancellation', async () => {
    const l = new RateLimiter({ requestsPerMinute: 60, headroom: 0, maxWaitMs: 600_000 });
    l.holdBack(120_000);
    const env = new MockActivityEnvironment(undefined, { logger: QUIET });
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const waiting = env.run(activity(() => l.acquire(cancellationSignal())));
    const settled = waiting.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(30_000);
    expect(beats).toBeGreaterThanOrEqual(9); // every 3 s
    expect(l.queued).toBe(1);
    env.cancel();
    await vi.advanceTimersByTimeAsync(0);
    const outcome = await settled;
    expect(outcome).not.toBe('resolved');
    expect(l.queued).toBe(0);
    expect(l.stats.cancelled).toBe(1);
    // The heartbeat stopped with the activity.
    const after = beats;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(beats).toBe(after);
  });

  it('rejects a rate that is not a positive number', () => {
    for (const r of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new RateLimiter({ requestsPerMinute: r })).toThrow(RangeError);
  });
});

describe('one limiter per endpoint per worker process', () => {
  const ref = (o: Partial<ModelRef> = {}): ModelRef => ({ provider: 'openai', model: 'share-m', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'SHARE_KEY', requestsPerMinute: 60, ...o });

  it('is shared by refs naming the same base URL, key variable and model, whatever else differs', () => {
    const a = rateLimiterFor(ref({ temperature: 0.9 }))!;
    expect(a).toBeInstanceOf(RateLimiter);
    expect(rateLimiterFor(ref({ temperature: 0.1, maxOutputTokens: 512, price: { inputPerMillion: 1, outputPerMillion: 2 } }))).toBe(a);
    expect(rateLimiterFor(ref({ baseURL: 'http://127.0.0.1:9/v1/' }))).toBe(a);
    expect(rateLimiterFor(ref({ model: 'share-other' }))).not.toBe(a);
    expect(rateLimiterFor(ref({ apiKeyEnv: 'OTHER_KEY' }))).not.toBe(a);
    expect(rateLimiterFor(ref({ baseURL: 'http://127.0.0.1:10/v1' }))).not.toBe(a);
    expect(endpointKey({ model: 'm' })).toBe(endpointKey({ model: 'm', baseURL: 'https://api.openai.com/v1' }));
  });

  it('takes the smallest limit any ref gives; refs without one, and local models, are not limited', () => {
    const l = rateLimiterFor(ref({ model: 'share-min', requestsPerMinute: 100 }))!;
    rateLimiterFor(ref({ model: 'share-min', requestsPerMinute: 40 }));
    rateLimiterFor(ref({ model: 'share-min', requestsPerMinute: 90 }));
    expect(l.requestsPerMinute).toBe(40);
    expect(rateLimiterFor(ref({ model: 'share-min', requestsPerMinute: undefined }))).toBeUndefined();
    expect(rateLimiterFor({ provider: 'local', model: 'smollm2-135m', requestsPerMinute: 10 })).toBeUndefined();
  });

  it('spaces requests from different refs of one endpoint as one stream', async () => {
    vi.useFakeTimers({ now: 2_000_000 });
    try {
      const a = rateLimiterFor(ref({ model: 'share-stream', temperature: 0.9 }))!;
      const b = rateLimiterFor(ref({ model: 'share-stream', temperature: 0.2 }))!;
      const t0 = Date.now();
      const x = acquireMany(a, 2);
      const y = acquireMany(b, 2);
      await vi.advanceTimersByTimeAsync(4000);
      expect([...x.at, ...y.at].map((t) => t - t0).sort((p, q) => p - q)).toEqual([0, 1010, 2020, 3030]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the limiter where requests are sent (scripted OpenAI-compatible server, real time)', () => {
  let server: ScriptedOpenAI;
  const KEY_ENV = 'NANOFLUX_RATE_TEST_KEY';
  const Answer = z.strictObject({ answer: z.string() });
  const messages = [
    { role: 'system' as const, content: 'ROLE: defender\nAnswer.' },
    { role: 'user' as const, content: 'What is 6*7?' },
  ];
  const ref = (model: string, o: Partial<ModelRef> = {}): ModelRef => ({ provider: 'openai', model, baseURL: server.baseURL, apiKeyEnv: KEY_ENV, requestsPerMinute: 600, ...o });

  beforeAll(async () => {
    process.env[KEY_ENV] = 'test-key';
    server = await startScriptedOpenAI(() => ({ json: { answer: '42' } }));
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.intercept(undefined);
  });

  it('a 429 with Retry-After to one role holds back another role on the same endpoint until it has passed', async () => {
    const attacker = buildChatModel(ref('chat-429', { temperature: 0.9 }));
    const defender = buildChatModel(ref('chat-429', { temperature: 0.2 }));
    expect(attacker).not.toBe(defender);
    let first = true;
    server.intercept((q) => {
      // Chat only: the model's first call also asks the server for its context window (GET /props).
      if (!first || !q.path.endsWith('/chat/completions')) return undefined;
      first = false;
      return { status: 429, retryAfterMs: '400', message: 'slow down' };
    });
    const e = await failure(attacker.generate({ messages, schema: Answer, schemaName: 'answer' }));
    expect(e).toMatchObject({ type: ErrorType.RateLimited, retryAfterMs: 400 });
    const r = await defender.generate({ messages, schema: Answer, schemaName: 'answer' });
    expect(r.value).toEqual({ answer: '42' });
    const [rejected, next] = server.chatRequests();
    // Both times are Date.now() in this process: the hold starts after the 429 arrived, so this is exact.
    expect(next!.at - rejected!.at).toBeGreaterThanOrEqual(400);
  });

  it('every chat request of one activity waits for its own slot (schema re-asks included)', async () => {
    const model = buildChatModel(ref('chat-reask', { requestsPerMinute: 600 })); // ~101 ms slots
    const limiter = rateLimiterFor(ref('chat-reask'))!;
    server.enqueue('defender', { content: 'not json' }, { content: '{"nope": 1}' });
    const t0 = Date.now();
    const r = await model.generate({ messages, schema: Answer, schemaName: 'answer', maxSchemaRetries: 2 });
    expect(r.attempts).toBe(3);
    expect(server.chatRequests()).toHaveLength(3);
    expect(limiter.stats.released).toBe(3);
    // The third request left two slots after the first, at the earliest.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * limiter.spacingMs - 1);
  });

  it('embedding batches each take a slot of the embedding endpoint\'s limiter', async () => {
    const embedder = buildEmbedder(ref('embed-rl', { requestsPerMinute: 600 }));
    const limiter = rateLimiterFor(ref('embed-rl'))!;
    const texts = Array.from({ length: 513 }, (_, i) => `text number ${i}`); // 3 batches of at most 256
    const t0 = Date.now();
    const r = await embedder.embed(texts);
    expect(r.vectors).toHaveLength(513);
    expect(server.requests.filter((q) => q.path.endsWith('/embeddings'))).toHaveLength(3);
    expect(limiter.stats.released).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * limiter.spacingMs - 1);
    // Cached texts cost no request and no slot.
    await embedder.embed(texts.slice(0, 10));
    expect(limiter.stats.released).toBe(3);
  });

  it('a chat call waiting for its slot is cancelled with its activity, and sends nothing', async () => {
    const model = buildChatModel(ref('chat-cancel', { requestsPerMinute: 60 }));
    const limiter = rateLimiterFor(ref('chat-cancel'))!;
    limiter.holdBack(60_000);
    const env = new MockActivityEnvironment(undefined, { logger: QUIET });
    const call = env.run(activity(() => model.generate({ messages, schema: Answer, schemaName: 'answer' })));
    const settled = call.then(
      () => 'resolved',
      () => 'rejected',
    );
    await new Promise((ok) => setTimeout(ok, 50));
    expect(limiter.queued).toBe(1);
    env.cancel();
    expect(await settled).toBe('rejected');
    expect(limiter.queued).toBe(0);
    expect(server.chatRequests()).toHaveLength(0);
  });
});

describe('requestsPerMinute in the run config', () => {
  const withRate = (value: unknown) => {
    const c = testConfig('http://127.0.0.1:9/v1', 'rl') as unknown as { models: Record<string, Record<string, unknown>> };
    c.models.a = { ...c.models.a, requestsPerMinute: value };
    return c;
  };

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['a string', '60'],
  ])('refuses %s, naming models.a.requestsPerMinute', (_label, value) => {
    const r = parseRunConfig(withRate(value));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toContain('models.a.requestsPerMinute');
  });

  it('accepts a positive number, fractions included', () => {
    for (const v of [0.5, 60, 10_000]) {
      const r = parseRunConfig(withRate(v));
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.config.models.a.requestsPerMinute).toBe(v);
    }
  });
});
