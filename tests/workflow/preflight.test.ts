import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import { TaskQueue } from '../../common/task-queues.js';
import { SA } from '../../common/search-attributes.js';
import { startOptions } from '../../workflows/logic/start-options.js';
import { type RunStatus, statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { runNanoflux } from '../support/run-command.js';
import { startTestWorkers, until, useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-preflight';
/** The Judge's key variable: unset until the test "fixes" the worker. */
const JUDGE_KEY = 'NANOFLUX_PREFLIGHT_JUDGE_KEY';

/**
 * Fail fast on what cannot work (issue 13): preflight pauses a run before any episode when a key is
 * missing, and `resume` checks again on a restarted worker; the circuit breaker pauses a domain whose
 * endpoint refuses every call after K episodes, not after its whole episode budget.
 */
describe('preflight and the circuit breaker, against a real server', () => {
  const f = useGameFixture(NS);
  const dir = mkdtempSync(join(tmpdir(), 'nf-preflight-'));
  const nf = (...args: string[]) =>
    runNanoflux(args, { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: f.workers.home, NANOFLUX_CLI_TIMEOUT: '15' }, 120_000);
  const start = (config: RunConfigInput) =>
    f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { ...startOptions({ kind: 'run', runId: config.runId }), taskQueue: TaskQueue.main, args: [config] });
  const writeConfig = (config: RunConfigInput): string => {
    const file = join(dir, `${config.runId}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const withJudgeKey = (config: RunConfigInput): RunConfigInput => ({ ...config, models: { ...config.models, judge: { ...config.models.judge, apiKeyEnv: JUDGE_KEY } } });
  const isProbe = (r: { body: { response_format?: { json_schema?: { name?: string } } } }) => r.body.response_format?.json_schema?.name === 'preflight';
  const episodeRequests = () => f.server.chatRequests().filter((r) => !isProbe(r));
  const probes = () => f.server.chatRequests().filter(isProbe).length;

  it('a missing key pauses the run at preflight with 0 episodes; set on a restarted worker, resume goes on', async () => {
    delete process.env[JUDGE_KEY];
    scriptGame(f.server);
    const config = withJudgeKey(testConfig(f.server.baseURL, 'pf-key', { preflight: true, generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 } }));
    const before = episodeRequests().length;
    const h = await start(config);

    const paused = await until(() => h.query(statusQuery), (s: RunStatus) => s.pausedBy?.preflight !== undefined, 60_000);
    expect(paused).toMatchObject({ stage: 'paused', paused: true, episodes: 0, domains: {}, preflight: { ok: false } });
    expect(paused.preflight!.problems).toEqual([
      { check: 'key', subject: `judge (openai:judge at ${f.server.baseURL})`, type: 'MissingApiKey', message: expect.stringContaining(`environment variable ${JUDGE_KEY} is not set on the worker`) },
    ]);
    // Models A and B were probed (preflight's requests); no role was ever asked to play.
    expect(episodeRequests().length).toBe(before);
    expect(probes()).toBeGreaterThanOrEqual(2);
    const described = await h.describe();
    expect(described.typedSearchAttributes.get(SA.stage)).toBe('preflight-failed');
    expect(String((await h.describe()).memo?.preflight)).toMatch(new RegExp(`^failed: judge .*${JUDGE_KEY} is not set.*nanoflux resume pf-key`));
    const text = await nf('status', 'pf-key');
    expect(text.stdout).toContain('paused by preflight (fix it, then `nanoflux resume pf-key` checks again):');
    expect(text.stdout).toContain(`    - judge (openai:judge at ${f.server.baseURL}): environment variable ${JUDGE_KEY} is not set on the worker`);

    // A resume that changes nothing checks again (A and B are probed again) and pauses again with the same problem.
    const probed = probes();
    const stillMissing = await nf('resume', 'pf-key');
    expect(stillMissing.status, stillMissing.stderr).toBe(0);
    await until(() => h.query(statusQuery), (s: RunStatus) => probes() >= probed + 2 && s.stage === 'paused' && s.pausedBy?.preflight !== undefined);
    expect((await h.query(statusQuery)).episodes).toBe(0);

    // The fix: the key set where the worker runs, the worker restarted, then resume.
    process.env[JUDGE_KEY] = 'judge-key-value';
    const home = f.workers.home;
    await f.workers.stop();
    f.workers = await startTestWorkers(NS, home);
    const resumed = await nf('resume', 'pf-key');
    expect(resumed.status, resumed.stderr).toBe(0);
    const result = await h.result();
    expect(result.status.preflight).toEqual({ ok: true, problems: [] });
    expect(result.status.accepted).toBeGreaterThanOrEqual(2);
    expect(result.status.pausedBy?.preflight).toBeUndefined();
    expect(String((await h.describe()).memo?.preflight)).toBe('passed');
  }, 180_000);

  it('validate --check runs the same checks on the workers: the problem, then a pass', async () => {
    scriptGame(f.server);
    const missing = withJudgeKey(testConfig(f.server.baseURL, 'pf-check', {}));
    const saved = process.env[JUDGE_KEY];
    delete process.env[JUDGE_KEY];
    try {
      const bad = await nf('validate', '--config', writeConfig(missing), '--check');
      expect(bad.status, bad.stderr).toBe(1);
      expect(bad.stdout).toContain('preflight found 1 problem(s) on the workers:');
      expect(bad.stdout).toContain(`environment variable ${JUDGE_KEY} is not set on the worker`);
    } finally {
      if (saved !== undefined) process.env[JUDGE_KEY] = saved;
    }
    const good = await nf('validate', '--config', writeConfig(testConfig(f.server.baseURL, 'pf-check-ok', {})), '--check', '--json');
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual({ valid: true, runId: 'pf-check-ok', preflight: { ok: true, problems: [] } });
  }, 120_000);

  it('an endpoint that refuses every call trips the breaker after K episodes; resume closes it', async () => {
    let refuse = true;
    const game = scriptGame(f.server, { delayMs: 20 });
    // The Attacker's endpoint says the key is bad on every call (a key revoked mid-run): non-retryable.
    f.server.intercept((r) => (refuse && r.role === 'attacker' ? { status: 401, message: 'Incorrect API key provided' } : undefined));
    const config = testConfig(f.server.baseURL, 'pf-breaker', { generation: { targetAccepted: 1, maxEpisodes: 40, concurrency: 1, pauseAfterFailures: 3 } });
    const h = await start(config);

    const tripped = await until(() => h.query(statusQuery), (s: RunStatus) => s.domains.math?.breaker !== undefined, 60_000);
    const d = tripped.domains.math!;
    expect(d.breaker).toEqual({ type: 'ModelRequestRejected', count: 3, message: expect.stringContaining('Incorrect API key provided') });
    expect(d.stage).toBe('paused');
    expect(tripped.failures).toEqual([{ type: 'ModelRequestRejected', count: 3, last: expect.stringContaining('Incorrect API key provided') }]);
    // Nothing more starts while it is open.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.query(statusQuery)).domains.math!.episodesStarted).toBe(3);
    expect(game.calls.attacker).toBe(0);

    const text = await nf('status', 'pf-breaker');
    expect(text.stdout).toContain('paused by its circuit breaker: 3 consecutive episodes failed with ModelRequestRejected');
    expect(text.stdout).toMatch(/failures \(most frequent first\):\n {4}ModelRequestRejected ×3: .*Incorrect API key provided/);
    const json = JSON.parse((await nf('status', 'pf-breaker', '--json')).stdout) as RunStatus;
    expect(json.failures?.[0]).toMatchObject({ type: 'ModelRequestRejected', count: 3 });

    refuse = false;
    const resumed = await nf('resume', 'pf-breaker');
    expect(resumed.status, resumed.stderr).toBe(0);
    const result = await h.result();
    expect(result.status.accepted).toBeGreaterThanOrEqual(1);
    expect(result.status.domains.math!.breaker).toBeUndefined();
    expect(result.status.domains.math!.failures).toEqual({ ModelRequestRejected: { count: 3, last: expect.any(String) } });
    f.server.intercept(undefined);
  }, 120_000);
});
