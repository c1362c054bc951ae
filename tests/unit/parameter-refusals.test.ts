import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createGameActivities } from '../../activities/game/activities.js';
import { buildChatModel } from '../../activities/game/models/build.js';
import { adjustmentFor, applyRefusals, bodyFieldOf } from '../../activities/game/models/parameter-refusals.js';
import { createChatPreflight } from '../../activities/game/preflight.js';
import { fromOpenAIError, toApplicationFailure, UnsupportedParameterError, unsupportedParameterOf } from '../../activities/kit/errors.js';
import type { ModelRef } from '../../common/config.js';
import { ErrorType } from '../../common/errors.js';
import { failure } from '../support/expect-error.js';
import { providerRules, unsupportedParameter, unsupportedTemperatureValue } from '../support/provider-rules.js';
import { type RecordedRequest, type ScriptedOpenAI, startScriptedOpenAI } from '../support/scripted-openai.js';

const Answer = z.strictObject({ answer: z.string() });
const messages = [
  { role: 'system' as const, content: 'ROLE: judge\nAnswer.' },
  { role: 'user' as const, content: '2+2?' },
];

/** OpenAI's own 400 bodies for the refusals (see tests/support/provider-rules.ts). */
const TEMPERATURE_PARAMETER = { message: "Unsupported parameter: 'temperature' is not supported with this model.", type: 'invalid_request_error', param: 'temperature', code: 'unsupported_parameter' };
const TEMPERATURE_VALUE = { message: "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.", type: 'invalid_request_error', param: 'temperature', code: 'unsupported_value' };
const MAX_TOKENS = { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter' };
const EFFORT_VALUE = { message: "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values are: 'none', 'low', 'medium', and 'high'.", type: 'invalid_request_error', param: 'reasoning.effort', code: 'unsupported_value' };
const apiError = (status: number, error: object) => OpenAI.APIError.generate(status, { error }, undefined, new Headers({ 'x-request-id': 'req_1' }));

describe('a 400 naming an unsupported parameter', () => {
  it.each([
    ['temperature, unsupported_parameter', TEMPERATURE_PARAMETER, { parameter: 'temperature', refused: 'parameter' }],
    ['temperature, unsupported_value', TEMPERATURE_VALUE, { parameter: 'temperature', refused: 'value' }],
    ['max_tokens', MAX_TOKENS, { parameter: 'max_tokens', refused: 'parameter' }],
    ["gpt-5.1's effort (the value quoted, not the parameter)", EFFORT_VALUE, { parameter: 'reasoning.effort', refused: 'value' }],
    ['a masked path', { ...EFFORT_VALUE, param: '***.effort' }, { parameter: 'effort', refused: 'value' }],
    ['code null (as gpt-5.2 answered through a proxy)', { ...TEMPERATURE_PARAMETER, code: null }, { parameter: 'temperature', refused: 'parameter' }],
    ['only the words', { message: TEMPERATURE_VALUE.message }, { parameter: 'temperature', refused: 'value' }],
  ])('%s', (_what, body, expected) => {
    expect(unsupportedParameterOf(400, body, '')).toEqual(expected);
    const e = fromOpenAIError(apiError(400, body));
    expect(e).toBeInstanceOf(UnsupportedParameterError);
    expect(e.type).toBe(ErrorType.ModelRequestRejected);
    expect(toApplicationFailure(e).nonRetryable).toBe(true);
    expect(e).toMatchObject({ parameter: expected.parameter, refused: expected.refused, status: 400, requestId: 'req_1' });
  });

  it('other refusals are not: a plain 400, an invalid value, a 500, a value quoted without its parameter', () => {
    expect(unsupportedParameterOf(400, { message: 'Invalid schema for response_format', code: 'invalid_request_error' }, '')).toBeUndefined();
    expect(unsupportedParameterOf(400, { message: 'max_tokens is too large', param: 'max_tokens', code: 'invalid_value' }, '')).toBeUndefined();
    expect(unsupportedParameterOf(500, TEMPERATURE_PARAMETER, '')).toBeUndefined();
    expect(unsupportedParameterOf(400, { message: EFFORT_VALUE.message }, '')).toBeUndefined();
    expect(fromOpenAIError(apiError(400, { message: 'bad' }))).not.toBeInstanceOf(UnsupportedParameterError);
  });

  it('names the body field it refuses, and what can be done about it', () => {
    expect(bodyFieldOf('temperature', { temperature: 0 })).toBe('temperature');
    expect(bodyFieldOf('reasoning.effort', { reasoning_effort: 'minimal' })).toBe('reasoning_effort');
    expect(bodyFieldOf('effort', { reasoning: { effort: 'low' } })).toBe('reasoning');
    expect(bodyFieldOf('chat_template_kwargs.enable_thinking', { chat_template_kwargs: {} })).toBe('chat_template_kwargs');
    expect(bodyFieldOf('temperature', { max_tokens: 5 })).toBeUndefined();
    expect(adjustmentFor('temperature', 'value')).toEqual({ kind: 'drop' });
    expect(adjustmentFor('max_tokens', 'parameter')).toEqual({ kind: 'rename', to: 'max_completion_tokens' });
    expect(adjustmentFor('max_completion_tokens', 'parameter')).toEqual({ kind: 'rename', to: 'max_tokens' });
    // A cap refused for its size is not a naming problem; the messages and the format are the request itself.
    expect(adjustmentFor('max_tokens', 'value')).toBeUndefined();
    expect(adjustmentFor('messages', 'value')).toBeUndefined();
    expect(adjustmentFor('response_format', 'parameter')).toBeUndefined();
    const known = new Map([['temperature', { kind: 'drop' as const }], ['max_tokens', { kind: 'rename' as const, to: 'max_completion_tokens' as const }]]);
    expect(applyRefusals({ model: 'm', temperature: 0, max_tokens: 9 }, known)).toEqual({ body: { model: 'm', max_completion_tokens: 9 }, changed: ['temperature', 'max_tokens→max_completion_tokens'] });
    expect(applyRefusals({ model: 'm' }, known)).toEqual({ body: { model: 'm' }, changed: [] });
  });
});

describe('the chat client against a server that refuses parameters as OpenAI does', () => {
  let server: ScriptedOpenAI;
  let n = 0;
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const ref = (extra: Partial<ModelRef> = {}): ModelRef => ({ provider: 'openai', model: `probe-${n++}`, baseURL: server.baseURL, ...extra });
  const ask = (r: ModelRef, extra: object = {}) => buildChatModel(r, {}).generate({ messages, schema: Answer, schemaName: 'answer', ...extra });
  const sent = (model: string) => server.chatRequests().filter((q) => q.body.model === model).map((q: RecordedRequest) => q.body as Record<string, unknown>);
  /** Refuses `temperature` for the named models, as gpt-5 does (unsupported_value). */
  const refuseTemperature = (...models: string[]) => server.intercept((r) => (models.includes(r.body?.model) && r.body?.temperature !== undefined ? unsupportedTemperatureValue(r.body.temperature) : undefined));

  beforeAll(async () => {
    server = await startScriptedOpenAI(() => ({ json: { answer: '4' } }));
  });
  beforeEach(() => warn.mockClear());
  afterEach(() => server.intercept(undefined));
  afterAll(() => server.close());

  it('a refused temperature: the call is sent once more without it, and later calls leave it out at once', async () => {
    const r = ref({ temperature: 0 });
    refuseTemperature(r.model);
    const first = await ask(r);
    expect(first.value).toEqual({ answer: '4' });
    expect(first.refusedParameters).toEqual(['temperature']);
    expect(sent(r.model).map((b) => b.temperature)).toEqual([0, undefined]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(new RegExp(`^WARN ${r.model} at ${server.baseURL.replace(/\./g, '\\.')} refuses temperature \\(HTTP 400: 400 Unsupported value: 'temperature' does not support 0 .*\\): the request is sent without temperature, and so is every later one to it from this worker$`));

    // Another ref (another role) naming the same endpoint and model: one request, no temperature, still recorded.
    const other = { ...r, temperature: 0.9 };
    const second = await ask(other);
    expect(second.refusedParameters).toEqual(['temperature']);
    expect(sent(r.model)).toHaveLength(3);
    expect(sent(r.model)[2]!.temperature).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);

    // Learned per model: another model at the same server is still sent its temperature.
    const neighbour = ref({ temperature: 0.5 });
    const third = await ask(neighbour);
    expect(third.refusedParameters).toBeUndefined();
    expect(sent(neighbour.model).map((b) => b.temperature)).toEqual([0.5]);
  });

  it('each refused parameter is dropped once, in turn; a cap refused by name is sent under the other', async () => {
    const r = ref({ temperature: 0.3, reasoningEffort: 'low', tokenLimitParameter: 'max_tokens', maxOutputTokens: 200 });
    server.intercept((q) => {
      if (q.body?.model !== r.model) return undefined;
      if (q.body.max_tokens !== undefined) return unsupportedParameter('max_tokens', " Use 'max_completion_tokens' instead.");
      if (q.body.reasoning_effort !== undefined) return unsupportedParameter('reasoning_effort');
      return q.body.temperature !== undefined ? unsupportedTemperatureValue(q.body.temperature) : undefined;
    });
    const res = await ask(r);
    expect(res.refusedParameters).toEqual(['max_tokens→max_completion_tokens', 'reasoning_effort', 'temperature']);
    expect(sent(r.model).map((b) => [b.max_tokens, b.max_completion_tokens, b.reasoning_effort, b.temperature])).toEqual([
      [200, undefined, 'low', 0.3],
      [undefined, 200, 'low', 0.3],
      [undefined, 200, undefined, 0.3],
      [undefined, 200, undefined, undefined],
    ]);
    expect(warn).toHaveBeenCalledTimes(3);
  });

  it('what cannot go is not retried: the format, a parameter not sent, a parameter refused again', async () => {
    const format = ref();
    server.intercept((q) => (q.body?.model === format.model ? unsupportedParameter('response_format') : undefined));
    expect(await failure(ask(format))).toMatchObject({ type: ErrorType.ModelRequestRejected, parameter: 'response_format' });
    expect(sent(format.model)).toHaveLength(1);

    const notSent = ref();
    server.intercept((q) => (q.body?.model === notSent.model ? unsupportedParameter('temperature') : undefined));
    expect((await failure(ask(notSent))).type).toBe(ErrorType.ModelRequestRejected);
    expect(sent(notSent.model)).toHaveLength(1);

    // A server that names temperature whatever is sent: one retry without it, then the refusal stands.
    const stubborn = ref({ temperature: 0 });
    server.intercept((q) => (q.body?.model === stubborn.model ? unsupportedParameter('temperature') : undefined));
    expect((await failure(ask(stubborn))).type).toBe(ErrorType.ModelRequestRejected);
    expect(sent(stubborn.model)).toHaveLength(2);
  });

  it("known families are sent what they take: o4-mini no temperature but max_completion_tokens and its effort; Qwen3's switch in chat_template_kwargs", async () => {
    const rules = providerRules();
    server.intercept(rules.intercept);
    const o4 = ref({ model: 'o4-mini', reasoningEffort: 'high', maxOutputTokens: 4096 });
    // The role's own temperature is never sent to it (activities: only the embedded model takes role defaults).
    const r = await ask(o4, { defaultTemperature: 0 });
    expect(r.refusedParameters).toBeUndefined();
    const [body] = sent('o4-mini');
    expect(body).toMatchObject({ max_completion_tokens: 4096, reasoning_effort: 'high' });
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('max_tokens');

    const qwen = ref({ model: 'Qwen/Qwen3-4B', temperature: 0.6, thinking: false });
    await ask(qwen);
    expect(sent('Qwen/Qwen3-4B')[0]).toMatchObject({ temperature: 0.6, chat_template_kwargs: { enable_thinking: false } });
    expect(rules.refused).toEqual([]);
  });

  it("the game's roles send the ref's temperature or none", async () => {
    const game = createGameActivities({ chatModel: (x) => buildChatModel(x, {}), home: mkdtempSync(join(tmpdir(), 'nf-refusals-')), datasetsDir: join(tmpdir(), 'none') });
    server.script((q) => (q.role === 'defender' ? { json: { reasoning: 'r', answer: '4' } } : { json: { answer: '4' } }));
    const domain = { name: 'math', brief: 'Arithmetic.', pack: 'none' as const, promptVersion: 'v1' };
    const bare = ref();
    await game.defend({ domain, question: '2+2?', model: bare, maxSchemaRetries: 0, sampled: true });
    expect(sent(bare.model)[0]).not.toHaveProperty('temperature');
    const warm = ref({ temperature: 0.7 });
    await game.defend({ domain, question: '2+2?', model: warm, maxSchemaRetries: 0 });
    expect(sent(warm.model)[0]!.temperature).toBe(0.7);
    // A refusal reaches the activity's result, which the episode keeps in its transcript.
    const refused = ref({ temperature: 0.2 });
    refuseTemperature(refused.model);
    const d = await game.defend({ domain, question: '2+2?', model: refused, maxSchemaRetries: 0 });
    expect(d).toMatchObject({ defense: { answer: '4' }, refusedParameters: ['temperature'] });
    server.script(() => ({ json: { answer: '4' } }));
  });

  it("preflight's probe is sent as the role's request, so a refusal is learned before any episode", async () => {
    const r = ref({ temperature: 0.1, reasoningEffort: 'medium', tokenLimitParameter: 'max_tokens' });
    server.script((q) => (q.response_format?.json_schema?.name === 'preflight' ? { json: { ok: true } } : { json: { answer: '4' } }));
    refuseTemperature(r.model);
    const problems = await createChatPreflight((x) => buildChatModel(x, {})).preflightModels({ models: [{ roles: ['judge'], ref: r, tools: false }], packs: ['none'] });
    expect(problems).toEqual([]);
    expect(sent(r.model).map((b) => [b.temperature, b.max_tokens, b.reasoning_effort])).toEqual([
      [0.1, 16, 'medium'],
      [undefined, 16, 'medium'],
    ]);
    expect(warn).toHaveBeenCalledTimes(1);
    // The role's first call leaves it out from the start.
    await ask(r);
    expect(sent(r.model)).toHaveLength(3);
    expect(sent(r.model)[2]).not.toHaveProperty('temperature');
    server.script(() => ({ json: { answer: '4' } }));
  });
});
