import type { ModelRef } from '../../../common/config.js';
import { apiKeyFor, memoByRef } from '../../kit/model-refs.js';
import type { ChatModel } from './chat-model.js';
import { LocalChatModel } from './local-chat.js';
import { OpenAIChatModel } from './openai-chat.js';
import { rateLimiterFor } from '../../kit/rate-limiter.js';

/** The chat model a ref names, built once per worker process; refs naming one endpoint share its rate limiter. */
export const buildChatModel = memoByRef((ref: ModelRef, env): ChatModel => {
  if (ref.provider === 'local') return new LocalChatModel({ model: ref.model, temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens });
  return new OpenAIChatModel({ model: ref.model, baseURL: ref.baseURL, apiKey: apiKeyFor(ref, env), temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens, rateLimiter: rateLimiterFor(ref) });
});
