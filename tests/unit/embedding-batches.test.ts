import { describe, expect, it } from 'vitest';
import { type BatchPolicy, type BatchState, batchPolicy, initialBatch, nextBatch } from '../../activities/store/embeddings/batches.js';
import { resumeCursor } from '../../activities/store/embeddings/job.js';

/** Every state a policy can be in (sizes 1..max, streaks 0..growAfter, both `grown`, every growAfter it can reach). */
function* states(p: BatchPolicy): Generator<BatchState> {
  for (let growAfter = p.growAfter; growAfter <= p.maxGrowAfter; growAfter *= 2)
    for (let size = 1; size <= p.max; size++)
      for (let streak = 0; streak < growAfter; streak++) for (const grown of [false, true]) yield { size, streak, growAfter, grown };
}

/**
 * A job of `n` texts against a server that answers batches of at most `limit` in time (the rest time
 * out), the way runEmbeddingJob drives the policy: sizes of the batches that succeeded, the number
 * of timeouts, and whether it gave up (a single text timed out).
 */
function simulate(p: BatchPolicy, n: number, limit: (request: number) => number) {
  let s = initialBatch(p);
  let pos = 0;
  let requests = 0;
  let timeouts = 0;
  const ok: number[] = [];
  while (pos < n) {
    const sent = Math.min(s.size, n - pos);
    if (sent > limit(requests++)) {
      timeouts++;
      const next = nextBatch(s, 'timeout', sent, p);
      if (!next) return { ok, timeouts, gaveUp: true };
      s = next;
      continue;
    }
    ok.push(sent);
    pos += sent;
    s = nextBatch(s, 'ok', sent, p);
  }
  return { ok, timeouts, gaveUp: false };
}

describe('embedding batch sizes', () => {
  // The default pacing at small maxima, and a faster one: every state of each is checked.
  const policies: BatchPolicy[] = [...[1, 2, 3, 7, 16].map(batchPolicy), { max: 12, growAfter: 1, maxGrowAfter: 8 }, { max: 9, growAfter: 3, maxGrowAfter: 3 }];

  it('a timeout halves what was sent, never below 1; a single text that times out gives up', () => {
    for (const p of policies)
      for (const s of states(p))
        for (let sent = 1; sent <= s.size; sent++) {
          const next = nextBatch(s, 'timeout', sent, p);
          if (sent === 1) {
            expect(next).toBeUndefined();
            continue;
          }
          expect(next).toEqual({
            size: Math.floor(sent / 2),
            streak: 0,
            // A size that failed right after growing: the next growth waits twice as long (capped).
            growAfter: s.grown ? Math.min(p.maxGrowAfter, s.growAfter * 2) : s.growAfter,
            grown: false,
          });
        }
  });

  it('a success keeps the size or doubles it (capped at the max) once the streak reaches growAfter; a grown size that works resets growAfter', () => {
    for (const p of policies)
      for (const s of states(p))
        for (let sent = 1; sent <= s.size; sent++) {
          const next = nextBatch(s, 'ok', sent, p);
          const growAfter = s.grown ? p.growAfter : s.growAfter;
          const grows = s.streak + 1 >= growAfter && s.size < p.max;
          expect(next).toEqual(
            grows ? { size: Math.min(p.max, s.size * 2), streak: 0, growAfter, grown: true } : { size: s.size, streak: s.streak + 1, growAfter, grown: false },
          );
          expect(next.size).toBeLessThanOrEqual(p.max);
        }
  });

  it('starts at the max, or at a learned size clamped into 1..max', () => {
    const p = batchPolicy(256);
    expect(initialBatch(p)).toEqual({ size: 256, streak: 0, growAfter: 4, grown: false });
    expect(initialBatch(p, 16).size).toBe(16);
    expect(initialBatch(p, 1000).size).toBe(256);
    expect(initialBatch(p, 0).size).toBe(1);
    expect(initialBatch(p, 5.7).size).toBe(5);
    expect(batchPolicy(0).max).toBe(1);
  });

  it('against a server with a fixed limit, settles on the largest halving of the max within it, with a bounded number of timeouts', () => {
    const p = batchPolicy(256);
    const n = 3000;
    for (let limit = 1; limit <= 256; limit++) {
      const r = simulate(p, n, () => limit);
      expect(r.gaveUp).toBe(false);
      expect(r.ok.reduce((a, b) => a + b, 0)).toBe(n);
      // Halving 256 lands on a power of two: the largest within the limit.
      const settled = 2 ** Math.floor(Math.log2(limit));
      expect(r.ok.slice(0, -1).every((size) => size === settled)).toBe(true);
      // The halvings down, then one failed probe per growth, each after twice as many successes as the
      // last (4, 8 … 64): the probes cost at most one timeout per 64 batches in the long run.
      const halvings = Math.log2(256 / settled);
      expect(r.timeouts).toBeGreaterThanOrEqual(halvings);
      expect(r.timeouts - halvings).toBeLessThanOrEqual(settled === 256 ? 0 : 4 + Math.ceil(r.ok.length / 64));
    }
  });

  it('a single text that times out gives up after halving all the way down', () => {
    for (const max of [1, 2, 5, 64, 256]) {
      const r = simulate(batchPolicy(max), 1000, () => 0);
      expect(r).toEqual({ ok: [], timeouts: Math.floor(Math.log2(max)) + 1, gaveUp: true });
    }
  });

  it('grows back to the max once a busy server answers again', () => {
    const p = batchPolicy(256);
    // The first 6 requests find the server busy (only single texts answer), then it answers anything.
    const r = simulate(p, 5000, (i) => (i < 6 ? 1 : 256));
    expect(r.gaveUp).toBe(false);
    expect(r.ok.at(-2)).toBe(256);
    expect(r.timeouts).toBe(6); // 256 → 128 → … → 8 timed out; 4 was the first size tried after
    // Then a doubling after every 4 successes: 4 → 256 is 6 doublings, 24 batches.
    expect(r.ok.slice(0, 25)).toEqual([4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 128, 256]);
  });
});

describe('a job cursor from a previous attempt', () => {
  const c = { job: 'decontam/gsm8k', done: 40, total: 100, batch: 8 };
  it('is taken only when it is this job, with the same items', () => {
    expect(resumeCursor(c, 'decontam/gsm8k', 100)).toEqual(c);
    expect(resumeCursor(c, 'decontam/pubmedqa', 100)).toBeUndefined();
    expect(resumeCursor(c, 'decontam/gsm8k', 120)).toBeUndefined();
    expect(resumeCursor({ ...c, done: 101 }, 'decontam/gsm8k', 100)).toBeUndefined();
    // What older workers heartbeated (progress only), nothing, or junk: start over.
    expect(resumeCursor({ done: 40, total: 100 }, 'decontam/gsm8k', 100)).toBeUndefined();
    expect(resumeCursor(undefined, 'decontam/gsm8k', 100)).toBeUndefined();
    expect(resumeCursor({ ...c, batch: 0 }, 'decontam/gsm8k', 100)).toBeUndefined();
    expect(resumeCursor('x', 'decontam/gsm8k', 100)).toBeUndefined();
  });
});
