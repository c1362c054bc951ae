import OpenAI from 'openai';
import type { ModelRef } from '../../../common/config.js';
import { readEnv } from '../../../common/env.js';
import { apiKeyFor, memoByRef } from '../../kit/model-refs.js';
import type { Batcher } from './batcher.js';
import type { ChatModel } from './chat-model.js';
import { endpointContext } from './endpoint-context.js';
import { LocalChatModel } from './local-chat.js';
import { type OpenAIChatOptions, OpenAIChatModel } from './openai-chat.js';
import { rateLimiterFor } from '../../kit/rate-limiter.js';
import { endpointLabel } from '../../kit/metrics.js';

/** Batch tier defaults (the ref's `batch` overrides them). */
const BATCH_DEFAULTS = { maxWaitSeconds: 60, maxRequests: 50_000, pollSeconds: 30 };

function openAIOptions(ref: ModelRef, env: NodeJS.ProcessEnv): OpenAIChatOptions {
  const apiKey = apiKeyFor(ref, env);
  const timeoutMs = ref.timeoutSeconds !== undefined ? ref.timeoutSeconds * 1000 : undefined;
  return {
    model: ref.model,
    baseURL: ref.baseURL,
    apiKey,
    temperature: ref.temperature,
    maxOutputTokens: ref.maxOutputTokens,
    reasoningEffort: ref.reasoningEffort,
    thinking: ref.thinking,
    tokenLimitParameter: ref.tokenLimitParameter,
    timeoutMs,
    rateLimiter: rateLimiterFor(ref),
    contextTokens: ref.contextTokens,
    ...(ref.tier ? { tier: ref.tier } : {}),
    captureContent: readEnv(env).traceContent,
    ...(ref.flexFallbackAfterSeconds !== undefined ? { flexFallbackMs: ref.flexFallbackAfterSeconds * 1000 } : {}),
    // Asked of the server only for refs that do not state contextTokens, once per server per process.
    context: endpointContext({ baseURL: ref.baseURL, model: ref.model, apiKey, timeoutMs }),
  };
}

/** The chat model a ref names, built once per worker process; refs naming one endpoint share its rate limiter and what is known of its context window. */
export const buildChatModel = memoByRef((ref: ModelRef, env): ChatModel => {
  if (ref.provider === 'local') return new LocalChatModel({ model: ref.model, temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens });
  return new OpenAIChatModel(openAIOptions(ref, env));
});

/**
 * The chat models of a worker whose batch-tier refs go through `batcher` (its data dir's): a batch
 * ref's requests join the lane of its endpoint, key variable and model; every other ref as buildChatModel.
 */
export function chatModelsWith(batcher: Batcher): (ref: ModelRef) => ChatModel {
  const batched = memoByRef((ref: ModelRef, env): ChatModel => {
    const o = openAIOptions(ref, env);
    const b = { ...BATCH_DEFAULTS, ...ref.batch };
    // Batch API calls are few (an upload, a create, polls), so the client retries transient failures itself; a poll that fails is tried again at the next tick anyway.
    const client = new OpenAI({ apiKey: o.apiKey, baseURL: o.baseURL, maxRetries: 2, timeout: 120_000 });
    const lane = batcher.lane({ key: `${ref.baseURL ?? 'openai'}|${ref.apiKeyEnv ?? ''}|${ref.model}`, labels: { endpoint: endpointLabel(ref.baseURL), model: ref.model }, client, maxWaitMs: b.maxWaitSeconds * 1000, maxRequests: b.maxRequests, pollMs: b.pollSeconds * 1000 });
    return new OpenAIChatModel({ ...o, batch: lane });
  });
  return (ref) => (ref.tier === 'batch' ? batched(ref) : buildChatModel(ref));
}

/** The same ref at the standard tier: for the few calls that cannot wait for a batch job (the preflight, the Judge's calibration). */
export function atStandardTier(ref: ModelRef): ModelRef {
  if (ref.tier !== 'batch') return ref;
  const { batch: _batch, ...rest } = ref;
  return { ...rest, tier: 'standard' };
}
