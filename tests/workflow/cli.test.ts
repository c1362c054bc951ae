import { defaultPayloadConverter } from '@temporalio/common';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { temporalCliPath } from '../../common/env.js';
import { stringify } from 'yaml';
import type { RunConfigInput } from '../../common/config.js';
import { TaskQueue } from '../../common/task-queues.js';
import { episodeWorkflowId, runWorkflowId } from '../../workflows/logic/ids.js';
import { type RunStatus, statusQuery } from '../../workflows/messages.js';
import type { RunResult } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { until, useGameFixture } from '../support/workers.js';
import { runCommand, runNanoflux } from '../support/run-command.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-cli';

/**
 * The `nanoflux` binary against the real dev server, with the real workers running in this
 * process. Every command goes through `node scripts/nanoflux.mjs` (spawned asynchronously, so the
 * in-process worker keeps running), and the test checks stdout's JSON, the human text and the exit code.
 */
describe('nanoflux command line against a real server', () => {
  const f = useGameFixture(NS);
  const dir = mkdtempSync(join(tmpdir(), 'nf-cli-wf-'));

  interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
  }
  const nf = (...args: string[]): Promise<Result> =>
    runNanoflux(
      args,
      { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: f.workers.home, NANOFLUX_TEST_KEY: 'test-key-value', NANOFLUX_CLI_TIMEOUT: '15' },
      60_000,
    );
  /** A command that must succeed and print one JSON document. */
  const nfJson = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const r = await nf(...args, '--json');
    expect(r.status, `nanoflux ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const writeConfig = (name: string, config: RunConfigInput | Record<string, unknown>, yaml = false): string => {
    const file = join(dir, `${name}.${yaml ? 'yaml' : 'json'}`);
    writeFileSync(file, yaml ? stringify(config) : JSON.stringify(config, null, 2));
    return file;
  };
  const handle = (runId: string) => f.tc.client.workflow.getHandle(runWorkflowId(runId));
  const status = (runId: string) => handle(runId).query(statusQuery);
  /** One line on stderr, `nanoflux: <what>; <what to do>`, and no stack trace. */
  const oneLineError = (r: Result, pattern: RegExp) => {
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nanoflux: [^;]+; /);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it('run (YAML config), status --watch, status --json, list, export, report; a finished run takes no control', async () => {
    // Slow enough answers that the run is still going when it is started a second time below.
    scriptGame(f.server, { delayMs: 200 });
    const file = writeConfig('cli-run', testConfig(f.server.baseURL, 'cli-run', { generation: { targetAccepted: 2, maxEpisodes: 30, concurrency: 2 } }), true);
    const started = await nfJson('run', '--config', file);
    expect(started).toEqual({ runId: 'cli-run', workflowId: 'nanoflux-cli-run', ui: expect.stringMatching(/\/namespaces\/wf-cli\/workflows\/nanoflux-cli-run$/) });
    // Starting the same run again is refused while it runs (or once it ran): exit 1, one line.
    const again = await nf('run', '--config', file);
    expect(again.status).toBe(1);
    oneLineError(again, /run cli-run is already running/);

    // --watch without a terminal prints a line whenever something changed (tests/workflow/logs.test.ts), and exits 0 once the run completed.
    const watched = await nf('status', 'cli-run', '--watch', '--interval', '0.3');
    expect(watched.status, watched.stderr).toBe(0);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\S+Z run cli-run done · accepted \d+\/2 · episodes \d+ · failed 0$/);

    const s = await nfJson<RunStatus & { workflowStatus: string }>('status', 'cli-run');
    expect(s).toMatchObject({ runId: 'cli-run', stage: 'done', paused: false, workflowStatus: 'COMPLETED', dataset: { examples: s.accepted } });
    const d = s.domains.math!;
    expect(d).toMatchObject({ domain: 'math', targetAccepted: 2, stopReason: 'target_reached' });
    expect(d.accepted).toBeGreaterThanOrEqual(2);
    expect(d.episodesFinished).toBe(s.episodes);
    expect(d.rejected.defender_correct).toBeGreaterThan(0);
    for (const role of ['attacker', 'defender', 'judge'] as const) expect(d.tokens[role]).toBeGreaterThan(0);
    expect(s.tokens.total).toBe(s.tokens.attacker + s.tokens.defender + s.tokens.judge + s.tokens.embedding);
    expect(Object.keys(s.cost).sort()).toEqual(['attacker', 'defender', 'embedding', 'judge', 'total']);

    const human = await nf('status', 'cli-run');
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/\[██████████\] \d+\/2 accepted/);
    expect(human.stdout).toMatch(/tokens {2}attacker [\d,]+ · defender [\d,]+ · judge [\d,]+ · embedding [\d,]+ · total [\d,]+/);
    expect(human.stdout).toMatch(/cost {4}attacker \$0 · /);

    // list finds it through its search attributes (visibility lags a moment behind).
    const listed = await until(
      () => nfJson<{ runs: { runId: string; status: string; stage: string | null; accepted: number | null; startTime: string }[] }>('list'),
      (l) => l.runs.some((r) => r.runId === 'cli-run' && r.status === 'completed' && r.accepted !== null),
    );
    expect(listed.runs.find((r) => r.runId === 'cli-run')).toMatchObject({ status: 'completed', stage: 'done', accepted: s.accepted });
    const table = await nf('list');
    expect(table.stdout).toMatch(/^RUN\s+STATUS\s+STAGE\s+ACCEPTED\s+STARTED/);
    expect(table.stdout).toMatch(/cli-run\s+completed\s+done\s+\d+\s+\d{4}-/);

    const exported = await nfJson<{ files: string[]; examples: number }>('export', 'cli-run', '--format', 'sharegpt');
    expect(exported.examples).toBe(s.accepted);
    expect(exported.files.map((p) => p.split('/').pop())).toEqual(expect.arrayContaining(['dataset.sharegpt.jsonl', 'README.md']));

    // A run without fine-tune/evaluate stages has nothing to report: exit 1, and what to do instead.
    const report = await nf('report', 'cli-run');
    expect(report.status).toBe(1);
    oneLineError(report, /run cli-run has nothing to report: its config has no evaluate stage, so no variant was fine-tuned or evaluated; .*nanoflux resume-from cli-run --config <file>/);

    const [pause, concurrency] = await Promise.all([nf('pause', 'cli-run'), nf('set-concurrency', 'cli-run', '3')]);
    for (const r of [pause, concurrency]) {
      expect(r.status).toBe(1);
      oneLineError(r, /run cli-run is not running \(completed\)/);
    }
  }, 90_000);

  it('pause, set-target while paused, set-concurrency, resume: the run reaches its new target', async () => {
    // The Defender is right until the test says otherwise: episodes go on, nothing is accepted.
    let defenderRight = true;
    scriptGame(f.server, { delayMs: 30, defenderRight: () => defenderRight });
    const file = writeConfig('cli-ctl', testConfig(f.server.baseURL, 'cli-ctl', { generation: { targetAccepted: 1, maxEpisodes: 1000, concurrency: 2 } }));
    await nfJson('run', '--config', file);
    await until(() => status('cli-ctl'), (s) => (s.domains.math?.episodesFinished ?? 0) >= 2);

    expect(await nfJson('pause', 'cli-ctl')).toEqual({ runId: 'cli-ctl', signal: 'pause' });
    await until(() => status('cli-ctl'), (s) => s.domains.math?.stage === 'paused' && s.domains.math.inFlight === 0);
    const paused = await nf('status', 'cli-ctl');
    expect(paused.stdout).toMatch(/^run cli-ctl: paused — 0 accepted, \d+ episodes\n/);
    expect(paused.stdout).toContain('paused by an operator; go on: nanoflux resume cli-ctl');

    const [target, badDomain, conc, tooMany] = await Promise.all([
      nfJson('set-target', 'cli-ctl', '3'),
      nf('set-target', 'cli-ctl', '5', '--domain', 'nope'),
      nfJson('set-concurrency', 'cli-ctl', '3'),
      nf('set-concurrency', 'cli-ctl', '300'),
    ]);
    expect(target).toEqual({ runId: 'cli-ctl', targets: { math: 3 } });
    expect(conc).toEqual({ runId: 'cli-ctl', concurrency: 3 });
    // The workflow's validators refuse these: usage errors, exit 2, in the validator's words.
    expect(badDomain.status).toBe(2);
    oneLineError(badDomain, /no domain "nope" in run cli-ctl; domains: math/);
    expect(tooMany.status).toBe(2);
    oneLineError(tooMany, /concurrency must be an integer from 1 to 256/);

    defenderRight = false;
    expect(await nfJson('resume', 'cli-ctl')).toEqual({ runId: 'cli-ctl', signal: 'resume' });
    const result = (await handle('cli-ctl').result()) as RunResult;
    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.targetAccepted).toBe(3);
    expect(d.accepted).toBeGreaterThanOrEqual(3);
    expect(d.concurrency).toBe(3);
  }, 90_000);

  it('a run paused by its token budget says so, and set-budget lets it finish', async () => {
    scriptGame(f.server);
    const file = writeConfig('cli-budget', testConfig(f.server.baseURL, 'cli-budget', { generation: { targetAccepted: 3, maxEpisodes: 100, concurrency: 1 }, budget: { maxTokens: 150 } }));
    await nfJson('run', '--config', file);
    await until(() => status('cli-budget'), (s) => Boolean(s.pausedBy?.budget) && s.domains.math?.stage === 'paused' && s.domains.math.inFlight === 0);

    const human = await nf('status', 'cli-budget');
    expect(human.stdout).toMatch(/paused by its budget: tokens [\d,]+\/150; raise it: nanoflux set-budget cli-budget --max-tokens N/);
    expect(human.stdout).toContain('budget  max tokens 150');
    const s = await nfJson<RunStatus>('status', 'cli-budget');
    expect(s.pausedBy).toMatchObject({ user: false, budget: { kind: 'tokens', limit: 150 } });

    const [none, zero] = await Promise.all([nf('set-budget', 'cli-budget'), nf('set-budget', 'cli-budget', '--max-tokens', '0')]);
    expect(none.status).toBe(2);
    oneLineError(none, /set-budget needs a limit; give --max-tokens <n> and\/or --max-cost <usd>/);
    expect(zero.status).toBe(2);
    expect((await status('cli-budget')).budget).toEqual({ maxTokens: 150 });

    const raised = await nfJson('set-budget', 'cli-budget', '--max-tokens', '1000000');
    expect(raised).toEqual({ runId: 'cli-budget', budget: { maxTokens: 1_000_000 }, paused: false, pausedBy: { user: false } });
    const result = (await handle('cli-budget').result()) as RunResult;
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
  }, 90_000);

  it('review lists the examples that wait, approves and rejects them', async () => {
    scriptGame(f.server);
    const file = writeConfig('cli-review', testConfig(f.server.baseURL, 'cli-review', { generation: { targetAccepted: 2, maxEpisodes: 40, concurrency: 2, review: { timeoutSeconds: 3600, onTimeout: 'reject' } } }));
    await nfJson('run', '--config', file);

    type Listing = { runId: string; awaiting: { workflowId: string; episode: number; domain: string; question: string; answer: string; scores: { quality: number }; decidesAt: number }[] };
    const first = await until(() => nfJson<Listing>('review', 'cli-review'), (l) => l.awaiting.length > 0, 45_000);
    const item = first.awaiting[0]!;
    expect(item).toMatchObject({ domain: 'math', answer: '42', question: expect.stringMatching(/^Question \d+/), scores: { quality: 4 } });
    expect(item.workflowId).toBe(episodeWorkflowId('cli-review', 'math', item.episode));
    expect(item.decidesAt).toBeGreaterThan(Date.now());
    const human = await nf('review', 'cli-review');
    expect(human.stdout).toMatch(/await review:/);
    expect(human.stdout).toContain(`math #${item.episode}`);
    expect(human.stdout).toMatch(/decides: {2}in \d+m.*unanswered → reject/);

    // Bad episode names are usage errors; an episode that awaits nothing is a failed decision (exit 1).
    const [bad, missing, noteAlone] = await Promise.all([
      nf('review', 'cli-review', '--approve', 'first'),
      nf('review', 'cli-review', '--approve', '99999'),
      nf('review', 'cli-review', '--note', 'hm'),
    ]);
    expect(bad.status).toBe(2);
    oneLineError(bad, /"first" is not an episode/);
    expect(noteAlone.status).toBe(2);
    expect(missing.status).toBe(1);
    expect(JSON.parse((await nf('review', 'cli-review', '--approve', '99999', '--json')).stdout)).toMatchObject({ decisions: [{ ok: false, error: expect.any(String) }] });

    // Reject the first by its number, then approve everything that waits until the run completes.
    const rejected = await nfJson<{ decisions: { workflowId: string; approve: boolean; ok: boolean }[] }>('review', 'cli-review', '--reject', String(item.episode), '--note', 'too easy');
    expect(rejected.decisions).toEqual([{ workflowId: item.workflowId, approve: false, ok: true }]);
    const deadline = Date.now() + 60_000;
    while ((await handle('cli-review').describe()).status.name === 'RUNNING') {
      if (Date.now() > deadline) throw new Error('review run did not finish');
      const r = await nf('review', 'cli-review', '--approve', 'all', '--reviewer', 'ana');
      // The run may complete between the loop's check and the command: then it says so, exit 1.
      if (r.status !== 0) expect(`${r.status} ${r.stderr}`).toMatch(/^1 nanoflux: run cli-review is completed, so nothing awaits review/);
      await new Promise((res) => setTimeout(res, 300));
    }
    const result = (await handle('cli-review').result()) as RunResult;
    expect(result.status.domains.math!.accepted).toBe(2);
    expect(result.status.domains.math!.rejected.rejected_in_review).toBeGreaterThanOrEqual(1);
    const episode = f.workers.deps.ledger.episodes('cli-review').find((e) => e.workflowId === item.workflowId)!;
    expect(episode.summary.review).toMatchObject({ approve: false, note: 'too easy' });
  }, 120_000);

  it('resume-from starts a run with resumeFrom set; stop stops it; unknown runs and bad arguments exit with one line', async () => {
    scriptGame(f.server, { delayMs: 50, defenderRight: () => true });
    const base = testConfig(f.server.baseURL, 'cli-resumed', { generation: { targetAccepted: 50, maxEpisodes: 1000, concurrency: 1 } });
    const same = await nf('resume-from', 'cli-resumed', '--config', writeConfig('cli-self', base));
    expect(same.status).toBe(2);
    oneLineError(same, /has runId "cli-resumed", the run it would resume from/);

    const started = await nfJson('resume-from', 'cli-run', '--config', writeConfig('cli-resumed', base));
    expect(started).toMatchObject({ runId: 'cli-resumed', workflowId: 'nanoflux-cli-resumed', resumeFrom: 'cli-run' });
    // The workflow's input, as Temporal holds it, names the earlier run.
    const history = await handle('cli-resumed').fetchHistory();
    const input = defaultPayloadConverter.fromPayload(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!) as Record<string, unknown>;
    expect(input).toMatchObject({ runId: 'cli-resumed', resumeFrom: 'cli-run' });

    expect(await nfJson('stop', 'cli-resumed')).toEqual({ runId: 'cli-resumed', signal: 'stop' });
    const result = (await handle('cli-resumed').result()) as RunResult;
    expect(result.status.domains.math?.stopReason ?? 'stopped').toBe('stopped');

    // A run whose workflow failed (here: an invalid config given to Temporal directly): status and --watch exit 1.
    const bad = await f.tc.client.workflow.start('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('cli-bad'), args: [{ runId: 'cli-bad' }] });
    await bad.result().catch(() => undefined);
    const [failedWatch, failedJson] = await Promise.all([nf('status', 'cli-bad', '--watch', '--interval', '0.2'), nf('status', 'cli-bad', '--json')]);
    expect(failedWatch.status).toBe(1);
    expect(failedWatch.stdout).toMatch(/^\S+Z run cli-bad failed( at \w+)?: invalid run config/);
    oneLineError(failedWatch, /run cli-bad failed: invalid run config .*; its history is in the web UI: http/);
    expect(failedJson.status).toBe(1);
    expect(JSON.parse(failedJson.stdout)).toMatchObject({ runId: 'cli-bad', workflowStatus: 'FAILED', failure: expect.stringMatching(/^invalid run config/) });

    const [unknown, unknownJson, unknownPause] = await Promise.all([nf('status', 'no-such-run'), nf('status', 'no-such-run', '--json'), nf('pause', 'no-such-run')]);
    for (const r of [unknown, unknownJson, unknownPause]) {
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      oneLineError(r, new RegExp(`no run no-such-run on ${inject('temporalAddress').replace(/\./g, '\\.')} \\(namespace wf-cli\\); \`nanoflux list\` shows the runs`));
    }
  }, 90_000);

  it('a run started by `temporal workflow start` under any workflow id is found by status, pause, resume, export and stop; an invalid one is listed as failed with every problem', async () => {
    scriptGame(f.server, { delayMs: 100, defenderRight: () => true });
    const temporal = (...args: string[]) =>
      runCommand([temporalCliPath(), 'workflow', 'start', '--address', inject('temporalAddress'), '--namespace', NS, '--type', 'nanofluxRun', '--task-queue', TaskQueue.main, ...args], { timeoutMs: 30_000 });
    const file = writeConfig('tcli-run', testConfig(f.server.baseURL, 'tcli-run', { generation: { targetAccepted: 50, maxEpisodes: 1000, concurrency: 1 } }));
    const launched = await temporal('--workflow-id', 'launched-by-hand-42', '--input-file', file);
    expect(launched.status, launched.stderr).toBe(0);

    // Found by its NanofluxRunId search attribute (visibility lags a moment behind the start).
    const s = await until(() => nfJson<RunStatus & { workflowStatus: string }>('status', 'tcli-run'), (v) => v.workflowStatus === 'RUNNING');
    expect(s).toMatchObject({ runId: 'tcli-run', workflowStatus: 'RUNNING' });
    expect((await nf('pause', 'tcli-run')).status).toBe(0);
    await until(() => nfJson<RunStatus>('status', 'tcli-run'), (v) => v.paused);
    expect((await nf('resume', 'tcli-run')).status).toBe(0);
    expect(await nfJson('stop', 'tcli-run')).toEqual({ runId: 'tcli-run', signal: 'stop' });
    const result = (await f.tc.client.workflow.getHandle('launched-by-hand-42').result()) as RunResult;
    expect(result.runId).toBe('tcli-run');
    const done = await nfJson<RunStatus & { workflowStatus: string }>('status', 'tcli-run');
    expect(done).toMatchObject({ runId: 'tcli-run', workflowStatus: 'COMPLETED' });
    const exported = await nfJson<{ files: string[]; examples: number }>('export', 'tcli-run', '--format', 'sharegpt');
    expect(exported.examples).toBe(done.accepted);

    // An invalid config started by hand: listed as failed, and status prints every problem.
    const badFile = writeConfig('tcli-bad', { runId: 'tcli-bad', domains: [], generation: { targetAccepted: -1 } });
    expect((await temporal('--workflow-id', 'bad-by-hand', '--input-file', badFile)).status).toBe(0);
    await f.tc.client.workflow.getHandle('bad-by-hand').result().catch(() => undefined);
    const listed = await until(
      () => nfJson<{ runs: { runId: string; workflowId: string; status: string }[] }>('list'),
      (l) => l.runs.some((r) => r.runId === 'tcli-bad'),
    );
    expect(listed.runs.find((r) => r.runId === 'tcli-bad')).toMatchObject({ workflowId: 'bad-by-hand', status: 'failed' });
    const bad = await nf('status', 'tcli-bad');
    expect(bad.status).toBe(1);
    const problems = bad.stdout.split('\n').filter((l) => /^\s+- /.test(l));
    const count = Number(/invalid run config \((\d+) problems?\)/.exec(bad.stdout)?.[1]);
    expect(count).toBeGreaterThan(1);
    expect(problems).toHaveLength(count);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 120_000);
});
