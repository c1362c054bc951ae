import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectionName } from '../../activities/store/vector/point-id.js';
import { PROJECT_ROOT } from '../../common/env.js';
import { TaskQueue } from '../../common/task-queues.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { setBudgetUpdate, statusQuery } from '../../workflows/messages.js';
import type { nanofluxRun } from '../../workflows/run.js';
import { scriptGame, testConfig } from '../support/game-script.js';
import { useGameFixture } from '../support/workers.js';
import { renderStatus } from '../../scripts/lib/format.js';

process.env.NANOFLUX_TEST_KEY = 'test-key-value';
const NS = 'wf-run';

describe('nanofluxRun on a real dev server', () => {
  const f = useGameFixture(NS);

  it('runs to its target: examples stored once, exported, roles alternating', async () => {
    const { calls } = scriptGame(f.server);
    const config = testConfig(f.server.baseURL, 'complete');
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', {
      taskQueue: TaskQueue.main,
      workflowId: runWorkflowId('complete'),
      args: [config],
    });
    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.accepted).toBeGreaterThanOrEqual(3);
    expect(d.accepted + Object.values(d.rejected).reduce((a, b) => a + b, 0)).toBe(d.episodesFinished);
    expect(d.rejected.defender_correct).toBeGreaterThan(0);
    expect(d.tokens.attacker).toBeGreaterThan(0);
    expect(d.tokens.judge).toBeGreaterThan(0);

    // The store, the status and the export hold the same examples, each once.
    const lines = readFileSync(result.status.dataset!.path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(d.accepted);
    const chat = JSON.parse(lines[0]!);
    expect(chat.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(chat.messages[2].content).toContain('Answer: 42');
    const stored = await f.workers.deps.store.count(collectionName('examples', 'math', 'openai:embed'), { runId: 'complete' });
    expect(stored).toBe(d.accepted);

    // Roles alternate by episode number: A attacks even episodes.
    const episodes = f.workers.deps.ledger.episodes('complete');
    expect(episodes).toHaveLength(d.episodesFinished);
    for (const e of episodes) expect(e.summary.attackerSlot).toBe(e.episode % 2 === 0 ? 'a' : 'b');
    const attackerModels = f.server.chatRequests().filter((r) => r.role === 'attacker').map((r) => r.body.model);
    expect(new Set(attackerModels)).toEqual(new Set(['model-a', 'model-b']));
    expect(calls.attacker).toBe(d.episodesFinished);

    // Later Attackers see the Defender's record by skill.
    const attackerPrompts = f.server.chatRequests().filter((r) => r.role === 'attacker').map((r) => JSON.stringify(r.body.messages));
    expect(attackerPrompts[0]).toContain('(no scored episodes yet)');
    expect(attackerPrompts.some((p) => /multi-step arithmetic: wrong [1-9]/.test(p))).toBe(true);
  });

  it('refuses an invalid config at once, non-retryably, naming every field path, and runs nothing', async () => {
    const before = f.server.requests.length;
    const bad = { runId: 'Not A Slug', domains: [{ name: 'math', brief: 'x', topics: [] }], models: {}, generation: { concurrency: 0 } };
    const handle = await f.tc.client.workflow.start('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: 'nanoflux-invalid', args: [bad] });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidRunConfig');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    for (const path of ['runId', 'domains[0].topics', 'models.a', 'models.judge', 'generation.concurrency']) expect((cause as Error).message).toContain(path);
    const history = await handle.fetchHistory();
    // Event types by name (eventType is a number on the wire).
    const types = (history.events ?? []).map((e) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]);
    expect(types).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    expect(types.some((t) => /CHILD|ACTIVITY/.test(String(t)))).toBe(false);
    expect(f.server.requests.length).toBe(before);
  });

  it('honours Retry-After on a 429, and a failed episode does not take the run down', async () => {
    scriptGame(f.server, { defenderRight: () => false });
    f.server.enqueue('attacker', { status: 429, retryAfter: '2' });
    f.server.enqueue('defender', { status: 400, message: 'bad request' });
    const before = f.server.chatRequests().length;
    const config = testConfig(f.server.baseURL, 'faults', { generation: { targetAccepted: 3, maxEpisodes: 20, concurrency: 1 } });
    const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('faults'), args: [config] });
    const d = result.status.domains.math!;
    expect(d.stopReason).toBe('target_reached');
    expect(d.rejected.failed).toBe(1);
    const failed = f.workers.deps.ledger.episodes('faults').find((e) => e.summary.outcome === 'failed');
    expect(failed?.summary.error).toMatch(/ModelRequestRejected/);
    const attackers = f.server.chatRequests().slice(before).filter((r) => r.role === 'attacker');
    // The refused call and its retry: the retry came no earlier than the 2 s the server asked for.
    expect(attackers[1]!.at - attackers[0]!.at).toBeGreaterThanOrEqual(2000);
  });

  it('records the judge tool calls in the episode transcript, history and summary', async () => {
    scriptGame(f.server, { defenderRight: () => false });
    f.server.enqueue(
      'judge',
      { toolCalls: [{ name: 'calculate', arguments: '{"expression":"6*7"}' }] },
      { toolCalls: [{ name: 'python', arguments: '{"code":"print(6*7)"}' }] },
      { toolCalls: [{ name: 'glossary__lookup', arguments: '{"term":"GC content"}' }] },
    );
    const glossary = { name: 'glossary', transport: 'stdio' as const, command: process.execPath, args: [join(PROJECT_ROOT, 'tests', 'fixtures', 'mcp-lookup-server.mjs')] };
    const config = testConfig(f.server.baseURL, 'tools', { generation: { targetAccepted: 1, maxEpisodes: 5, concurrency: 1 }, judge: { mcpServers: [glossary] } });
    await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('tools'), args: [config] });
    const [episode] = f.workers.deps.ledger.episodes('tools');
    const calls = (episode!.transcript as { toolCalls: { tool: string; output: string }[] }).toolCalls;
    expect(calls.map((c) => c.tool)).toEqual(['calculate', 'python', 'glossary__lookup']);
    expect(calls[0]!.output).toContain('42');
    expect(calls[1]!.output).toContain('42');
    expect(calls[2]!.output).toMatch(/G and C/i);
    expect(episode!.summary.toolUse).toBe('calculate×1, python×1, glossary__lookup×1');
    // The judge was offered the built-in tools, the math pack's, and the MCP server's.
    const offered = (f.server.chatRequests().filter((r) => r.role === 'judge').at(-1)!.body.tools ?? []).map((t: { function: { name: string } }) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['calculate', 'python', 'glossary__lookup']));
    const handle = f.tc.client.workflow.getHandle(episode!.workflowId);
    const description = await handle.describe();
    expect(String(description.memo?.summary)).toContain('judge tools: calculate×1, python×1, glossary__lookup×1');
    // The judge activity's result in the history (what the web UI shows) carries the calls too.
    const results = ((await handle.fetchHistory()).events ?? [])
      .map((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
      .filter((d): d is Uint8Array => !!d && d.length > 0)
      .map((d) => Buffer.from(d).toString('utf8'));
    const judged = results.map((r) => JSON.parse(r) as { toolCalls?: { tool: string }[] }).find((r) => r.toolCalls);
    expect(judged?.toolCalls?.map((c) => c.tool)).toEqual(['calculate', 'python', 'glossary__lookup']);
  });

  it('pauses at its budget with nothing failed or lost, and goes on when the budget is raised', async () => {
    scriptGame(f.server);
    const priced = (name: string) => ({ provider: 'openai' as const, model: name, baseURL: f.server.baseURL, apiKeyEnv: 'NANOFLUX_TEST_KEY', price: { inputPerMillion: 1000, outputPerMillion: 4000 } });
    const config = testConfig(f.server.baseURL, 'budget', {
      models: { a: priced('model-a'), b: priced('model-b'), judge: priced('judge'), embedding: { ...priced('embed'), price: { inputPerMillion: 100, outputPerMillion: 0 } } },
      generation: { targetAccepted: 3, maxEpisodes: 100, concurrency: 1 },
      budget: { maxTokens: 150 },
    });
    const h = await f.tc.client.workflow.start<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('budget'), args: [config] });
    let s = await h.query(statusQuery);
    const deadline = Date.now() + 30_000;
    // The loop has taken the pause (its own report says so) and its last episode has finished.
    while (!(s.pausedBy?.budget && s.domains.math?.stage === 'paused' && s.domains.math.inFlight === 0)) {
      if (Date.now() > deadline) throw new Error(`never paused on its budget: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 200));
      s = await h.query(statusQuery);
    }
    expect(s.stage).toBe('paused');
    expect(s.pausedBy).toMatchObject({ user: false, budget: { kind: 'tokens', limit: 150 } });
    // `used` is what the run had seen when it paused; the episode then in flight finished and was kept.
    expect(s.pausedBy!.budget!.used).toBeGreaterThanOrEqual(150);
    expect(s.pausedBy!.budget!.used).toBeLessThanOrEqual(s.tokens.total);
    expect(s.domains.math!.accepted).toBeLessThan(3);
    // Cost per role from the prices: each role's cost is positive and consistent with its tokens' rates.
    expect(s.cost.attacker).toBeGreaterThan(0);
    expect(s.cost.total).toBeCloseTo(s.cost.attacker + s.cost.defender + s.cost.judge + s.cost.embedding, 12);
    expect(s.cost.attacker).toBeGreaterThanOrEqual(s.tokens.attacker * 1000 / 1e6);
    expect(s.cost.attacker).toBeLessThanOrEqual(s.tokens.attacker * 4000 / 1e6);
    // Paused means paused: no episode starts while the budget is spent.
    const finished = s.episodes;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.query(statusQuery)).episodes).toBe(finished);

    // A bad budget is refused by the validator, before it enters the history.
    const refused = await h.executeUpdate(setBudgetUpdate, { args: [{ maxTokens: -5 }] }).catch((e: Error) => e);
    expect((refused as Error & { cause?: Error }).cause?.message).toMatch(/positive number/);
    expect((await h.query(statusQuery)).budget).toEqual({ maxTokens: 150 });
    const budget = await h.executeUpdate(setBudgetUpdate, { args: [{ maxTokens: 1_000_000 }] });
    expect(budget).toEqual({ maxTokens: 1_000_000 });
    const result = await h.result();
    expect(result.status.domains.math!.stopReason).toBe('target_reached');
    expect(result.status.pausedBy).toEqual({ user: false });
    expect(result.status.dataset!.examples).toBe(result.status.domains.math!.accepted);
    expect(result.status.episodes).toBeGreaterThan(finished);
  });

  it('flex tier: refused for capacity, the Judge goes on at the standard tier; the cost is what the provider billed at each tier', async () => {
    scriptGame(f.server);
    let judgeAtFlex = 0;
    // Every other flex Judge request is refused for lack of capacity (a 429 OpenAI does not bill).
    f.server.intercept((req) =>
      req.role === 'judge' && req.body.service_tier === 'flex' && judgeAtFlex++ % 2 === 0
        ? { status: 429, errorBody: { error: { message: 'Resource Unavailable: no capacity for flex processing', type: 'resource_unavailable', code: 'resource_unavailable' } } }
        : undefined,
    );
    const before = f.server.requests.length;
    try {
      const base = testConfig(f.server.baseURL, 'flex');
      const price = { inputPerMillion: 1, outputPerMillion: 1 };
      const flex = (m: (typeof base.models)['a'], fallback: number) => ({ ...m, tier: 'flex' as const, flexFallbackAfterSeconds: fallback, price });
      const config = { ...base, models: { ...base.models, a: flex(base.models.a, 60), b: flex(base.models.b, 60), judge: flex(base.models.judge, 0) } };
      const result = await f.tc.client.workflow.execute<typeof nanofluxRun>('nanofluxRun', { taskQueue: TaskQueue.main, workflowId: runWorkflowId('flex'), args: [config] });
      expect(result.status.domains.math!.stopReason).toBe('target_reached');
      const chat = f.server.requests.slice(before).filter((r) => r.path.endsWith('/chat/completions'));
      // Attacker and Defender were never refused: every request at flex, billed at half.
      expect(chat.filter((r) => r.role !== 'judge').every((r) => r.body.service_tier === 'flex')).toBe(true);
      const { tokens, cost } = result.status;
      expect(cost.attacker).toBeCloseTo(tokens.attacker * 0.5e-6, 9);
      expect(cost.defender).toBeCloseTo(tokens.defender * 0.5e-6, 9);
      // The Judge: each refusal (fallback 0) is followed by the same call at the standard tier, billed in full.
      const judge = chat.filter((r) => r.role === 'judge');
      const standard = judge.filter((r) => r.body.service_tier === undefined);
      expect(standard.length).toBeGreaterThan(0);
      expect(standard.length).toBe(Math.ceil(judgeAtFlex / 2));
      expect(cost.judge).toBeGreaterThan(tokens.judge * 0.5e-6 * 1.05);
      expect(cost.judge).toBeLessThan(tokens.judge * 1e-6 * 0.95);
      // What the provider billed at flex, by role, in the status and its text.
      const billed = result.status.billed!;
      expect(billed.flex.attacker).toBe(tokens.attacker);
      expect(billed.flex.defender).toBe(tokens.defender);
      expect(billed.flex.judge).toBeGreaterThan(0);
      expect(billed.flex.judge).toBeLessThan(tokens.judge);
      expect(billed.flex.embedding).toBe(0);
      expect(renderStatus(result.status)).toMatch(/\n {2}billed {2}attacker 100% at flex · defender 100% at flex · judge \d+% at flex \(as the provider reported each call/);
    } finally {
      f.server.intercept(undefined);
    }
  });
});
