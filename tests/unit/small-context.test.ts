import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGameActivities } from '../../activities/game/activities.js';
import { closePythonSandbox } from '../../activities/game/judge/python-sandbox.js';
import { buildChatModel } from '../../activities/game/models/build.js';
import { probeContextTokens } from '../../activities/game/models/endpoint-context.js';
import { ContextExceededError, fromOpenAIError, toApplicationFailure } from '../../activities/kit/errors.js';
import type { ModelRef } from '../../common/config.js';
import type { Attack } from '../../common/contracts/index.js';
import { ErrorType } from '../../common/errors.js';
import { failure } from '../support/expect-error.js';
import { type ChatBody, type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';
import { emulateSmallContext, type SmallContext } from '../support/small-context.js';

/**
 * Small context windows (issue 13): the scripted server plays a llama.cpp, vLLM or OpenAI server
 * with a 4,096-token window (tests/support/small-context.ts), refusing with each one's own body.
 */

const WINDOW = 4096;
let seq = 0;
/** A fresh model name per test: what a worker learns about an endpoint is kept per base URL + model. */
const ref = (server: ScriptedOpenAI, extra: Partial<ModelRef> = {}): ModelRef => ({ provider: 'openai', model: `small-${++seq}`, baseURL: server.baseURL, ...extra });

describe('a refusal for length is ContextExceeded, with the numbers the server gave', () => {
  let server: ScriptedOpenAI;
  let client: OpenAI;
  beforeEach(async () => {
    server = await startScriptedOpenAI();
    client = new OpenAI({ apiKey: 'k', baseURL: server.baseURL, maxRetries: 0 });
  });
  afterEach(() => server.close());

  const refusal = async (status: number, errorBody: unknown) => {
    server.script(() => ({ status, errorBody }));
    try {
      await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      return fromOpenAIError(e);
    }
    throw new Error('the scripted server answered');
  };

  const cases: Array<[string, unknown, number | undefined, number | undefined]> = [
    [
      'llama.cpp',
      { error: { code: 400, message: 'request (4141 tokens) exceeds the available context size (4096 tokens), try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 4141, n_ctx: 4096 } },
      4096,
      4141,
    ],
    ['llama.cpp, message only', { error: { code: 400, message: 'request (4104 tokens) exceeds the available context size (4096 tokens), try increasing it', type: 'invalid_request_error' } }, 4096, 4104],
    ['llama.cpp, no numbers', { error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'invalid_request_error' } }, undefined, undefined],
    [
      'OpenAI',
      { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9100 tokens. Please reduce the length of the messages.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
      8192,
      9100,
    ],
    ['OpenAI, code only', { error: { message: 'Input tokens exceed the configured limit.', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }, undefined, undefined],
    [
      'vLLM, prompt',
      { error: { message: "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.", type: 'BadRequestError', param: null, code: 400 } },
      4096,
      5000,
    ],
    [
      'vLLM, max_tokens',
      { error: { message: "'max_tokens' or 'max_completion_tokens' is too large: 2000. This model's maximum context length is 4096 tokens and your request has 2778 input tokens (2000 > 4096 - 2778). None", type: 'BadRequestError', param: null, code: 400 } },
      4096,
      2778,
    ],
    [
      'vLLM, older',
      { error: { message: "This model's maximum context length is 4096 tokens. However, you requested 4300 tokens (4000 in the messages, 300 in the completion). Please reduce the length of the messages or completion.", type: 'BadRequestError', code: 400 } },
      4096,
      4000,
    ],
    ['vLLM, engine', { error: { message: 'The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that `max_model_len` is no smaller than the number of text tokens.', type: 'BadRequestError', code: 400 } }, 4096, 5000],
  ];

  for (const [name, body, contextTokens, promptTokens] of cases) {
    it(name, async () => {
      const e = await refusal(400, body);
      expect(e).toBeInstanceOf(ContextExceededError);
      expect(e.type).toBe(ErrorType.ContextExceeded);
      expect(e.status).toBe(400);
      expect((e as ContextExceededError).contextTokens).toBe(contextTokens);
      expect((e as ContextExceededError).promptTokens).toBe(promptTokens);
      // Crossing the activity boundary: its own failure type, not retried.
      const f = toApplicationFailure(e);
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect(f.type).toBe('ContextExceeded');
      expect(f.nonRetryable).toBe(true);
    });
  }

  it('other refusals keep their types', async () => {
    expect((await refusal(400, { error: { message: "Invalid 'messages': expected an array", type: 'invalid_request_error', code: 'invalid_type' } })).type).toBe(ErrorType.ModelRequestRejected);
    expect((await refusal(400, { error: { message: 'max_tokens is too large: 100000. This model supports at most 16384 completion tokens', code: 'invalid_value' } })).type).toBe(ErrorType.ModelRequestRejected);
    // A 5xx that mentions the context is the server's trouble, not the request's size.
    expect((await refusal(500, { error: { message: 'slot unavailable: exceeds the available context size', type: 'server_error' } })).type).toBe(ErrorType.ModelUnavailable);
  });
});

describe('the window a server states', () => {
  let server: ScriptedOpenAI;
  beforeEach(async () => {
    server = await startScriptedOpenAI();
  });
  afterEach(() => server.close());

  it('llama-server: GET /props at the server root, per-slot n_ctx, asked once per server, with the key', async () => {
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: 'm' });
    const target = { baseURL: server.baseURL, model: 'm', apiKey: 'sk-probe' };
    expect(await probeContextTokens(target)).toBe(WINDOW);
    expect(await probeContextTokens({ ...target, model: 'other' })).toBe(WINDOW);
    expect(s.probes.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /props']);
    expect(s.probes[0]!.headers.authorization).toBe('Bearer sk-probe');
  });

  it('vLLM: max_model_len of the model in GET /v1/models', async () => {
    const s = emulateSmallContext(server, { kind: 'vllm', window: 2048, model: 'served' });
    expect(await probeContextTokens({ baseURL: `${server.baseURL}/`, model: 'served', apiKey: 'k' })).toBe(2048);
    expect(await probeContextTokens({ baseURL: server.baseURL, model: 'not-served', apiKey: 'k' })).toBeUndefined();
    expect(s.probes.map((r) => r.path)).toEqual(['/props', '/v1/models']);
  });

  it('a server that says nothing (404s) is unknown, and not asked again', async () => {
    const s = emulateSmallContext(server, { kind: 'openai', window: WINDOW, model: 'm', states: false });
    expect(await probeContextTokens({ baseURL: server.baseURL, model: 'm', apiKey: 'k' })).toBeUndefined();
    expect(await probeContextTokens({ baseURL: server.baseURL, model: 'm', apiKey: 'k' })).toBeUndefined();
    expect(s.probes).toHaveLength(2);
  });

  it('a server too slow to answer within the probe\'s limit is taken as silent, and not asked again (that would add the wait to every call)', async () => {
    server.intercept((r) => (r.method === 'GET' ? { delayMs: 600, rawBody: JSON.stringify({ default_generation_settings: { n_ctx: 4096 } }) } : undefined));
    const t0 = Date.now();
    expect(await probeContextTokens({ baseURL: server.baseURL, model: 'm', apiKey: 'k', timeoutMs: 200 })).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(550);
    expect(await probeContextTokens({ baseURL: server.baseURL, model: 'm', apiKey: 'k', timeoutMs: 200 })).toBeUndefined();
    expect(server.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
  });

  it('a server that cannot be reached is asked again next time', async () => {
    const gone = await startScriptedOpenAI();
    const baseURL = gone.baseURL;
    await gone.close();
    await expect(probeContextTokens({ baseURL, model: 'm', apiKey: 'k' })).rejects.toThrow();
    await expect(probeContextTokens({ baseURL, model: 'm', apiKey: 'k' })).rejects.toThrow();
  });
});

const Answer = z.strictObject({ answer: z.string().min(1) });
const ask = (r: ModelRef, content: string, maxOutputTokens?: number) =>
  buildChatModel(r, {}).generate({ messages: [{ role: 'system', content: 'ROLE: defender\nAnswer.' }, { role: 'user', content }], schema: Answer, schemaName: 'defense', ...(maxOutputTokens ? { maxOutputTokens } : {}) });

/** Every request the server took fits: prompt + max_tokens within the window. */
function allFit(s: SmallContext, window = WINDOW) {
  for (const r of s.accepted) {
    const body = r.body as ChatBody;
    expect(typeof body.max_completion_tokens, 'max_tokens is sent when a window is known').toBe('number');
    expect(s.tokens(body) + (body.max_completion_tokens as number)).toBeLessThanOrEqual(window);
  }
  expect(s.cutShort).toEqual([]);
}

describe('an Attacker or Defender call within the window', () => {
  let server: ScriptedOpenAI;
  beforeEach(async () => {
    server = await startScriptedOpenAI(() => ({ json: { answer: '42' } }));
  });
  afterEach(() => server.close());

  it('vLLM: max_tokens is lowered to what the prompt leaves (the server would refuse the ref\'s 2,000)', async () => {
    const r = ref(server, { maxOutputTokens: 2000 });
    const s = emulateSmallContext(server, { kind: 'vllm', window: WINDOW, model: r.model });
    expect((await ask(r, 'word '.repeat(2000), 2000)).value).toEqual({ answer: '42' });
    expect(s.refused).toEqual([]);
    allFit(s);
    expect(s.accepted[0]!.body.max_completion_tokens).toBeLessThan(2000);
    expect(s.probes.map((p) => p.path)).toEqual(['/props', '/v1/models']);
  });

  it('llama.cpp: the window from /props keeps the answer from being cut short', async () => {
    const r = ref(server, { maxOutputTokens: 2000 });
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: r.model });
    expect((await ask(r, 'word '.repeat(2000), 2000)).value).toEqual({ answer: '42' });
    allFit(s);
    expect(s.accepted[0]!.body.max_completion_tokens).toBeLessThan(2000);
  });

  it('vLLM saying nothing of its window: the first refusal teaches it, the same call is refitted and sent once more, and later calls fit at once', async () => {
    const r = ref(server, { maxOutputTokens: 2000 });
    const s = emulateSmallContext(server, { kind: 'vllm', window: WINDOW, model: r.model, states: false });
    expect((await ask(r, 'word '.repeat(2400), 2000)).value).toEqual({ answer: '42' });
    expect(s.refused).toHaveLength(1);
    expect(s.refused[0]!.body.max_completion_tokens).toBe(2000);
    expect(s.accepted).toHaveLength(1);
    allFit(s);
    expect((await ask(r, 'word '.repeat(2000), 2000)).value).toEqual({ answer: '42' });
    expect(s.refused).toHaveLength(1);
    allFit(s);
  });

  it('schema retries of a run-on answer: the echoed bad answers are cut to fit, not the call failed (seen on a real llama-server)', async () => {
    const r = ref(server, { maxOutputTokens: 1024 });
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: r.model });
    // Two answers of ~1,900 tokens each that are not the schema, then a good one: echoed whole, the third request would need ~5,000 tokens.
    const runOn = 'the answer is probably somewhere around here '.repeat(170);
    server.enqueue('defender', { content: runOn }, { content: runOn });
    const got = await ask(r, 'How many?');
    expect(got.value).toEqual({ answer: '42' });
    expect(got.attempts).toBe(3);
    expect(s.refused).toEqual([]);
    allFit(s);
    const last = s.accepted.at(-1)!.body as ChatBody;
    const echoed = last.messages.filter((m) => m.role === 'assistant').map((m) => String(m.content).length);
    expect(echoed).toHaveLength(2);
    expect(Math.max(...echoed)).toBeLessThan(runOn.length);
  });

  it('a prompt the server refuses and that cannot be refitted fails as ContextExceeded after one request, not retried', async () => {
    const r = ref(server);
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: r.model, states: false });
    const e = await failure(ask(r, 'word '.repeat(4000)));
    expect(e.type).toBe(ErrorType.ContextExceeded);
    expect(e.message).toMatch(/does not fit its context window of 4096 tokens/);
    expect(s.refused).toHaveLength(1);
    expect(s.accepted).toHaveLength(0);
  });

  it('a request that cannot fit fails as ContextExceeded before it is sent, naming the model, the window and the size', async () => {
    const r = ref(server, { contextTokens: WINDOW });
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: r.model });
    const e = await failure(ask(r, 'word '.repeat(4000)));
    expect(e).toBeInstanceOf(ContextExceededError);
    expect(e.type).toBe(ErrorType.ContextExceeded);
    expect(e.message).toMatch(new RegExp(`defense for ${r.model} does not fit its context window of 4096 tokens: the conversation is about \\d+ tokens`));
    expect(toApplicationFailure(e).nonRetryable).toBe(true);
    expect(s.accepted).toEqual([]);
    expect(s.refused).toEqual([]);
    // contextTokens in the config: the server is not asked.
    expect(s.probes).toEqual([]);
  });
});

