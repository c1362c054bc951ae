import { describe, expect, it } from 'vitest';
import type { CalibrationReport } from '../../common/contracts/calibration.js';
import { rate } from '../../common/stats.js';
import { newProgress } from '../../workflows/logic/progress.js';
import type { DomainStatus, RunStatus } from '../../workflows/messages.js';
import { renderCalibration } from '../../scripts/commands/calibrate.js';
import { renderStatus } from '../../scripts/lib/format.js';

/** The human text of `nanoflux status` and `nanoflux calibrate` for the Judge's calibration and the verified gate. */
const report = (passed: boolean): CalibrationReport => ({
  source: 'gsm8k-train',
  judgeModel: 'judge-x',
  promptVersion: 'v1',
  items: 12,
  byKind: { defender_wrong: 4, defender_right: 3, reference_wrong: 3, junk: 2 },
  agreement: { questionValid: rate(10, 12), referenceCorrect: rate(7, 10), defenderCorrect: rate(passed ? 10 : 4, 10) },
  badAccepted: rate(passed ? 0 : 5, 5),
  goodAccepted: rate(4, 4),
  failedCalls: passed ? 0 : 2,
  minAgreement: 0.75,
  passed,
  reasons: passed ? [] : ['defenderCorrect agrees with the labels on 40% of 10 items (< 75%)', 'accepts 100% of 5 wrong-reference and junk items (> 25%)'],
});

const domain = (over: Partial<DomainStatus> = {}): DomainStatus => ({
  ...newProgress('math'),
  stage: 'generating',
  inFlight: 0,
  concurrency: 2,
  generation: 0,
  seq: 1,
  targetComplexity: 3,
  ...over,
});

const status = (over: Partial<RunStatus>): RunStatus => ({
  runId: 'r1',
  stage: 'generating',
  paused: false,
  budget: {},
  domains: {},
  accepted: 0,
  episodes: 0,
  tokens: { attacker: 0, defender: 0, judge: 0, embedding: 0, total: 0 },
  cost: { attacker: 0, defender: 0, judge: 0, embedding: 0, total: 0 },
  ...over,
});

describe('status and calibrate text', () => {
  it('a run paused by its calibration says why, with the whole reason and the command to go on', () => {
    const why = 'the Judge failed its calibration (math: defenderCorrect agrees with the labels on 40% of 10 items (< 75%)); `nanoflux resume r1 --accept-judge` goes on anyway';
    const text = renderStatus(status({ stage: 'paused', paused: true, pausedBy: { user: false, calibration: why }, calibration: [{ domain: 'math', report: report(false), cached: false }, { domain: 'law', skipped: 'no labelled calibration set for pack "none"' }] }));
    expect(text).toContain('run r1: paused — 0 accepted');
    expect(text).toContain(`  paused: ${why}`);
    expect(text).toContain('  calibration math: judge judge-x FAILED calibration on 12 gsm8k-train items: questionValid 83% [55%–95%], referenceCorrect 70% [');
    expect(text).toContain('  calibration law: not calibrated (no labelled calibration set for pack "none")');
    expect(text).not.toContain('judge accepted');
    expect(text).not.toContain('paused by an operator');
  });

  it('a domain that failed as a whole is in the run line and has a line of its own; preflight, the breaker and failure reasons too', () => {
    const failed = renderStatus(status({ stage: 'done', failedDomains: [{ domain: 'law', error: 'Activity task failed ← ModelUnavailable: embedding request of 1 texts timed out after 3 s' }] }));
    expect(failed).toMatch(/^run r1: done \(1 domain\(s\) FAILED\) — /);
    expect(failed).toContain('  domain law FAILED: Activity task failed ← ModelUnavailable: embedding request of 1 texts timed out after 3 s (its examples, if any, are in the export; fix the cause and `nanoflux resume-from r1`)');
    const held = renderStatus(status({ stage: 'paused', paused: true, pausedBy: { user: false, preflight: ['judge (openai:o4-mini): environment variable K is not set on the worker'] } }));
    expect(held).toContain('  paused by preflight (fix it, then `nanoflux resume r1` checks again):\n    - judge (openai:o4-mini): environment variable K is not set on the worker');
    expect(renderStatus(status({ stage: 'preflight' }))).toContain('  preflight: checking keys, endpoints, benchmark files and the sandbox on the workers, before any episode');
    const tripped = renderStatus(status({ domains: { math: domain({ breaker: { type: 'MissingApiKey', count: 5, message: 'MissingApiKey: K is not set' } }) }, failures: [{ type: 'MissingApiKey', count: 5, last: 'MissingApiKey: K is not set' }] }));
    expect(tripped).toContain('paused by its circuit breaker: 5 consecutive episodes failed with MissingApiKey (MissingApiKey: K is not set); fix the cause, then `nanoflux resume r1`');
    expect(tripped).toContain('  failures (most frequent first):\n    MissingApiKey ×5: MissingApiKey: K is not set');
  });

  it('calibrating, and a Judge accepted with --accept-judge', () => {
    expect(renderStatus(status({ stage: 'calibrating' }))).toContain("calibrating the Judge on each domain's labelled set before any episode");
    const text = renderStatus(status({ judgeAccepted: { by: 'alice' }, calibration: [{ domain: 'math', report: report(false), cached: true }] }));
    expect(text).toContain('judge accepted by alice (--accept-judge)');
    expect(text).not.toContain('paused:');
  });

  it('rejections by reason include the gate\'s outcomes, and the verification tallies follow the domain', () => {
    const rejected = { ...newProgress('math').rejected, reference_unverified: 3, prompt_leak: 2, degenerate_steps: 1, answer_unparseable: 1 };
    const verification = { checked: 9, confirmed: 6, acceptedVerified: 4, judgeOverruled: 2, defendersByRule: 5 };
    const text = renderStatus(status({ domains: { math: domain({ accepted: 4, rejected, verification }) } }));
    expect(text).toMatch(/rejected reference_unverified 3, prompt_leak 2, degenerate_steps 1, answer_unparseable 1 /);
    expect(text).toContain('verified references checked 9, confirmed 6 · accepted with a confirmed reference 4 · Judge overruled ×2 · Defenders decided by rule 5');
    // Progress from before the gate has no tallies and no line for them.
    expect(renderStatus(status({ domains: { math: domain() } }))).not.toContain('verified');
  });

  it('nanoflux calibrate: a table per domain, why it failed, the failed calls and the summary', () => {
    const text = renderCalibration({ outcomes: [{ domain: 'math', report: report(false), cached: false }, { domain: 'med', report: report(true), cached: true }, { domain: 'law', skipped: 'no set' }], items: 12, minAgreement: 0.75, home: '/h' });
    expect(text).toContain('math: judge judge-x FAILED calibration on 12 gsm8k-train items (prompts v1)');
    expect(text).toMatch(/ {2}defenderCorrect +40% +4\/10 +\[17%–69%\] +agreement, needs 75%/);
    expect(text).toMatch(/ {2}bad accepted +100% +5\/5 /);
    expect(text).toContain('  2 Judge call(s) gave no verdict (counted as disagreements)');
    expect(text).toContain('  FAILED: defenderCorrect agrees with the labels on 40% of 10 items (< 75%); accepts 100% of 5');
    expect(text).toContain('med: judge judge-x passed calibration on 12 gsm8k-train items (prompts v1; cached)');
    expect(text).toContain('law: not calibrated (no set)');
    expect(text).toContain('1 passed, 1 failed, 1 not calibrated (12 items per domain, bar 75%); cached in /h/calibration');
  });
});
