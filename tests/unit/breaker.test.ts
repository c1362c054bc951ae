import { describe, expect, it } from 'vitest';
import { BREAKER_TYPES, describeTrip, failureText, failureType, failureTypeOf, observeEpisode, oneLine, recordFailure, topFailureReasons } from '../../workflows/logic/breaker.js';
import { applySummary, newProgress } from '../../workflows/logic/progress.js';
import type { EpisodeSummary } from '../../common/contracts/index.js';

const failed = (errorType: string | undefined, error = `${errorType ?? 'boom'}: it broke`) => ({ outcome: 'failed' as const, error, ...(errorType ? { errorType } : {}) });
const accepted = { outcome: 'accepted' as const };

describe('failureType', () => {
  it('is undefined for an episode that did not fail', () => {
    expect(failureType(accepted)).toBeUndefined();
    expect(failureType({ outcome: 'duplicate' })).toBeUndefined();
  });
  it("takes the summary's type, else a known type from the error's prefix, else other", () => {
    expect(failureType(failed('MissingApiKey'))).toBe('MissingApiKey');
    expect(failureType({ outcome: 'failed', error: 'ModelRequestRejected: 401 no' })).toBe('ModelRequestRejected');
    expect(failureType({ outcome: 'failed', error: 'Weird: not a type we know' })).toBe('other');
    expect(failureType({ outcome: 'failed' })).toBe('other');
  });
});

describe('observeEpisode (the circuit breaker)', () => {
  const run = (episodes: Array<Parameters<typeof observeEpisode>[1]>, threshold: number) => {
    let streak = { count: 0 } as ReturnType<typeof observeEpisode>['streak'];
    const trips: number[] = [];
    episodes.forEach((e, i) => {
      const r = observeEpisode(streak, e, threshold);
      streak = r.streak;
      if (r.trip) trips.push(i);
    });
    return { streak, trips };
  };

  it('trips on the K-th consecutive failure of one breaker type, with its message', () => {
    const r = observeEpisode({ type: 'MissingApiKey', count: 4 }, failed('MissingApiKey', 'MissingApiKey: environment variable K is not set'), 5);
    expect(r.trip).toEqual({ type: 'MissingApiKey', count: 5, message: 'MissingApiKey: environment variable K is not set' });
    expect(run(Array(5).fill(failed('ModelRequestRejected')), 5).trips).toEqual([4]);
  });
  it('starts again after an episode that did not fail, or failed otherwise', () => {
    expect(run([failed('MissingApiKey'), failed('MissingApiKey'), accepted, failed('MissingApiKey'), failed('MissingApiKey')], 3).trips).toEqual([]);
    expect(run([failed('MissingApiKey'), failed('MissingApiKey'), failed('ContextExceeded'), failed('ContextExceeded')], 3).trips).toEqual([]);
    expect(run([failed('MissingApiKey'), failed('MissingApiKey'), failed('ModelUnavailable'), failed('MissingApiKey')], 3).trips).toEqual([]);
  });
  it('ignores types a working setup also produces (schema misses, transient failures)', () => {
    for (const t of ['ModelOutputInvalid', 'ModelUnavailable', 'RateLimited', 'InternalError', undefined]) {
      expect(run(Array(10).fill(failed(t)), 2).trips, String(t)).toEqual([]);
    }
  });
  it('counts every breaker type, and never trips at threshold 0', () => {
    for (const t of BREAKER_TYPES) expect(run(Array(3).fill(failed(t)), 3).trips, t).toEqual([2]);
    expect(run(Array(50).fill(failed('MissingApiKey')), 0).trips).toEqual([]);
  });
  it('says what happened and what to do', () => {
    expect(describeTrip({ type: 'MissingApiKey', count: 5, message: 'x' }, 'r1')).toBe('5 consecutive episodes failed with MissingApiKey (x); fix the cause, then `nanoflux resume r1`');
  });
});

describe('failure reasons', () => {
  it('counts by type with the last message on one line', () => {
    let r = recordFailure(undefined, failed('MissingApiKey', 'MissingApiKey: first'));
    r = recordFailure(r, accepted);
    r = recordFailure(r, failed('MissingApiKey', 'MissingApiKey: second\n  at stack'));
    r = recordFailure(r, failed(undefined, 'something else'));
    expect(r).toEqual({ MissingApiKey: { count: 2, last: 'MissingApiKey: second at stack' }, other: { count: 1, last: 'something else' } });
    expect(oneLine('x'.repeat(300))).toHaveLength(200);
  });
  it('are part of a domain\'s progress, and absent until an episode fails', () => {
    const base = { episode: 0, workflowId: 'w', attackerSlot: 'a', topic: 't', targetComplexity: 3, tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0 }, toolCalls: 0 } as const;
    const p1 = applySummary(newProgress('math'), { ...base, outcome: 'accepted' } as EpisodeSummary);
    expect(p1.failures).toBeUndefined();
    const p2 = applySummary(p1, { ...base, outcome: 'failed', error: 'ContextExceeded: 4141 > 4096', errorType: 'ContextExceeded' } as EpisodeSummary);
    expect(p2.failures).toEqual({ ContextExceeded: { count: 1, last: 'ContextExceeded: 4141 > 4096' } });
  });
  it('top reasons over domains: summed, most frequent first, ties by name', () => {
    const top = topFailureReasons([
      { failures: { MissingApiKey: { count: 2, last: 'a' }, other: { count: 1, last: 'o' } } },
      { failures: { MissingApiKey: { count: 1, last: 'b' }, ContextExceeded: { count: 1, last: 'c' } } },
      {},
    ]);
    expect(top).toEqual([
      { type: 'MissingApiKey', count: 3, last: 'b' },
      { type: 'ContextExceeded', count: 1, last: 'c' },
      { type: 'other', count: 1, last: 'o' },
    ]);
    expect(topFailureReasons([{ failures: { a: { count: 1, last: '' }, b: { count: 2, last: '' } } }], 1)).toEqual([{ type: 'b', count: 2, last: '' }]);
  });
});

describe('failureText', () => {
  it('walks the cause chain, naming types, one line', () => {
    const inner = Object.assign(new Error('embedding request of 1 texts timed out after 3 s'), { type: 'ModelUnavailable' });
    const activity = new Error('Activity task failed', { cause: inner });
    const child = new Error('Child Workflow execution failed', { cause: activity });
    expect(failureText(child)).toBe('Child Workflow execution failed ← Activity task failed ← ModelUnavailable: embedding request of 1 texts timed out after 3 s');
    expect(failureText('plain')).toBe('plain');
    expect(failureText(new Error('a\nb'))).toBe('a b');
  });
});

describe('failureTypeOf', () => {
  it('is the type nearest the top of the cause chain, none when no failure names one', () => {
    const inner = Object.assign(new Error('K is not set'), { type: 'MissingApiKey' });
    expect(failureTypeOf(new Error('Activity task failed', { cause: inner }))).toBe('MissingApiKey');
    expect(failureTypeOf(Object.assign(new Error('outer'), { type: 'ContextExceeded', cause: inner }))).toBe('ContextExceeded');
    expect(failureTypeOf(new Error('no type'))).toBeUndefined();
    expect(failureTypeOf('text')).toBeUndefined();
  });
});
