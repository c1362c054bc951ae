import type { ModelRef } from '../../../common/config.js';
import { apiKeyFor, memoByRef } from '../../kit/model-refs.js';
import type { ChatModel } from './chat-model.js';
import { endpointContext } from './endpoint-context.js';
import { LocalChatModel } from './local-chat.js';
import { OpenAIChatModel } from './openai-chat.js';
import { rateLimiterFor } from '../../kit/rate-limiter.js';

/** The chat model a ref names, built once per worker process; refs naming one endpoint share its rate limiter and what is known of its context window. */
export const buildChatModel = memoByRef((ref: ModelRef, env): ChatModel => {
  if (ref.provider === 'local') return new LocalChatModel({ model: ref.model, temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens });
  const apiKey = apiKeyFor(ref, env);
  const timeoutMs = ref.timeoutSeconds !== undefined ? ref.timeoutSeconds * 1000 : undefined;
  return new OpenAIChatModel({
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
    ...(ref.flexFallbackAfterSeconds !== undefined ? { flexFallbackMs: ref.flexFallbackAfterSeconds * 1000 } : {}),
    // Asked of the server only for refs that do not state contextTokens, once per server per process.
    context: endpointContext({ baseURL: ref.baseURL, model: ref.model, apiKey, timeoutMs }),
  });
});
