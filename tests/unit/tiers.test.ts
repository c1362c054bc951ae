import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OpenAIChatModel } from '../../activities/game/models/openai-chat.js';
import { flexCall, sendAtFlex } from '../../activities/game/models/tiers.js';
import { ModelRefSchema } from '../../common/config.js';
import { ErrorType } from '../../common/errors.js';
import { addBilled, callCost, sumBilled } from '../../workflows/logic/cost.js';
import { billedLine } from '../../scripts/lib/format.js';
import { failure } from '../support/expect-error.js';
import { startScriptedOpenAI, type ScriptedOpenAI, type ScriptedResponse } from '../support/scripted-openai.js';

const Answer = z.strictObject({ answer: z.string().min(1) });
const ask = (model: OpenAIChatModel) => model.generate({ messages: [{ role: 'system', content: 'ROLE: judge\nAnswer.' }, { role: 'user', content: '2+2?' }], schema: Answer, schemaName: 'answer' });
/** What OpenAI answers a flex request it has no capacity for: 429, not billed. */
const noCapacity: ScriptedResponse = { status: 429, errorBody: { error: { message: 'Resource Unavailable: not enough capacity for flex processing, try again later', type: 'resource_unavailable', code: 'resource_unavailable' } } };

/**
 * The scripted OpenAI-compatible server stands in for OpenAI here (a paid service): it answers
 * `service_tier` as OpenAI does and refuses flex requests as scripted.
 */
