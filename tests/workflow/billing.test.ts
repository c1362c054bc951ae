import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import type { RunConfigInput } from '../../common/config.js';
import { temporalCliPath } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import type { BilledCall } from '../support/scripted-openai.js';
import { until, useGameFixture } from '../support/workers.js';

/**
 * Usage as the provider bills it (issue 16, item 4): the run's tokens and cost equal what the
 * scripted server (standing in for a paid provider) billed — failed attempts included and counted
 * apart, after a `temporal workflow reset`, and across a resume-from.
 */
process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-billing';
const PRICE = { inputPerMillion: 2, outputPerMillion: 8 };
const tokensOf = (bill: BilledCall[]) => bill.reduce((n, b) => n + b.promptTokens + b.completionTokens, 0);
const usdOf = (bill: BilledCall[]) => bill.reduce((n, b) => n + ((b.promptTokens * PRICE.inputPerMillion + b.completionTokens * PRICE.outputPerMillion) / 1e6) * (b.tier === 'batch' || b.tier === 'flex' ? 0.5 : 1), 0);

function pricedConfig(baseURL: string, runId: string, o: Partial<RunConfigInput> & { tier?: 'batch' } = {}): RunConfigInput {
  const { tier, ...overrides } = o;
  const base = testConfig(baseURL, runId, overrides);
  const priced = (m: typeof base.models.a) => ({ ...m, price: PRICE, ...(tier ? { tier, batch: { maxWaitSeconds: 0.2, pollSeconds: 0.1 } } : {}) });
  return { ...base, models: { a: priced(base.models.a), b: priced(base.models.b), judge: priced(base.models.judge), embedding: base.models.embedding } };
}

describe('usage as billed', () => {
  const f = useGameFixture(NS);
  const chatBill = () => f.server.bill;
  /**
   * Until no model call is in flight and the batcher has no job open: a bill starts from nothing, and
   * a reset comes after the terminated execution's calls have stopped (they run on until a heartbeat
   * tells them, and what they are answered after the re-run's reckoning is not counted).
   */
  const quiet = () =>
    until(async () => f.workers.workers.every((w) => w.getStatus().numInFlightActivities === 0) && (f.workers.deps.batcher?.pending() ?? []).every((p) => p.jobs === 0 && p.queued === 0), (idle) => idle, 90_000);

  it('counts what failed attempts were billed, apart: a Judge that never answers in schema, and one whose server fails after a billed tool round', async () => {
    f.server.bill.length = 0;
    scriptGame(f.server);
    // Episode 0's Judge: three answers out of schema (billed), then the call fails for good.
    // Episode 1's Judge: a billed tool round, then a 500: the attempt fails and the retry starts afresh.
    const bad = { json: { nonsense: true } };
    f.server.enqueue('judge', bad, bad, bad, { toolCalls: [{ name: 'calculate', arguments: JSON.stringify({ expression: '45-3' }) }] }, { status: 500, message: 'upstream died' });
    const config = pricedConfig(f.server.baseURL, 'billed-failures', { generation: { targetAccepted: 2, maxEpisodes: 10, concurrency: 1 } });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('billed-failures'), args: [config] });
    const d = result.status.domains.math!;
    expect(d.rejected.failed).toBe(1);
    expect(d.tokens.attacker + d.tokens.defender + d.tokens.judge).toBe(tokensOf(chatBill()));
    expect(d.cost.attacker + d.cost.defender + d.cost.judge).toBeCloseTo(usdOf(chatBill()), 12);
    // Apart: the three bad answers of episode 0 and the tool round of episode 1's first attempt, the Judge's first four billed answers.
    const judge = chatBill().filter((b) => b.role === 'judge');
    expect(d.billed?.failedAttempts).toEqual({ attacker: 0, defender: 0, judge: tokensOf(judge.slice(0, 4)), embedding: 0 });
  }, 120_000);

  it('the bill equals the usage of a batch-tier run, and of the two runs of a resume-from together: nothing imported is paid or counted again', async () => {
    await quiet();
    f.server.bill.length = 0;
    scriptGame(f.server, { delayMs: 50 });
    const config = pricedConfig(f.server.baseURL, 'billed-first', { tier: 'batch', generation: { targetAccepted: 3, maxEpisodes: 40, concurrency: 2 } });
    const first = (await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('billed-first'), args: [config] })).status.domains.math!;
    expect(first.stopReason).toBe('target_reached');
    const afterFirst = tokensOf(chatBill());
    expect(chatBill().every((b) => b.tier === 'batch')).toBe(true);
    expect(first.tokens.attacker + first.tokens.defender + first.tokens.judge).toBe(afterFirst);
    expect(first.cost.attacker + first.cost.defender + first.cost.judge).toBeCloseTo(usdOf(chatBill()), 12);

    const resumed = pricedConfig(f.server.baseURL, 'billed-resumed', { tier: 'batch', resumeFrom: 'billed-first', generation: { targetAccepted: 5, maxEpisodes: 40, concurrency: 2 } });
    const second = (await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('billed-resumed'), args: [resumed] })).status.domains.math!;
    expect(second.imported).toBe(first.accepted);
    // The resumed run pays only for what it generated; the two runs together are the whole bill.
    expect(second.tokens.attacker + second.tokens.defender + second.tokens.judge).toBe(tokensOf(chatBill()) - afterFirst);
  }, 180_000);

  it('the bill equals the usage after a reset of a terminated batch-tier run: what the discarded execution was answered and the re-run asked differently is counted apart', async () => {
    await quiet();
    f.server.bill.length = 0;
    scriptGame(f.server, { delayMs: 50 });
    const config = pricedConfig(f.server.baseURL, 'billed-reset', { tier: 'batch', generation: { targetAccepted: 4, maxEpisodes: 40, concurrency: 2 } });
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('billed-reset'), args: [config] });
    await until(() => h.query(statusQuery), (s) => (s.domains.math?.accepted ?? 0) >= 1, 60_000);
    await h.terminate('operator mistake');
    // A terminated execution's model calls run on until a heartbeat tells them (up to 16 s), and what
    // they ask meanwhile is billed: reset once they have stopped, so the re-run's reckoning has every
    // answer of the discarded execution to count (docs/operating.md says what is missed otherwise).
    await quiet();
    const r = spawnSync(temporalCliPath(), ['workflow', 'reset', '--address', inject('temporalAddress'), '--namespace', NS, '--workflow-id', runWorkflowId('billed-reset'), '--type', 'FirstWorkflowTask', '--reason', 'resume after termination', '--yes'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const first = (await f.tc.client.workflow.getHandle<typeof nanofluxRun>(runWorkflowId('billed-reset')).result()).status.domains.math!;
    expect(first.stopReason).toBe('target_reached');
    const afterFirst = tokensOf(chatBill());
    expect(first.tokens.attacker + first.tokens.defender + first.tokens.judge).toBe(afterFirst);
    expect(first.cost.attacker + first.cost.defender + first.cost.judge).toBeCloseTo(usdOf(chatBill()), 12);
    // No request was paid twice: each job line is a request of its own.
    const lines = f.server.batches.jobs.flatMap((j) => j.lines.map((l) => l.custom_id));
    expect(new Set(lines).size).toBe(lines.length);
  }, 180_000);
});
