import type { ChildProcess } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { NO_WORKFLOWS_WARNING } from '../../workers/logger.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { runNanoflux } from '../support/run-command.js';
import type { ScriptedOpenAI } from '../support/scripted-openai.js';
import { startWorkerProcess, type TestClient, waitFor, workerProcessSuite } from '../support/worker-process.js';
import { tempHome } from '../support/workers.js';

const NS = 'wf-logs';
const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{3})?Z';

/**
 * What an operator reads: the real worker entry (`npm run worker`, its stderr a pipe as under a
 * process manager) and `nanoflux status --watch` into a pipe, on a run whose first Attacker call
 * gets an HTTP 500 (a retried ModelUnavailable).
 */
describe('quiet, readable logs', () => {
  let server: ScriptedOpenAI;
  let tc: TestClient;
  let worker: ChildProcess | undefined;
  let output = '';

  workerProcessSuite(NS, (s, c) => ((server = s), (tc = c)), () => worker);

  it("the worker's log has no 'No workflows registered' and a failing activity is one WARN line; status --watch piped prints one line per change", async () => {
    scriptGame(server, { delayMs: 150 });
    server.enqueue('attacker', { status: 500, message: 'scripted outage' });
    worker = startWorkerProcess(NS, tempHome(), {}, (t) => (output += t));
    await waitFor(async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode}): ${output}`);
      return output.includes('[worker] polling');
    }, 90_000);

    const config = testConfig(server.baseURL, 'logs', { generation: { targetAccepted: 2, maxEpisodes: 20, concurrency: 2 } });
    const h = await tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('logs'), args: [config] });
    const watched = await runNanoflux(['status', 'logs', '--watch', '--interval', '0.3'], { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: NS, NANOFLUX_CLI_TIMEOUT: '15' }, 90_000);
    await h.result();

    // status --watch into a pipe: a line per change (time, stage, accepted/target, episodes, failures), no frames, exit 0 on completion.
    expect(watched.status, watched.stderr).toBe(0);
    expect(watched.stdout).not.toContain('\x1b');
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines.length, watched.stdout).toBeGreaterThanOrEqual(2);
    // The target shows once the domain reported (before that no domain is known).
    for (const l of lines) expect(l, watched.stdout).toMatch(new RegExp(`^${ISO} run logs \\w+.* · accepted \\d+(?:/2)? · episodes \\d+ · failed \\d+`));
    const bodies = lines.map((l) => l.replace(/^\S+ /, ''));
    bodies.slice(1).forEach((b, i) => expect(b, 'a line repeats the one before it').not.toBe(bodies[i]));
    expect(lines.at(-1)).toMatch(/ run logs done · accepted [2-9]\/2 · /);

    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    worker = undefined;
    // The worker's own log: nothing about the queues that have no workflows by design, no colour, no stack.
    expect(output).not.toContain(NO_WORKFLOWS_WARNING);
    expect(output).not.toContain('\x1b');
    expect(output).not.toMatch(/^\s+at /m);
    const failures = output.split('\n').filter((l) => l.includes('Activity failed'));
    expect(failures, output).toHaveLength(1);
    expect(failures[0]).toMatch(
      new RegExp(`^${ISO} WARN Activity failed activityType=attack activityId=\\S+ attempt=1 error="ModelUnavailable: [^"]*500[^"]*" workflowId=nanoflux-logs/math/ep-\\d+ taskQueue=${TaskQueue.llm} durationMs=\\d+$`),
    );
  }, 180_000);

  it("still gets the SDK's warning, as DEBUG, on a queue without workflows (so the check above is not vacuous)", async () => {
    let debugOutput = '';
    // The llm queue alone: no workflow bundle to build, so it is up in seconds.
    worker = startWorkerProcess(NS, tempHome(), { NANOFLUX_LOG_LEVEL: 'DEBUG', NANOFLUX_QUEUES: 'llm' }, (t) => (debugOutput += t));
    await waitFor(async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited on its own (${worker!.exitCode}): ${debugOutput}`);
      return debugOutput.includes(NO_WORKFLOWS_WARNING);
    }, 60_000);
    expect(debugOutput).toMatch(new RegExp(`^${ISO} DEBUG ${NO_WORKFLOWS_WARNING} taskQueue=${TaskQueue.llm}$`, 'm'));
    expect(debugOutput).not.toMatch(new RegExp(`WARN ${NO_WORKFLOWS_WARNING}`));
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    worker = undefined;
  }, 90_000);
});
