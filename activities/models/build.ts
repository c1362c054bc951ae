import type { ModelRef } from '../../common/config.js';
import { ErrorType } from '../../common/errors.js';
import { ModelError } from '../errors.js';
import type { ChatModel } from './chat-model.js';
import { LocalChatModel } from './local-chat.js';
import { OpenAIChatModel } from './openai-chat.js';

/** Placeholder key for keyless local endpoints (vLLM, Ollama): the openai client insists on one. */
const NO_KEY = 'not-needed';

// One model per ref per worker process: clients (and local weights) are built once, not per activity.
const cache = new Map<string, ChatModel>();

export function buildChatModel(ref: ModelRef, env: NodeJS.ProcessEnv = process.env): ChatModel {
  const key = JSON.stringify(ref);
  const hit = cache.get(key);
  if (hit) return hit;

  let model: ChatModel;
  if (ref.provider === 'local') {
    model = new LocalChatModel({ model: ref.model, temperature: ref.temperature, maxOutputTokens: ref.maxOutputTokens });
  } else {
    let apiKey = NO_KEY;
    if (ref.apiKeyEnv) {
      const value = env[ref.apiKeyEnv];
      // The message names the variable, never a value.
      if (!value) throw new ModelError(ErrorType.MissingApiKey, `environment variable ${ref.apiKeyEnv} is not set`);
      apiKey = value;
    }
    model = new OpenAIChatModel({
      model: ref.model,
      baseURL: ref.baseURL,
      apiKey,
      temperature: ref.temperature,
      maxOutputTokens: ref.maxOutputTokens,
    });
  }
  cache.set(key, model);
  return model;
}
