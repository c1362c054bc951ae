import type { ModelRef } from '../../../common/config.js';
import { ErrorType, ModelError } from '../../../common/errors.js';
import { apiKeyFor, memoByRef } from '../../kit/model-refs.js';
import { rateLimiterFor } from '../../kit/rate-limiter.js';
import type { Embedder, Embedding } from './embedder.js';
import { LocalSentenceEncoder } from './local-use.js';
import { OpenAIEmbedder } from './openai-embedder.js';

/**
 * Remembers recent vectors: an episode embeds its question for the novelty check and again when it
 * stores the example, usually in the same worker moments apart.
 */
class CachingEmbedder implements Embedder {
  private readonly cache = new Map<string, number[]>();
  constructor(private readonly inner: Embedder, private readonly capacity = 2000) {}
  get id(): string {
    return this.inner.id;
  }
  get maxBatch(): number | undefined {
    return this.inner.maxBatch;
  }
  async embed(texts: string[]): Promise<Embedding> {
    const missing = [...new Set(texts.filter((t) => !this.cache.has(t)))];
    let tokens = 0;
    if (missing.length > 0) {
      const r = await this.inner.embed(missing);
      tokens = r.tokens;
      missing.forEach((t, i) => this.remember(t, r.vectors[i]!));
    }
    return { vectors: texts.map((t) => this.cache.get(t)!), tokens };
  }
  private remember(text: string, v: number[]): void {
    if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(text, v);
  }
}

/** One batch's time when the ref names none (config: timeoutSeconds); a slow server halves its batches rather than waiting longer. */
const EMBED_TIMEOUT_S = 60;

/** One embedder per model ref per worker process; its requests share the endpoint's rate limiter (`requestsPerMinute`). The cache answers without a request, so without spending a slot. */
export const buildEmbedder = memoByRef((ref: ModelRef, env): Embedder => {
  if (ref.provider === 'local') {
    if (ref.model !== 'use-lite') throw new ModelError(ErrorType.ModelRequestRejected, `unknown local embedding model "${ref.model}" (the embedded one is "use-lite")`);
    return new CachingEmbedder(new LocalSentenceEncoder());
  }
  return new CachingEmbedder(
    new OpenAIEmbedder({ model: ref.model, baseURL: ref.baseURL, apiKey: apiKeyFor(ref, env), rateLimiter: rateLimiterFor(ref), timeoutMs: (ref.timeoutSeconds ?? EMBED_TIMEOUT_S) * 1000 }),
  );
});
