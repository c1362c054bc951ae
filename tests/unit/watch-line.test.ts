import { describe, expect, it } from 'vitest';
import { newProgress } from '../../workflows/logic/progress.js';
import type { DomainStatus, RunStatus } from '../../workflows/messages.js';
import { watchLine } from '../../scripts/lib/watch-line.js';

/** `nanoflux status --watch` into a pipe: the line printed per change (the run's course; tests/workflow/logs.test.ts runs it for real). */
const domain = (name: string, over: Partial<DomainStatus> = {}): DomainStatus => ({
  ...newProgress(name),
  stage: 'generating',
  inFlight: 1,
  concurrency: 2,
  generation: 0,
  seq: 1,
  targetComplexity: 3,
  targetAccepted: 10,
  ...over,
});

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  runId: 'r1',
  stage: 'generating',
  paused: false,
  budget: {},
  domains: { math: domain('math', { accepted: 3 }), law: domain('law', { accepted: 1, targetAccepted: 5 }) },
  accepted: 4,
  episodes: 9,
  tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0, total: 0 },
  cost: { attacker: 0, defender: 0, judge: 0, embedding: 0, total: 0 },
  ...over,
});

const running = (s: RunStatus) => ({ runId: s.runId, workflowStatus: 'RUNNING', status: s });

describe('the --watch line (scripts/lib/watch-line.ts)', () => {
  it('says stage, accepted of the summed targets, episodes and failures in one line', () => {
    expect(watchLine(running(status()))).toBe('run r1 generating · accepted 4/15 · episodes 9 · failed 0');
  });

  it('leaves the target out until every domain reported one', () => {
    expect(watchLine(running(status({ domains: {}, accepted: 0, episodes: 0 })))).toBe('run r1 generating · accepted 0 · episodes 0 · failed 0');
    expect(watchLine(running(status({ domains: { math: domain('math', { targetAccepted: undefined }) } })))).toMatch(/ accepted 4 · /);
  });

  it('counts failed episodes over the domains and names the most frequent failure type', () => {
    const math = domain('math', { rejected: { ...newProgress('math').rejected, failed: 4 } });
    const law = domain('law', { rejected: { ...newProgress('law').rejected, failed: 2 } });
    const s = status({ domains: { math, law }, failures: [{ type: 'MissingApiKey', count: 5, last: 'OPENAI_API_KEY is not set' }, { type: 'ModelUnavailable', count: 1, last: 'x' }] });
    expect(watchLine(running(s))).toBe('run r1 generating · accepted 4/20 · episodes 9 · failed 6 (MissingApiKey ×5)');
  });

  it('says why the run or a domain waits: operator, budget, preflight, calibration, circuit breaker', () => {
    const user = status({ stage: 'paused', paused: true, pausedBy: { user: true } });
    expect(watchLine(running(user))).toBe('run r1 paused paused: by an operator · accepted 4/15 · episodes 9 · failed 0');
    const budget = status({ stage: 'paused', paused: true, pausedBy: { user: false, budget: { kind: 'tokens', used: 12_345, limit: 10_000 } } });
    expect(watchLine(running(budget))).toContain('paused: budget: tokens 12,345/10,000 ·');
    const cost = status({ stage: 'paused', paused: true, pausedBy: { user: false, budget: { kind: 'cost', used: 1.5, limit: 1 } } });
    expect(watchLine(running(cost))).toContain('paused: budget: cost $1.50/$1.00 ·');
    const preflight = status({ stage: 'paused', paused: true, pausedBy: { user: false, preflight: ['models.a: OPENAI_API_KEY is not set on the worker\nset it', 'models.judge: no tools'] } });
    expect(watchLine(running(preflight))).toContain('paused: preflight: models.a: OPENAI_API_KEY is not set on the worker (+1 more) ·');
    const calibration = status({ stage: 'paused', paused: true, pausedBy: { user: false, calibration: 'the Judge failed its calibration' } });
    expect(watchLine(running(calibration))).toContain('paused: calibration: the Judge failed its calibration ·');
    const tripped = status({ domains: { math: domain('math', { stage: 'paused', breaker: { type: 'ModelRequestRejected', count: 5, message: 'HTTP 400' } }) } });
    expect(watchLine(running(tripped))).toBe('run r1 generating paused: math breaker: ModelRequestRejected ×5 · accepted 4/10 · episodes 9 · failed 0');
  });

  it("says a closed workflow's end first, where it stood, and a poll no worker answered", () => {
    expect(watchLine({ runId: 'r1', workflowStatus: 'COMPLETED', status: status({ stage: 'done' }) })).toBe('run r1 done · accepted 4/15 · episodes 9 · failed 0');
    const failed = { runId: 'r1', workflowStatus: 'FAILED', failure: 'invalid run config:\n  models.a: missing', status: status({ stage: 'exporting' }) };
    expect(watchLine(failed)).toBe('run r1 failed at exporting: invalid run config: · accepted 4/15 · episodes 9 · failed 0');
    expect(watchLine({ runId: 'r1', workflowStatus: 'TERMINATED' })).toBe('run r1 terminated');
    expect(watchLine({ runId: 'r1', workflowStatus: 'FAILED', failure: 'invalid run config:\n x' })).toBe('run r1 failed: invalid run config:');
    expect(watchLine({ runId: 'r1', workflowStatus: 'RUNNING', note: 'no worker answered the status query of run r1 in 30 s' })).toBe(
      'run r1 running (no status: no worker answered the status query of run r1 in 30 s)',
    );
  });

  it('names a domain that failed as a whole, with its reason', () => {
    const s = status({ stage: 'done', domains: { law: domain('law', { accepted: 1, targetAccepted: 5 }) }, accepted: 1, failedDomains: [{ domain: 'math', error: 'Child Workflow execution failed ← ModelUnavailable: embedding timed out' }] });
    expect(watchLine({ runId: 'r1', workflowStatus: 'COMPLETED', status: s })).toBe('run r1 done · domains FAILED: math (Child Workflow execution failed ← ModelUnavailable: embedding timed out) · accepted 1/5 · episodes 9 · failed 0');
  });
});
