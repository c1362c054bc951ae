import OpenAI from 'openai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calculatorTool } from '../../activities/game/judge/calculator.js';
import { Batcher, type BatchLaneOptions } from '../../activities/game/models/batcher.js';
import { OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { callCost } from '../../workflows/logic/cost.js';
import { ErrorType } from '../../common/errors.js';
import { startScriptedOpenAI, type ScriptedOpenAI } from '../support/scripted-openai.js';
import { failure } from '../support/expect-error.js';

/**
 * The batch tier's batcher (activities/game/models/batcher.ts) against the scripted server's Batch
 * API (tests/support/scripted-batches.ts, standing in for OpenAI's): requests gathered into jobs,
 * answered once, durable across a new batcher on the same ledger (a restarted worker).
 */
const Answer = z.strictObject({ answer: z.string().min(1), confidence: z.number().min(0).max(1) });
const judge = (q: string) => [
  { role: 'system' as const, content: 'ROLE: judge\nCheck the answer with tools.' },
  { role: 'user' as const, content: q },
];
const body = (q: string) => ({ model: 'scripted-1', messages: judge(q) });
const never = () => new AbortController().signal;

describe('the Batch API tier', () => {
  let server: ScriptedOpenAI;
  let dir: string;
  const batchers: Batcher[] = [];
  const laneOf = (b: Batcher, o: Partial<BatchLaneOptions> = {}) =>
    b.lane({ key: 'scripted', client: new OpenAI({ apiKey: 'sk-test-secret', baseURL: server.baseURL, maxRetries: 0 }), maxWaitMs: 150, maxRequests: 100, pollMs: 50, ...o });
  const batcher = (name = 'batches.sqlite') => {
    const b = new Batcher(join(dir, name), () => undefined);
    batchers.push(b);
    return b;
  };
  const answered = () => server.chatRequests().filter((r) => r.viaBatch);

  beforeAll(async () => {
    server = await startScriptedOpenAI();
  });
  afterAll(async () => {
    for (const b of batchers) b.close();
    await server.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nanoflux-batcher-'));
    server.requests.length = 0;
    server.batches.jobs.length = 0;
    server.batches.behave({});
    server.script(() => ({ json: { answer: 'yes', confidence: 0.9 } }));
  });

  it('gathers the calls of many episodes into one job and bills them at the batch rate', async () => {
    const model = new OpenAIChatModel({ model: 'scripted-1', baseURL: server.baseURL, apiKey: 'sk-test-secret', tier: 'batch', batch: laneOf(batcher()) });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => model.generate({ messages: judge(`question ${i}`), schema: Answer, schemaName: 'answer' })));
    expect(results.map((r) => r.value.answer)).toEqual(['yes', 'yes', 'yes', 'yes', 'yes']);
    expect(server.batches.jobs).toHaveLength(1);
    expect(server.batches.jobs[0]!.lines).toHaveLength(5);
    expect(server.chatRequests().filter((r) => !r.viaBatch)).toHaveLength(0);
    const u = results[0]!.usage;
    expect(u.batch).toEqual({ promptTokens: u.promptTokens, completionTokens: u.completionTokens, cachedPromptTokens: 0 });
    const price = { inputPerMillion: 2, outputPerMillion: 8 };
    expect(callCost(u, price)).toBeCloseTo(callCost({ promptTokens: u.promptTokens, completionTokens: u.completionTokens }, price) / 2, 12);
  });

  it("sends each of the Judge's tool rounds through its own job", async () => {
    const model = new OpenAIChatModel({ model: 'scripted-1', baseURL: server.baseURL, apiKey: 'sk-test-secret', tier: 'batch', batch: laneOf(batcher()) });
    server.enqueue('judge', { toolCalls: [{ name: 'calculate', arguments: JSON.stringify({ expression: '17*23' }) }] }, { json: { answer: 'yes', confidence: 1 } });
    const r = await model.generate({ messages: judge('Is 17*23 = 391?'), schema: Answer, schemaName: 'answer', tools: [calculatorTool] });
    expect(r.value.answer).toBe('yes');
    expect(r.toolCalls.map((t) => t.output)).toEqual([expect.stringContaining('391')]);
    expect(server.batches.jobs.map((j) => j.lines.length)).toEqual([1, 1]);
    expect(server.batches.jobs[1]!.lines[0]!.body.messages).toContainEqual(expect.objectContaining({ role: 'tool' }));
  });

  it('sends expired lines again in the next job, and answers each request once', async () => {
    server.batches.behave({ expire: (_, i, batchId) => i % 2 === 0 && batchId === server.batches.jobs[0]!.id });
    const lane = laneOf(batcher());
    const answers = await Promise.all([1, 2, 3, 4].map((i) => lane.complete(body(`q${i}`), { workflowId: 'ep', activityId: String(i) }, never())));
    expect(answers.every((a) => a.choices[0]!.message.content)).toBe(true);
    expect(server.batches.jobs.map((j) => [j.status, j.lines.length])).toEqual([['expired', 4], ['completed', 2]]);
    const ids = answered().map((r) => JSON.stringify(r.body.messages));
    expect(new Set(ids).size).toBe(4);
    expect(ids).toHaveLength(4);
  });

  it('a restarted worker resumes the jobs in flight: a retried call is answered from its job, not sent again', async () => {
    server.batches.behave({ pollsToFinish: 6 });
    const first = batcher();
    expect(first.pending()).toEqual([]); // no lane yet: the ledger is not even opened
    const call = laneOf(first, { labels: { endpoint: 'scripted-host', model: 'scripted-1' } }).complete(body('q'), { workflowId: 'ep-1', activityId: '3' }, never());
    // The worker's gauges: one job pending at the provider, nothing left to send.
    await expect.poll(() => first.pending(), { timeout: 5000 }).toEqual([{ endpoint: 'scripted-host', model: 'scripted-1', jobs: 1, queued: 0 }]);
    expect(server.batches.jobs).toHaveLength(1);
    first.close(); // the worker dies with the job in flight
    await expect(call).rejects.toThrow(/shutting down/);
    const again = await laneOf(batcher()).complete(body('q'), { workflowId: 'ep-1', activityId: '3' }, never());
    expect(again.choices[0]!.message.content).toContain('yes');
    expect(server.batches.jobs).toHaveLength(1);
    expect(answered()).toHaveLength(1);
    // The same call asked once more (a replayed or reset episode): the stored answer, nothing sent.
    await laneOf(batcher()).complete(body('q'), { workflowId: 'ep-1', activityId: '3' }, never());
    expect(server.batches.jobs).toHaveLength(1);
  });

  it('a job created whose answer was lost is found by its flush id, not created twice', async () => {
    const client = new OpenAI({ apiKey: 'sk-test-secret', baseURL: server.baseURL, maxRetries: 0 });
    const create = client.batches.create.bind(client.batches);
    let lost = 0;
    client.batches.create = (async (...a: Parameters<typeof create>) => {
      await create(...a);
      if (lost++ === 0) throw new Error('socket hang up');
      return create(...a);
    }) as typeof client.batches.create;
    const lane = batcher().lane({ key: 'lossy', client, maxWaitMs: 50, maxRequests: 10, pollMs: 50 });
    const a = await lane.complete(body('q'), { workflowId: 'ep-2', activityId: '1' }, never());
    expect(a.choices[0]!.message.content).toContain('yes');
    expect(server.batches.jobs).toHaveLength(1);
  });

  it('cancels a job nobody waits for any more (a stopped run) and sends nothing of a request given up before its job', async () => {
    server.batches.behave({ pollsToFinish: 1000 });
    const lane = laneOf(batcher());
    const stop = new AbortController();
    const calls = [1, 2].map((i) => lane.complete(body(`s${i}`), { workflowId: 'ep-3', activityId: String(i) }, stop.signal));
    await expect.poll(() => server.batches.jobs.length, { timeout: 5000 }).toBe(1);
    stop.abort();
    await Promise.allSettled(calls);
    await expect.poll(() => server.batches.jobs[0]!.status, { timeout: 5000 }).toBe('cancelled');
    expect(answered()).toHaveLength(0);
    const late = new AbortController();
    const unsent = lane.complete(body('s3'), { workflowId: 'ep-3', activityId: '9' }, late.signal);
    late.abort();
    await expect(unsent).rejects.toThrow(/cancelled/);
    await new Promise((r) => setTimeout(r, 400));
    expect(server.batches.jobs).toHaveLength(1);
  });

  it('fails a request the provider refused as such, with its status, for good', async () => {
    server.script(() => ({ status: 400, message: 'unsupported parameter: temperature' }));
    const lane = laneOf(batcher());
    const e = await failure(lane.complete(body('bad'), { workflowId: 'ep-4', activityId: '1' }, never()));
    expect(e).toMatchObject({ type: ErrorType.ModelRequestRejected });
    expect(String(e.message)).toMatch(/HTTP 400: unsupported parameter/);
    expect(server.batches.jobs).toHaveLength(1);
  });
});
