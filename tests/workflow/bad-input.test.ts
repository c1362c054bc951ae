import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { type ConfigProblem, parseRunConfig } from '../../common/config.js';
import { temporalCliPath } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { standardSample } from '../fixtures/bad-configs/generate.js';
import { useGameFixture } from '../support/workers.js';
import { runCommand } from '../support/run-command.js';

/**
 * Bad input through `temporal workflow start`, the way an operator without the nanoflux CLI starts a
 * run: a sample of the malformed configs generated from the schema (tests/fixtures/bad-configs),
 * each started with the real Temporal CLI and `--input-file`, on the real workers. Each must fail at
 * once, non-retryably, as InvalidRunConfig naming the broken field, before any activity or child
 * workflow runs.
 */

const NS = 'wf-bad-input';
const dir = mkdtempSync(join(tmpdir(), 'nf-bad-input-wf-'));

const temporal = (args: string[]) => runCommand([temporalCliPath(), ...args]);

describe('temporal workflow start refuses malformed configs', () => {
  const f = useGameFixture(NS);
  // One of every kind (wrong types, bounds, enums, missing and unknown keys, cross-field rules, not an object…).
  const SAMPLE = standardSample();

  it('each fails at once, non-retryably, as InvalidRunConfig naming the broken field; no activity or child ran', async () => {
    expect(SAMPLE.length).toBeGreaterThanOrEqual(10);
    const before = f.server.requests.length;
    const started = await Promise.all(
      SAMPLE.map(async (b, i) => {
        const file = join(dir, `bad-${i}.json`);
        writeFileSync(file, JSON.stringify(b.config));
        const workflowId = `bad-input-${i}`;
        const r = await temporal([
          'workflow', 'start',
          '--address', inject('temporalAddress'),
          '--namespace', NS,
          '--task-queue', TaskQueue.main,
          '--type', 'nanofluxRun',
          '--workflow-id', workflowId,
          '--input-file', file,
        ]);
        expect(r.status, `${b.name}: ${r.stderr}`).toBe(0);
        return { b, workflowId };
      }),
    );

    for (const { b, workflowId } of started) {
      const handle = f.tc.client.workflow.getHandle(workflowId);
      const err = await handle.result().catch((e: unknown) => e);
      expect(err, b.name).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause, b.name).toBeInstanceOf(ApplicationFailure);
      expect(cause.type, b.name).toBe('InvalidRunConfig');
      expect(cause.nonRetryable, b.name).toBe(true);
      // The message lists every problem by path, one per line; the details carry them as data.
      expect(cause.message, b.name).toContain(`  - ${b.path}: `);
      const problems = cause.details?.[0] as ConfigProblem[];
      const expected = parseRunConfig(b.config);
      expect(expected.ok).toBe(false);
      expect(problems, b.name).toEqual(expected.ok ? [] : expected.problems);
      expect(problems.some((p) => p.path === b.path && p.message.length > 0), b.name).toBe(true);

      // At once: the first workflow task failed the run; nothing was scheduled, no retry.
      const history = await handle.fetchHistory();
      // eventType is the numeric enum: name it (String() of the number would match nothing).
      const types = (history.events ?? []).map((e) => proto.api.enums.v1.EventType[e.eventType ?? 0]!);
      expect(types.some((t) => /ACTIVITY_TASK_SCHEDULED|START_CHILD_WORKFLOW_EXECUTION_INITIATED|TIMER_STARTED/.test(t)), `${b.name}: ${types.join(',')}`).toBe(false);
      // One workflow task, then the failure. Started without search attributes (as `temporal workflow
      // start` does), the run first labels itself from its raw input (workflows/run.ts,
      // label-before-validation) so `nanoflux list` shows it as a failed run: the patch's marker and upserts.
      expect(types, b.name).toEqual([
        'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
        'EVENT_TYPE_WORKFLOW_TASK_STARTED',
        'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
        ...types.slice(4, -1).filter((t) => t === 'EVENT_TYPE_MARKER_RECORDED' || t === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'),
        'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED',
      ]);
      // The patch's marker, its TemporalChangeVersion attribute, the labels: nothing else.
      expect(types.slice(4, -1).length, `${b.name}: ${types.join(',')}`).toBeLessThanOrEqual(3);
      const desc = await handle.describe();
      expect(desc.status.name, b.name).toBe('FAILED');
    }
    // No model was called either.
    expect(f.server.requests.length).toBe(before);
  }, 120_000);

  it('temporal workflow execute shows the operator every field path and reason, as text and as JSON, and exits non-zero', async () => {
    const execute = (name: string, config: unknown, json: boolean) => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(config));
      const args = ['workflow', 'execute', '--address', inject('temporalAddress'), '--namespace', NS, '--task-queue', TaskQueue.main, '--type', 'nanofluxRun', '--workflow-id', `bad-input-${name}`, '--input-file', file];
      return temporal(json ? [...args, '--output', 'json'] : args);
    };
    const [textCase, jsonCase] = [SAMPLE.find((x) => x.kind === 'cross-field rule')!, SAMPLE.find((x) => x.kind === 'wrong type')!];
    const [text, json] = await Promise.all([execute('execute-text', textCase.config, false), execute('execute-json', jsonCase.config, true)]);
    const problems = (config: unknown) => {
      const r = parseRunConfig(config);
      return r.ok ? [] : r.problems;
    };

    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/Status\s+FAILED/);
    for (const p of problems(textCase.config)) expect(text.stdout).toContain(`  - ${p.path}: ${p.message}`);

    expect(json.status).toBe(1);
    const doc = JSON.parse(json.stdout) as { status: string; closeEvent: { workflowExecutionFailedEventAttributes: { failure: { message: string; applicationFailureInfo: { type: string; nonRetryable: boolean; details: unknown[] } } } } };
    expect(doc.status).toBe('FAILED');
    const failure = doc.closeEvent.workflowExecutionFailedEventAttributes.failure;
    expect(failure.applicationFailureInfo).toEqual({ type: 'InvalidRunConfig', nonRetryable: true, details: [problems(jsonCase.config)] });
    expect(failure.message).toContain(`  - ${jsonCase.path}: `);
  }, 60_000);
});
