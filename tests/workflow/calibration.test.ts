import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import type { CalibrationOutcome, CalibrationReport } from '../../common/contracts/calibration.js';
import { temporalCliPath } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { calibrationPrompts, gsm8kTrainAnswers, scriptCalibrationJudges } from '../support/calibration-judges.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { runNanoflux } from '../support/run-command.js';
import { tempHome, until, useGameFixture } from '../support/workers.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-calibration';
const ITEMS = 12;

/**
 * The Judge's calibration on the real dev server and workers: a Judge that says yes to everything
 * pauses the run before any episode until `--accept-judge`, a right Judge passes, a reset does not
 * ask the Judge again, and `nanoflux calibrate` tells the two apart by its exit code.
 */
describe('the Judge calibrated before generation', () => {
  const f = useGameFixture(NS);
  const answers = gsm8kTrainAnswers();
  const dir = mkdtempSync(join(tmpdir(), 'nf-calibration-'));
  let game: ReturnType<typeof scriptGame>;
  beforeAll(() => {
    game = scriptGame(f.server);
    scriptCalibrationJudges(f.server, { 'judge-yes': 'yes', 'judge-right': 'right' }, answers);
  });

  /** A domain whose calibration set is GSM8K train (its evaluation benchmark), with no program needed of the scripted Attacker. */
  const config = (runId: string, judge: string): RunConfigInput => {
    const c = testConfig(f.server.baseURL, runId, {
      domains: [{ name: 'math', brief: 'Multi-step arithmetic word problems.', topics: ['rates'], benchmark: 'none', pack: 'none', evaluation: { benchmark: 'gsm8k' } }],
      generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 },
      judge: { calibration: { items: ITEMS, minAgreement: 0.75, onFail: 'pause' } },
    });
    return { ...c, models: { ...c.models, judge: { ...c.models.judge, model: judge } } };
  };
  const writeConfig = (c: RunConfigInput): string => {
    const file = join(dir, `${c.runId}.json`);
    writeFileSync(file, JSON.stringify(c));
    return file;
  };
  const nf = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runNanoflux(args, { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_HOME: f.workers.home, NANOFLUX_CLI_TIMEOUT: '15', ...env }, 90_000);
  const reportOf = (o: CalibrationOutcome | undefined): CalibrationReport => {
    if (!o || !('report' in o)) throw new Error(`not calibrated: ${JSON.stringify(o)}`);
    return o.report;
  };

  it('a Judge that says yes to everything pauses the run before any episode; a reset asks it nothing again; --accept-judge goes on and is recorded', async () => {
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('cal-yes'), args: [config('cal-yes', 'judge-yes')] });
    const paused = await until(() => h.query(statusQuery), (s) => s.pausedBy?.calibration !== undefined);
    expect(game.calls.attacker).toBe(0);
    expect(paused.stage).toBe('paused');
    const report = reportOf(paused.calibration?.[0]);
    expect(report).toMatchObject({ source: 'gsm8k-train', items: ITEMS, passed: false, judgeModel: 'judge-yes' });
    expect(report.badAccepted.rate).toBe(1);
    expect(paused.pausedBy!.calibration).toMatch(/defenderCorrect agrees with the labels on \d+% of \d+ items/);
    expect(calibrationPrompts(f.server, 'judge-yes', answers)).toBe(ITEMS);

    // The CLI says why and how to go on; a plain resume is refused (it cannot lift this pause).
    const [status, plainResume] = await Promise.all([nf(['status', 'cal-yes']), nf(['resume', 'cal-yes'])]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toContain('run cal-yes: paused');
    expect(status.stdout).toContain('paused: the Judge failed its calibration (math: ');
    expect(status.stdout).toContain('`nanoflux resume cal-yes --accept-judge` goes on anyway');
    expect(status.stdout).toMatch(/calibration math: judge judge-yes FAILED calibration on 12 gsm8k-train items: questionValid \d+% \[/);
    expect(plainResume.status).toBe(1);
    expect(plainResume.stderr).toMatch(/run cal-yes is paused because the Judge failed its calibration .*; go on anyway with `nanoflux resume cal-yes --accept-judge`/);

    // Reset to the first workflow task: the run calibrates again from the cache (no Judge call) and pauses again.
    const before = (await h.describe()).runId;
    const reset = spawnSync(temporalCliPath(), ['workflow', 'reset', '--address', inject('temporalAddress'), '--namespace', NS, '--workflow-id', runWorkflowId('cal-yes'), '--type', 'FirstWorkflowTask', '--reason', 'calibration cache test', '--yes'], { encoding: 'utf8' });
    expect(reset.status, reset.stderr).toBe(0);
    const again = await until(
      async () => ({ runId: (await h.describe()).runId, status: await h.query(statusQuery) }),
      (x) => x.runId !== before && x.status.pausedBy?.calibration !== undefined,
    );
    expect(again.status.calibration?.[0]).toMatchObject({ cached: true });
    expect(calibrationPrompts(f.server, 'judge-yes', answers)).toBe(ITEMS);
    expect(game.calls.attacker).toBe(0);

    const accepted = await nf(['resume', 'cal-yes', '--accept-judge'], { USER: 'calibration-tester' });
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('recorded as accepted by calibration-tester');
    // The reset run, not the one it replaced (whose result is its termination).
    const result = await f.tc.client.workflow.getHandle<typeof nanofluxRun>(runWorkflowId('cal-yes')).result();
    expect(result.status.judgeAccepted).toEqual({ by: 'calibration-tester' });
    expect(result.status.accepted).toBe(2);
    expect(game.calls.attacker).toBeGreaterThan(0);
    expect(String((await h.describe()).memo?.calibrationOverride)).toContain('accepted by calibration-tester');
    const done = await nf(['status', 'cal-yes']);
    expect(done.stdout).toContain('judge accepted by calibration-tester (--accept-judge)');
    // Accepting twice is refused: the run went on already.
    const twice = await nf(['resume', 'cal-yes', '--accept-judge']);
    expect(twice.status).toBe(1);
  }, 120_000);

  it('a right Judge passes and the run completes without pausing; `nanoflux calibrate` on the worker\'s home finds that result (exit 0, no Judge call)', async () => {
    const c = config('cal-right', 'judge-right');
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('cal-right'), args: [c] });
    const report = reportOf(result.status.calibration?.[0]);
    expect(report).toMatchObject({ passed: true, reasons: [], failedCalls: 0, badAccepted: { k: 0 } });
    for (const field of ['questionValid', 'referenceCorrect', 'defenderCorrect'] as const) expect(report.agreement[field].rate).toBe(1);
    expect(result.status.pausedBy?.calibration).toBeUndefined();
    expect(result.status.judgeAccepted).toBeUndefined();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
    expect(calibrationPrompts(f.server, 'judge-right', answers)).toBe(ITEMS);

    const r = await nf(['calibrate', '--config', writeConfig(c), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { passed: boolean; items: number; domains: CalibrationOutcome[] };
    expect(out).toMatchObject({ passed: true, items: ITEMS, domains: [{ domain: 'math', cached: true, report: { passed: true } }] });
    expect(calibrationPrompts(f.server, 'judge-right', answers)).toBe(ITEMS);
  }, 120_000);

  it('`nanoflux calibrate` fails a Judge that says yes to everything: exit 1, naming the fields that fail', async () => {
    const before = calibrationPrompts(f.server, 'judge-yes', answers);
    const r = await nf(['calibrate', '--config', writeConfig(config('cal-cli', 'judge-yes'))], { NANOFLUX_HOME: tempHome() });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain('math: judge judge-yes FAILED calibration on 12 gsm8k-train items');
    expect(r.stdout).toMatch(/FAILED: .*referenceCorrect agrees with the labels on 70% of 10 items \(< 75%\).*defenderCorrect agrees with the labels on 40% of 10 items/);
    expect(r.stdout).toMatch(/accepts 100% of 5 wrong-reference and junk items/);
    expect(r.stdout).toContain('0 passed, 1 failed');
    // A fresh home: the Judge was asked every item over HTTP.
    expect(calibrationPrompts(f.server, 'judge-yes', answers) - before).toBe(ITEMS);
  }, 60_000);
});