describe('the flex tier over the real openai client', () => {
  let server: ScriptedOpenAI;
  beforeAll(async () => (server = await startScriptedOpenAI()));
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.script(() => ({ json: { answer: '4' }, usage: { prompt_tokens: 100, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 60 } } }));
  });
  const flexModel = (flexFallbackMs: number) => new OpenAIChatModel({ model: 'gpt-flex', baseURL: server.baseURL, apiKey: 'sk-test', timeoutMs: 5000, tier: 'flex', flexFallbackMs });

  it('sends service_tier flex and records what the provider billed: the tier, cached prompt tokens', async () => {
    const r = await ask(flexModel(60_000));
    expect(server.chatRequests().map((q) => q.body.service_tier)).toEqual(['flex']);
    expect(r.usage).toEqual({ promptTokens: 100, completionTokens: 10, cachedPromptTokens: 60, billedTiers: ['flex'], flex: { promptTokens: 100, completionTokens: 10, cachedPromptTokens: 60 } });
  });

  it('a standard ref sends no service_tier, and its usage says nothing of tiers the provider did not name', async () => {
    const r = await ask(new OpenAIChatModel({ model: 'gpt-std', baseURL: server.baseURL, apiKey: 'sk-test', timeoutMs: 5000 }));
    expect(server.chatRequests()[0]!.body.service_tier).toBeUndefined();
    expect(r.usage).toEqual({ promptTokens: 100, completionTokens: 10, cachedPromptTokens: 60 });
  });

  it('refused for lack of capacity, it backs off and asks again at flex; the refusals cost nothing and are not a rate limit', async () => {
    server.enqueue('judge', noCapacity, noCapacity, { json: { answer: '4' }, usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const t0 = Date.now();
    const r = await ask(flexModel(60_000));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900); // 1 s then 2 s of backoff
    expect(server.chatRequests().map((q) => q.body.service_tier)).toEqual(['flex', 'flex', 'flex']);
    expect(r.usage.flex).toEqual({ promptTokens: 100, completionTokens: 10, cachedPromptTokens: 0 });
  });

  it('refused for longer than flexFallbackAfterSeconds, the call goes on at the standard tier, billed as such', async () => {
    server.enqueue('judge', noCapacity, noCapacity, noCapacity);
    const r = await ask(flexModel(1500));
    const tiers = server.chatRequests().map((q) => q.body.service_tier);
    expect(tiers.at(-1)).toBeUndefined();
    expect(tiers.slice(0, -1).every((t) => t === 'flex')).toBe(true);
    expect(r.usage.billedTiers).toBeUndefined();
    expect(r.usage.flex).toBeUndefined();
  });

  it('a rate-limit 429 on a flex ref is a rate limit, retried by Temporal after its Retry-After, not a capacity refusal', async () => {
    server.enqueue('judge', { status: 429, retryAfter: '7', message: 'Rate limit reached for requests' });
    const e = await failure(ask(flexModel(60_000)));
    expect(e).toMatchObject({ type: ErrorType.RateLimited });
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('gives up waiting when the activity is cancelled', async () => {
    const call = flexCall(60_000);
    const abort = new AbortController();
    const refused = Object.assign(new (await import('openai')).default.APIError(429, { message: 'Resource Unavailable' }, 'Resource Unavailable', new Headers()), {});
    const waiting = sendAtFlex(call, {}, async () => Promise.reject(refused), abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(waiting).rejects.toThrow(/cancelled while waiting for flex capacity/);
  });
});

describe('cost as billed (workflows/logic/cost.ts)', () => {
  const price = { inputPerMillion: 2, outputPerMillion: 8 };
  it('prices cached prompt tokens at the cached price and the flex part at the flex discount', () => {
    expect(callCost({ promptTokens: 1_000_000, completionTokens: 1_000_000 }, price)).toBeCloseTo(10);
    expect(callCost({ promptTokens: 1_000_000, completionTokens: 0, cachedPromptTokens: 500_000 }, { ...price, cachedInputPerMillion: 0.5 })).toBeCloseTo(1.25);
    // Without a cached price, cached tokens cost what the others do.
    expect(callCost({ promptTokens: 1_000_000, completionTokens: 0, cachedPromptTokens: 500_000 }, price)).toBeCloseTo(2);
    const allFlex = { promptTokens: 1_000_000, completionTokens: 1_000_000, flex: { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedPromptTokens: 0 } };
    expect(callCost(allFlex, price)).toBeCloseTo(5);
    expect(callCost(allFlex, { ...price, flexDiscount: 0.25 })).toBeCloseTo(7.5);
    // Half the call at flex (a fallback mid-call): the rest at the full price.
    expect(callCost({ promptTokens: 2_000_000, completionTokens: 0, flex: { promptTokens: 1_000_000, completionTokens: 0, cachedPromptTokens: 0 } }, price)).toBeCloseTo(3);
    expect(callCost(allFlex, undefined)).toBe(0);
  });

  it('takes tiers flex and batch for openai refs only', () => {
    expect(ModelRefSchema.safeParse({ provider: 'openai', model: 'gpt-4.1-mini', tier: 'flex', flexFallbackAfterSeconds: 0 }).success).toBe(true);
    const local = ModelRefSchema.safeParse({ provider: 'local', model: 'smollm2-135m', tier: 'flex' });
    expect(local.success).toBe(false);
    expect(JSON.stringify(local.error?.issues)).toMatch(/flex is a provider tier/);
    expect(ModelRefSchema.safeParse({ provider: 'openai', model: 'x', tier: 'batch', batch: { maxWaitSeconds: 5 } }).success).toBe(true);
    expect(JSON.stringify(ModelRefSchema.safeParse({ provider: 'local', model: 'smollm2-135m', tier: 'batch' }).error?.issues)).toMatch(/batch is a provider tier/);
  });
});

describe('billed tokens by role (workflows/logic/cost.ts addBilled, scripts/lib/format.ts billedLine)', () => {
  it('keeps nothing until the provider says something of a call, then adds by role', () => {
    expect(addBilled(undefined, 'judge', { promptTokens: 10, completionTokens: 5 })).toBeUndefined();
    const one = addBilled(undefined, 'judge', { promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4, flex: { promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4 } });
    expect(one).toEqual({ cachedPrompt: { attacker: 0, defender: 0, judge: 4, embedding: 0 }, flex: { attacker: 0, defender: 0, judge: 15, embedding: 0 } });
    const two = sumBilled(one, addBilled(undefined, 'attacker', { promptTokens: 8, completionTokens: 2, flex: { promptTokens: 8, completionTokens: 2, cachedPromptTokens: 0 } }));
    expect(two!.flex).toEqual({ attacker: 10, defender: 0, judge: 15, embedding: 0 });
    expect(sumBilled(undefined, undefined)).toBeUndefined();
    const tokens = { attacker: 10, defender: 7, judge: 30, embedding: 3, total: 50 };
    expect(billedLine({ tokens, billed: two })).toBe('attacker 100% at flex · judge 50% at flex, 4 cached prompt tokens (as the provider reported each call; the cost above prices them so)');
  });
});
