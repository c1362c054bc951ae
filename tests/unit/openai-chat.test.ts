import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calculatorTool } from '../../activities/game/judge/calculator.js';
import { buildChatModel } from '../../activities/game/models/build.js';
import { DEFAULT_CHAT_TIMEOUT_MS, OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { ErrorType, MissingApiKey } from '../../common/errors.js';
import { roleOf, startScriptedOpenAI, type ScriptedOpenAI } from '../support/scripted-openai.js';
import { failure } from '../support/expect-error.js';

const Answer = z.strictObject({ answer: z.string().min(1), confidence: z.number().min(0).max(1) });
const judgeMessages = [
  { role: 'system' as const, content: 'ROLE: judge\nCheck the answer with tools.' },
  { role: 'user' as const, content: 'Is 17*23 = 391?' },
];
const ask = (model: OpenAIChatModel, extra: object = {}) =>
  model.generate({ messages: judgeMessages, schema: Answer, schemaName: 'answer', ...extra });


describe('OpenAIChatModel over a scripted OpenAI-compatible server', () => {
  let server: ScriptedOpenAI;
  let model: OpenAIChatModel;

  beforeAll(async () => {
    server = await startScriptedOpenAI();
    model = new OpenAIChatModel({ model: 'scripted-1', baseURL: server.baseURL, apiKey: 'sk-test-secret', timeoutMs: 5000 });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.script(() => ({ json: { answer: 'yes', confidence: 0.9 } }));
  });

  it('parses a structured answer and sends response_format json_schema', async () => {
    const r = await ask(model);
    expect(r.value).toEqual({ answer: 'yes', confidence: 0.9 });
    expect(r.attempts).toBe(1);
    expect(r.toolCalls).toEqual([]);
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    const [req] = server.chatRequests();
    expect(req!.role).toBe('judge');
    expect(req!.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'answer', strict: true } });
    expect(req!.body.response_format.json_schema.schema).toMatchObject({ type: 'object', required: ['answer', 'confidence'] });
    expect(req!.body.tools).toBeUndefined();
    expect(req!.headers.authorization).toBe('Bearer sk-test-secret');
  });

  it('malformed JSON then valid → success on attempt 2 with summed usage', async () => {
    const usage = { prompt_tokens: 10, completion_tokens: 5 };
    server.enqueue('judge', { content: '{"answer": "yes", ', usage }, { json: { answer: 'yes', confidence: 1 }, usage });
    const r = await ask(model);
    expect(r.attempts).toBe(2);
    expect(r.usage).toEqual({ promptTokens: 20, completionTokens: 10 });
    const second = server.chatRequests()[1]!.body.messages.at(-1);
    expect(second.role).toBe('user');
    expect(second.content).toMatch(/not valid JSON/);
  });

  it('schema mismatch is corrected with the field path', async () => {
    server.enqueue('judge', { json: { answer: 'yes', confidence: 7 } });
    const r = await ask(model);
    expect(r.attempts).toBe(2);
    expect(server.chatRequests()[1]!.body.messages.at(-1).content).toMatch(/confidence/);
  });

  it('always malformed → ModelOutputInvalid after 1 + maxSchemaRetries requests', async () => {
    server.script(() => ({ json: { wrong: true } }));
    const e = await failure(ask(model, { maxSchemaRetries: 2 }));
    expect(e.type).toBe(ErrorType.ModelOutputInvalid);
    expect(e.message).toMatch(/answer/);
    expect(server.chatRequests()).toHaveLength(3);
  });

  it('empty content and oversized answers are invalid output', async () => {
    server.script(() => ({ content: '' }));
    expect((await failure(ask(model, { maxSchemaRetries: 0 }))).type).toBe(ErrorType.ModelOutputInvalid);
    server.script(() => ({ json: { answer: 'x'.repeat(70_000), confidence: 1 } }));
    const e = await failure(ask(model, { maxSchemaRetries: 1 }));
    expect(e.message).toMatch(/too long/);
    // The oversized answer is never echoed back to the model.
    expect(JSON.stringify(server.chatRequests()[2]!.body).length).toBeLessThan(10_000);
  });

  it('429 with Retry-After → RateLimited with retryAfterMs after exactly one request', async () => {
    server.script(() => ({ status: 429, retryAfter: '3' }));
    const e = await failure(ask(model));
    expect(e.type).toBe(ErrorType.RateLimited);
    expect(e.retryAfterMs).toBe(3000);
    expect(e.status).toBe(429);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('429 with retry-after-ms', async () => {
    server.script(() => ({ status: 429, retryAfterMs: '250' }));
    expect((await failure(ask(model))).retryAfterMs).toBe(250);
  });

  it('400 → ModelRequestRejected; 500 → ModelUnavailable; no client retries', async () => {
    server.script(() => ({ status: 400 }));
    expect((await failure(ask(model))).type).toBe(ErrorType.ModelRequestRejected);
    server.script(() => ({ status: 500 }));
    expect((await failure(ask(model))).type).toBe(ErrorType.ModelUnavailable);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('a timeout → ModelUnavailable', async () => {
    const slow = new OpenAIChatModel({ model: 'scripted-1', baseURL: server.baseURL, apiKey: 'k', timeoutMs: 100 });
    server.script(() => ({ delayMs: 500, json: { answer: 'late', confidence: 1 } }));
    expect((await failure(ask(slow))).type).toBe(ErrorType.ModelUnavailable);
  });

  it("a ref's timeoutSeconds bounds each call; without it the default is 120 s", async () => {
    server.script(() => ({ delayMs: 1500, json: { answer: 'late', confidence: 1 } }));
    const ref = { provider: 'openai' as const, model: 'scripted-timeout', baseURL: server.baseURL };
    const t0 = Date.now();
    const e = await failure(buildChatModel({ ...ref, timeoutSeconds: 1 }, {}).generate({ messages: judgeMessages, schema: Answer, schemaName: 'answer' }));
    expect(e.type).toBe(ErrorType.ModelUnavailable);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    expect(Date.now() - t0).toBeLessThan(1450);
    // The same slow answer arrives when the ref leaves the limit to the default.
    expect(DEFAULT_CHAT_TIMEOUT_MS).toBe(120_000);
    expect((await buildChatModel(ref, {}).generate({ messages: judgeMessages, schema: Answer, schemaName: 'answer' })).value).toEqual({ answer: 'late', confidence: 1 });
  });

  it('tool loop: the model calls calculate, reads the result, then answers', async () => {
    server.script((req) => {
      const toolMsg = req.messages.find((m) => m.role === 'tool');
      if (!toolMsg) return { toolCalls: [{ name: 'calculate', arguments: JSON.stringify({ expression: '17 * 23' }) }] };
      const { result } = JSON.parse(toolMsg.content!);
      return { json: { answer: result, confidence: 1 } };
    });
    const r = await ask(model, { tools: [calculatorTool] });
    expect(r.value).toEqual({ answer: '391', confidence: 1 });
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]).toMatchObject({ tool: 'calculate', output: '{"result":"391"}' });
    expect(r.toolCalls[0]!.error).toBeUndefined();
    const [first] = server.chatRequests();
    expect(first!.body.tools[0]).toMatchObject({ type: 'function', function: { name: 'calculate' } });
  });

  it('malformed tool arguments are recorded as an error and handed back to the model', async () => {
    server.script((req) =>
      req.messages.some((m) => m.role === 'tool')
        ? { json: { answer: 'gave up', confidence: 0 } }
        : { toolCalls: [{ name: 'calculate', arguments: '{"expression": 17*' }] },
    );
    const r = await ask(model, { tools: [calculatorTool] });
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]!.error).toMatch(/malformed tool arguments/);
    const toolMsg = server.chatRequests()[1]!.body.messages.find((m: { role: string }) => m.role === 'tool');
    expect(toolMsg.content).toMatch(/error/);
  });

  it('tool rounds are bounded, then the final answer is demanded without tools', async () => {
    server.script((req) =>
      req.tools ? { toolCalls: [{ name: 'calculate', arguments: '{"expression":"1+1"}' }] } : { json: { answer: '2', confidence: 1 } },
    );
    const r = await ask(model, { tools: [calculatorTool], maxToolRounds: 3 });
    expect(r.toolCalls).toHaveLength(3);
    expect(server.chatRequests()).toHaveLength(4);
    expect(server.chatRequests()[3]!.body.tools).toBeUndefined();
  });

  it('a model that keeps calling tools ends in ModelOutputInvalid, bounded', async () => {
    server.script(() => ({ toolCalls: [{ name: 'calculate', arguments: '{"expression":"1"}' }] }));
    const e = await failure(ask(model, { tools: [calculatorTool], maxToolRounds: 2, maxSchemaRetries: 1 }));
    expect(e.type).toBe(ErrorType.ModelOutputInvalid);
    expect(server.chatRequests()).toHaveLength(2 + 2);
  });

  it('roleOf and embeddings', async () => {
    expect(roleOf({ messages: [{ role: 'system', content: 'ROLE: attacker\n...' }] })).toBe('attacker');
    expect(roleOf({ messages: [{ role: 'user', content: 'hi' }] })).toBe('unknown');
    const res = await fetch(`${server.baseURL}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'e', input: ['the cat sat on the mat', 'the cat sat on a mat', 'quantum chromodynamics'] }),
    });
    const { data } = (await res.json()) as { data: Array<{ embedding: number[] }> };
    const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(data[0]!.embedding).toHaveLength(64);
    expect(cos(data[0]!.embedding, data[0]!.embedding)).toBeCloseTo(1);
    expect(cos(data[0]!.embedding, data[1]!.embedding)).toBeGreaterThan(cos(data[0]!.embedding, data[2]!.embedding));
  });
});

describe('buildChatModel', () => {
  it('names a missing key variable without leaking values, uses a placeholder when keyless, caches', () => {
    const ref = { provider: 'openai' as const, model: 'm', apiKeyEnv: 'NANOFLUX_TEST_KEY' };
    let err: unknown;
    try {
      buildChatModel(ref, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingApiKey);
    expect((err as MissingApiKey).type).toBe(ErrorType.MissingApiKey);
    expect((err as MissingApiKey).message).toBe('environment variable NANOFLUX_TEST_KEY is not set');
    const a = buildChatModel(ref, { NANOFLUX_TEST_KEY: 'sk-x' });
    expect(buildChatModel({ ...ref }, { NANOFLUX_TEST_KEY: 'sk-x' })).toBe(a);
    expect(a.id).toBe('openai:m');
    expect(buildChatModel({ provider: 'openai', model: 'keyless', baseURL: 'http://127.0.0.1:1/v1' }, {}).id).toBe('openai:keyless');
  });
});
