import OpenAI from 'openai';
import { fromOpenAIError } from '../../kit/errors.js';
import { ErrorType, ModelError } from '../../../common/errors.js';
import { cancellationSignal } from '../../kit/boundary.js';
import { withCallTimeout } from '../../kit/call-timeout.js';
import type { RateLimiter } from '../../kit/rate-limiter.js';
import type { Embedder, Embedding } from './embedder.js';

/** Inputs per request: well under the API's 2048 limit and its per-request token cap. */
export const OPENAI_EMBED_BATCH = 256;

export interface OpenAIEmbedderOptions {
  model: string;
  /** Read from the variable the model ref names (activities/kit/model-refs.ts); `not-needed` for keyless endpoints. */
  apiKey: string;
  baseURL?: string;
  timeoutMs?: number;
  /** Optional output size, for models that support shortening (text-embedding-3-*). */
  dimensions?: number;
  /** The endpoint's client-side rate limit (activities/kit/rate-limiter.ts); none: unlimited. */
  rateLimiter?: RateLimiter;
}

/** Any OpenAI-compatible /embeddings endpoint (OpenAI, vLLM, Ollama…). */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly maxBatch = OPENAI_EMBED_BATCH;
  private readonly client: OpenAI;

  constructor(private readonly opts: OpenAIEmbedderOptions) {
    this.id = `openai:${opts.model}`;
    // Retries are Temporal's job: a client retrying inside an activity would hide failures from the
    // workflow's retry policy and stretch the activity past its timeouts.
    this.client = new OpenAI({
      apiKey: opts.apiKey,
      baseURL: opts.baseURL,
      maxRetries: 0,
      timeout: opts.timeoutMs ?? 60_000,
    });
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** Also bounds reading the body: the client's own timeout stops once the headers are in. */
  private readonly timeoutMs: number;

  async embed(texts: string[]): Promise<Embedding> {
    const vectors: number[][] = [];
    let tokens = 0;
    for (let i = 0; i < texts.length; i += OPENAI_EMBED_BATCH) {
      // Each batch is one request, so each waits for its own slot.
      await this.opts.rateLimiter?.acquire(cancellationSignal());
      const input = texts.slice(i, i + OPENAI_EMBED_BATCH);
      let timer: AbortSignal | undefined;
      // Through the one error translation: a 429's Retry-After becomes the retry delay (and holds back
      // the endpoint's other requests), a 401 is not retried.
      const res = await withCallTimeout(this.timeoutMs, (signal) => {
        timer = signal;
        return this.client.embeddings.create(
          {
            model: this.opts.model,
            input,
            // The client asks for base64 by default, which many compatible servers do not implement.
            encoding_format: 'float',
            ...(this.opts.dimensions ? { dimensions: this.opts.dimensions } : {}),
          },
          { signal },
        );
      }).catch((e: unknown) => {
        // The call's own timer is the only thing that aborts its signal; the client reports that abort
        // as a user abort, so the timeout is named here, where it is known, for the batches to halve.
        const err = timer?.aborted
          ? new ModelError(ErrorType.ModelUnavailable, `embedding request of ${input.length} texts to ${this.opts.model} timed out after ${this.timeoutMs / 1000} s`, { timedOut: true, cause: e })
          : fromOpenAIError(e);
        throw this.opts.rateLimiter ? this.opts.rateLimiter.noteFailure(err) : err;
      });
      if (!Array.isArray(res?.data)) throw new ModelError(ErrorType.ModelUnavailable, `malformed embeddings response from ${this.opts.model}: no data array`);
      for (const d of [...res.data].sort((a, b) => a.index - b.index)) vectors.push(d.embedding);
      tokens += res.usage?.prompt_tokens ?? 0;
    }
    return { vectors, tokens };
  }
}
