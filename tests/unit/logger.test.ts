import { ApplicationFailure } from '@temporalio/common';
import { LogTimestamp } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { describeError, formatRecord, LineLogger, NO_WORKFLOWS_WARNING } from '../../workers/logger.js';

/** A logger writing into an array, as the worker's would to stderr. */
function capture(level: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', o: { debug?: boolean; colour?: boolean } = {}) {
  const out: string[] = [];
  const logger = new LineLogger({ level, colour: o.colour ?? false, ...(o.debug !== undefined ? { debug: o.debug } : {}), write: (t) => out.push(t) });
  return { logger, out, text: () => out.join('') };
}

/** What the SDK passes with an activity's failure (worker/lib/activity.js, activityLogAttributes). */
function activityFailure(error: Error) {
  return {
    sdkComponent: 'worker',
    isLocal: false,
    attempt: 3,
    namespace: 'default',
    taskToken: 'CiQ0ZDNi…',
    activityId: '7',
    activityType: 'chat',
    taskQueue: 'nanoflux-llm',
    workflowId: 'nanoflux-r1-math-ep-4',
    workflowRunId: '0197…',
    workflowType: 'episodeWorkflow',
    error,
    durationMs: 12,
  };
}

describe('the worker log (workers/logger.ts)', () => {
  it('writes `<time> <LEVEL> <message> key=value …`, one line, the time from the record', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const line = formatRecord('INFO', 'Worker state changed', { sdkComponent: 'worker', taskQueue: 'nanoflux', state: 'RUNNING', [LogTimestamp]: BigInt(at) * 1_000_000n });
    expect(line).toBe('2026-01-02T03:04:05.678Z INFO Worker state changed taskQueue=nanoflux state=RUNNING');
  });

  it('keeps the level and drops records below the threshold', () => {
    const { logger, out } = capture('WARN');
    logger.info('chatty');
    logger.debug('chattier');
    logger.warn('careful', { x: 1 });
    logger.log('ERROR', 'broken');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\S+Z WARN careful x=1\n$/);
    expect(out[1]).toMatch(/^\S+Z ERROR broken\n$/);
  });

  it("renders an activity's failure as one WARN line: type, message, activity, attempt; no stack, no task token", () => {
    const { logger, out } = capture('WARN');
    const err = ApplicationFailure.create({ type: 'MissingApiKey', message: 'the variable OPENAI_API_KEY is not set\n(set it on the worker)', nonRetryable: true });
    logger.warn('Activity failed', activityFailure(err));
    expect(out).toHaveLength(1);
    const line = out[0]!;
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'exactly one line').toBe(true);
    expect(line).toMatch(
      /^\S+Z WARN Activity failed activityType=chat activityId=7 attempt=3 error="MissingApiKey: the variable OPENAI_API_KEY is not set ⏎ \(set it on the worker\) \(non-retryable\)" workflowId=nanoflux-r1-math-ep-4 taskQueue=nanoflux-llm durationMs=12\n$/,
    );
    expect(line).not.toMatch(/taskToken|namespace=|isLocal|sdkComponent|\bat /);
  });

  it('adds the stack under the line only with NANOFLUX_DEBUG=1 (debug), causes included', () => {
    const cause = new TypeError('fetch failed');
    const err = new Error('the model call failed', { cause });
    const quiet = capture('WARN');
    quiet.logger.warn('Activity failed', activityFailure(err));
    expect(quiet.text().trim().split('\n')).toHaveLength(1);
    expect(quiet.text()).toContain('error="Error: the model call failed ← TypeError: fetch failed"');

    const loud = capture('WARN', { debug: true });
    loud.logger.warn('Activity failed', activityFailure(err));
    const lines = loud.text().trimEnd().split('\n');
    expect(lines[0]).toBe(quiet.text().trimEnd().replace(/^\S+/, lines[0]!.split(' ')[0]!));
    expect(lines.slice(1).every((l) => l.startsWith('    '))).toBe(true);
    expect(lines.some((l) => /^ {4}\s*at /.test(l))).toBe(true);
    expect(lines).toContain('    TypeError: fetch failed');
  });

  it("forwards the Rust core's records as one line each, level kept, marked core:", () => {
    const { logger, out } = capture('WARN');
    logger.log('WARN', 'Network error while polling\ncaused by: transport error', {
      sdkComponent: 'core',
      target: 'temporalio_sdk_core::pollers',
      spanContexts: ['poll'],
      taskQueue: 'nanoflux',
      [LogTimestamp]: 1n,
    });
    expect(out).toEqual(['1970-01-01T00:00:00.000Z WARN core: Network error while polling ⏎ caused by: transport error taskQueue=nanoflux\n']);
  });

  it("makes the SDK's 'No workflows registered' DEBUG on the queues that have none by design, and only there", () => {
    const { logger, out } = capture('INFO');
    for (const q of [TaskQueue.llm, TaskQueue.train, TaskQueue.trainHost('0123456789ab'), 'nanoflux-llm', 'other-prefix-train']) {
      logger.warn(NO_WORKFLOWS_WARNING, { sdkComponent: 'worker', taskQueue: q });
    }
    expect(out).toEqual([]);
    logger.warn(NO_WORKFLOWS_WARNING, { sdkComponent: 'worker', taskQueue: 'nanoflux' });
    logger.warn(NO_WORKFLOWS_WARNING, { sdkComponent: 'worker', taskQueue: TaskQueue.store('0123456789ab') });
    expect(out).toHaveLength(2);
    expect(out[0]).toContain(`WARN ${NO_WORKFLOWS_WARNING} taskQueue=nanoflux\n`);

    const verbose = capture('DEBUG');
    verbose.logger.warn(NO_WORKFLOWS_WARNING, { taskQueue: TaskQueue.llm });
    expect(verbose.out[0]).toMatch(/ DEBUG No workflows registered/);
  });

  it('colours the level only when asked (a terminal), and quotes values with spaces; objects are cut to one short line', () => {
    expect(formatRecord('WARN', 'm', {}, { colour: true })).toContain('\x1b[33mWARN\x1b[0m');
    expect(formatRecord('WARN', 'm', {}, { colour: false })).not.toContain('\x1b');
    const line = formatRecord('DEBUG', 'Creating worker', { options: { big: 'x'.repeat(1000), n: 10n }, name: 'a b', empty: undefined });
    expect(line).toMatch(/ options="\{\\"big\\":\\"x+…" name="a b"$/);
    expect(line.length).toBeLessThan(420);
    expect(line).not.toContain('empty');
    expect(formatRecord('DEBUG', 'Creating worker', { options: { big: 'x'.repeat(1000) } }, { debug: true })).toContain('x'.repeat(1000));
  });

  it("names an error by its ApplicationFailure type, else its class; non-errors as text", () => {
    expect(describeError(ApplicationFailure.retryable('slow', 'ModelTimeout'))).toBe('ModelTimeout: slow');
    expect(describeError(new RangeError('out'))).toBe('RangeError: out');
    expect(describeError('plain')).toBe('plain');
  });
});