describe("the Judge's tool loop within the window", () => {
  let server: ScriptedOpenAI;
  const game = createGameActivities({ chatModel: (r) => buildChatModel(r, {}), home: mkdtempSync(join(tmpdir(), 'nanoflux-small-')), datasetsDir: join(tmpdir(), 'none') });
  const attack: Attack = { question: 'What is 17 * 23?', referenceAnswer: '391', solutionSteps: ['17 * 23 = 391'], skill: 'multiplication', annotation: 'one step', program: 'print(17 * 23)' };
  const verdict = { questionValid: true, referenceCorrect: true, defenderCorrect: true, complexity: 2, hops: 1, quality: 3, explanation: 'Recomputed with python.' };
  const judge = (model: ModelRef, maxToolRounds = 8) =>
    game.judge({ domain: { name: 'math', brief: 'Arithmetic.', pack: 'math', promptVersion: 'v1' }, attack, defenses: [{ reasoning: '17 * 23 = 391', answer: '391' }], model, maxSchemaRetries: 1, tools: { maxToolRounds, mcpServers: [] } });

  beforeEach(async () => {
    // A Judge that keeps checking with python while it may, each output ~6,000 characters (1,500 tokens: four would fill the window), then answers.
    server = await startScriptedOpenAI((req) => {
      if (req.role !== 'judge') return { status: 500, message: 'not the judge' };
      const round = req.messages.filter((m) => m.role === 'tool').length;
      return req.tools ? { toolCalls: [{ name: 'python', arguments: JSON.stringify({ code: `print(str(${round}) * 6000)` }) }] } : { json: verdict };
    });
  });
  afterEach(() => server.close());
  afterAll(() => closePythonSandbox());

  const cut = (s: SmallContext) => s.accepted.flatMap((r) => (r.body as ChatBody).messages).filter((m) => m.role === 'tool' && String(m.content).includes('characters cut to fit the context window'));

  it('llama.cpp stating 4,096 tokens: rounds until the next would not fit, outputs trimmed, then the final answer; nothing refused or cut short', async () => {
    const model = ref(server);
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: model.model });
    const r = await judge(model);
    expect(r.verdict).toMatchObject({ questionValid: true, defendersCorrect: [true] });
    expect(s.refused).toEqual([]);
    allFit(s);
    expect(r.toolCalls.length).toBeGreaterThanOrEqual(2);
    expect(r.toolCalls.length).toBeLessThan(8);
    expect(cut(s).length).toBeGreaterThan(0);
    const last = s.accepted.at(-1)!.body as ChatBody;
    expect(last.tools).toBeUndefined();
    expect(last.messages.at(-1)!.content).toMatch(/No more tool calls/);
    // Untrimmed, the tool outputs alone would have filled the window.
    expect(r.toolCalls.length * 6000).toBeGreaterThan(WINDOW * 4);
    expect(s.probes.map((p) => p.path)).toEqual(['/props']);
  }, 60_000);

  it('llama.cpp stating nothing: the refusal teaches the window, the outputs already in the conversation are cut, and the same activity completes', async () => {
    const model = ref(server);
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: model.model, states: false });
    const r = await judge(model);
    expect(r.verdict.questionValid).toBe(true);
    expect(s.refused).toHaveLength(1);
    expect(s.refused[0]!.body.tools).toBeDefined();
    const after = s.accepted.slice(s.accepted.indexOf(s.accepted.find((a) => a.at >= s.refused[0]!.at)!));
    expect(after).toHaveLength(1);
    expect(after[0]!.body.tools).toBeUndefined();
    expect(s.tokens(after[0]!.body as ChatBody) + (after[0]!.body.max_completion_tokens as number)).toBeLessThanOrEqual(WINDOW);
    expect(cut(s).length).toBeGreaterThan(0);
  }, 60_000);

  it("the ref's contextTokens wins over what the server states", async () => {
    const model = ref(server, { contextTokens: 3000 });
    const s = emulateSmallContext(server, { kind: 'llama.cpp', window: WINDOW, model: model.model });
    const r = await judge(model);
    expect(r.verdict.questionValid).toBe(true);
    expect(s.probes).toEqual([]);
    allFit(s, 3000);
  }, 60_000);

  it('a Judge prompt that cannot fit fails the activity as a non-retryable ContextExceeded', async () => {
    const model = ref(server, { contextTokens: 600 });
    emulateSmallContext(server, { kind: 'llama.cpp', window: 600, model: model.model });
    let e: unknown;
    try {
      await judge(model);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect((e as ApplicationFailure).type).toBe(ErrorType.ContextExceeded);
    expect((e as ApplicationFailure).nonRetryable).toBe(true);
    expect((e as ApplicationFailure).message).toMatch(new RegExp(`verdict for ${model.model} does not fit its context window of 600 tokens`));
    expect(server.chatRequests()).toEqual([]);
  });
});
