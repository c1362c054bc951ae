import { describe, expect, it } from 'vitest';
import type { EpisodeSummary, Verdict } from '../../common/contracts/index.js';
import { decide, qualityLevel } from '../../workflows/logic/decide.js';
import { domainWorkflowId, episodeKey, episodeWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import { applySummary, budgetExceeded, EVENTS_PER_REPORT, mayLaunch, newProgress, progressIntervalMs, spendIsUrgent, stopReason, totalTokens } from '../../workflows/logic/progress.js';
import { callCost, embeddingCost } from '../../workflows/logic/cost.js';
import { rolesFor, topicFor } from '../../workflows/logic/roles.js';

const verdict = (v: Partial<Verdict>): Verdict => ({
  questionValid: true,
  referenceCorrect: true,
  defenderCorrect: false,
  complexity: 3,
  hops: 2,
  quality: 4,
  explanation: 'checked',
  ...v,
});

describe('decide', () => {
  it('accepts only a valid, verified question the Defender got wrong', () => {
    expect(decide(verdict({}))).toBe('accepted');
  });
  it.each([
    [{ questionValid: false }, 'invalid_question'],
    [{ questionValid: false, referenceCorrect: false, defenderCorrect: true }, 'invalid_question'],
    [{ referenceCorrect: false }, 'reference_wrong'],
    [{ referenceCorrect: false, defenderCorrect: true }, 'reference_wrong'],
    [{ defenderCorrect: true }, 'defender_correct'],
  ] as const)('%o → %s', (v, outcome) => {
    expect(decide(verdict(v))).toBe(outcome);
  });
  it('covers all eight combinations of the three checks', () => {
    const seen = new Set<string>();
    for (const questionValid of [true, false])
      for (const referenceCorrect of [true, false])
        for (const defenderCorrect of [true, false]) {
          const o = decide(verdict({ questionValid, referenceCorrect, defenderCorrect }));
          expect(o === 'accepted').toBe(questionValid && referenceCorrect && !defenderCorrect);
          seen.add(o);
        }
    expect(seen).toEqual(new Set(['accepted', 'invalid_question', 'reference_wrong', 'defender_correct']));
  });
});

describe('qualityLevel bins as in the paper', () => {
  it.each([
    [1.0, 'L1'], [1.49, 'L1'], [1.5, 'L2'], [2.49, 'L2'], [2.5, 'L3'], [3.49, 'L3'], [3.5, 'L4'], [4.49, 'L4'], [4.5, 'L5'], [5.0, 'L5'],
  ] as const)('%f → %s', (q, level) => expect(qualityLevel(q)).toBe(level));
});

describe('roles and topics', () => {
  const models = { a: { provider: 'openai' as const, model: 'A' }, b: { provider: 'openai' as const, model: 'B' } };
  it('A attacks even episodes, B odd ones', () => {
    expect(rolesFor(0, models)).toMatchObject({ attackerSlot: 'a', attacker: { model: 'A' }, defender: { model: 'B' } });
    expect(rolesFor(1, models)).toMatchObject({ attackerSlot: 'b', attacker: { model: 'B' }, defender: { model: 'A' } });
    expect(rolesFor(42, models).attackerSlot).toBe('a');
  });
  it('draws topics round-robin', () => {
    expect([0, 1, 2, 3, 4].map((n) => topicFor(n, ['x', 'y', 'z']))).toEqual(['x', 'y', 'z', 'x', 'y']);
    expect(() => topicFor(0, [])).toThrow();
  });
});

describe('ids', () => {
  it('are readable and deterministic', () => {
    expect(runWorkflowId('r1')).toBe('nanoflux-r1');
    expect(domainWorkflowId('r1', 'math')).toBe('nanoflux-r1/math');
    expect(episodeWorkflowId('r1', 'math', 42)).toBe('nanoflux-r1/math/ep-000042');
    expect(episodeKey('r1', 'math', 42)).toBe('r1/math/42');
  });
});

const summary = (s: Partial<EpisodeSummary>): EpisodeSummary => ({
  episode: 0,
  workflowId: 'w',
  attackerSlot: 'a',
  topic: 't',
  targetComplexity: 3,
  outcome: 'accepted',
  tokens: { attacker: 10, defender: 5, judge: 7, embedding: 1 },
  toolCalls: 0,
  ...s,
});

describe('progress', () => {
  it('counts outcomes, rejections by reason and tokens by role', () => {
    let p = newProgress('math');
    p = applySummary(p, summary({}));
    p = applySummary(p, summary({ outcome: 'duplicate' }));
    p = applySummary(p, summary({ outcome: 'defender_correct' }));
    expect(p.accepted).toBe(1);
    expect(p.rejected).toMatchObject({ duplicate: 1, defender_correct: 1, failed: 0 });
    expect(p.episodesFinished).toBe(3);
    expect(p.tokens).toEqual({ attacker: 30, defender: 15, judge: 21, embedding: 3 });
    expect(totalTokens(p.tokens)).toBe(69);
  });

  it('stops on target, on the episode budget, and on request (request first)', () => {
    const limits = { targetAccepted: 2, maxEpisodes: 5 };
    const p = newProgress('m');
    expect(stopReason(p, limits, undefined)).toBeUndefined();
    expect(stopReason({ ...p, accepted: 2 }, limits, undefined)).toBe('target_reached');
    expect(stopReason({ ...p, episodesStarted: 5 }, limits, undefined)).toBe('max_episodes');
    expect(stopReason({ ...p, accepted: 2 }, limits, 'stopped')).toBe('stopped');
  });

  it('launches only when unpaused, unstopped, under the limits and under concurrency', () => {
    const limits = { targetAccepted: 2, maxEpisodes: 5 };
    const p = newProgress('m');
    const base = { inFlight: 1, concurrency: 2, paused: false, stop: undefined };
    expect(mayLaunch(p, limits, base)).toBe(true);
    expect(mayLaunch(p, limits, { ...base, inFlight: 2 })).toBe(false);
    expect(mayLaunch(p, limits, { ...base, paused: true })).toBe(false);
    expect(mayLaunch(p, limits, { ...base, stop: 'stopped' })).toBe(false);
    expect(mayLaunch({ ...p, accepted: 2 }, limits, base)).toBe(false);
    expect(mayLaunch({ ...p, episodesStarted: 5 }, limits, base)).toBe(false);
  });

  it('sums the token and cost budgets over every domain; tokens are checked first', () => {
    const a = { ...newProgress('a'), tokens: { attacker: 50, defender: 0, judge: 0, embedding: 0 }, cost: { attacker: 0.5, defender: 0, judge: 0, embedding: 0 } };
    const b = { ...newProgress('b'), tokens: { attacker: 0, defender: 40, judge: 10, embedding: 0 }, cost: { attacker: 0, defender: 0.25, judge: 0.25, embedding: 0.001 } };
    expect(budgetExceeded([a, b], {})).toBeUndefined();
    expect(budgetExceeded([a, b], { maxTokens: 101 })).toBeUndefined();
    expect(budgetExceeded([a, b], { maxTokens: 100 })).toEqual({ kind: 'tokens', limit: 100, used: 100 });
    expect(budgetExceeded([a, b], { maxCost: 1.01 })).toBeUndefined();
    expect(budgetExceeded([a, b], { maxCost: 1 })).toEqual({ kind: 'cost', limit: 1, used: 1.001 });
    expect(budgetExceeded([a, b], { maxTokens: 100, maxCost: 1 })!.kind).toBe('tokens');
    // Progress carried by older code has no cost: counted as nothing, not as a crash.
    const old = { ...a } as Partial<typeof a>;
    delete old.cost;
    expect(budgetExceeded([old as typeof a], { maxCost: 0.1 })).toBeUndefined();
  });

  it('prices a call from its usage: prompt and completion tokens at their own rates; no price, no cost', () => {
    const price = { inputPerMillion: 2.5, outputPerMillion: 10 };
    expect(callCost({ promptTokens: 1_000_000, completionTokens: 0 }, price)).toBe(2.5);
    expect(callCost({ promptTokens: 200_000, completionTokens: 50_000 }, price)).toBeCloseTo(0.5 + 0.5, 12);
    expect(callCost({ promptTokens: 1000, completionTokens: 1000 }, undefined)).toBe(0);
    expect(embeddingCost(4_000_000, { inputPerMillion: 0.02, outputPerMillion: 0 })).toBeCloseTo(0.08, 12);
  });
});

describe('progressIntervalMs (how often a domain loop reports to the run)', () => {
  it('reports every second at first, then spaces reports out as they add up', () => {
    expect(progressIntervalMs(0, 1)).toBe(1_000);
    expect(progressIntervalMs(4_999, 1)).toBe(1_000);
    expect(progressIntervalMs(5_000, 1)).toBe(30_000);
    expect(progressIntervalMs(7_500, 1)).toBe(300_000);
    expect(progressIntervalMs(8_750, 1)).toBe(3_600_000);
    expect(progressIntervalMs(1e9, 1)).toBe(3_600_000);
    expect(progressIntervalMs(1e9, 6)).toBe(2 * 3_600_000);
  });

  it('shares the budget between the domains of a run', () => {
    expect(progressIntervalMs(1_249, 4)).toBe(1_000);
    expect(progressIntervalMs(1_250, 4)).toBe(30_000);
    expect(progressIntervalMs(0, 0)).toBe(1_000);
  });

  it('never shortens as reports add up', () => {
    for (const domains of [1, 3, 10]) {
      let last = 0;
      for (let n = 0; n < 20_000; n += 7) {
        const ms = progressIntervalMs(n, domains);
        expect(ms).toBeGreaterThanOrEqual(last);
        last = ms;
      }
    }
  });

  it('keeps a run that reports as often as allowed under the history limit for 30 days', () => {
    for (const domains of [1, 2, 5, 16]) {
      let t = 0;
      let sent = 0;
      while (t < 30 * 24 * 3_600_000) t += progressIntervalMs(sent++, domains);
      // Every domain of the run at full pace, all into the one run history (51,200 events at most).
      expect(sent * domains * EVENTS_PER_REPORT).toBeLessThan(45_000);
    }
  });
});

describe('spendIsUrgent (report at once what matters to the budget)', () => {
  const at = { tokens: 1_000, cost: 1 };
  it('is urgent once 1% of a token or cost budget was spent since the last report', () => {
    expect(spendIsUrgent({ tokens: 1_999, cost: 1 }, at, { maxTokens: 100_000 })).toBe(false);
    expect(spendIsUrgent({ tokens: 2_000, cost: 1 }, at, { maxTokens: 100_000 })).toBe(true);
    expect(spendIsUrgent({ tokens: 1_000, cost: 1.49 }, at, { maxCost: 50 })).toBe(false);
    expect(spendIsUrgent({ tokens: 1_000, cost: 1.5 }, at, { maxCost: 50 })).toBe(true);
  });
  it('is never urgent without a budget', () => {
    expect(spendIsUrgent({ tokens: 1e9, cost: 1e9 }, at, {})).toBe(false);
  });
});
