import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { ErrorType, ModelError, NanofluxError, NON_RETRYABLE, redact } from '../../common/errors.js';

/**
 * The ONE place where errors become the stable failure types of common/errors.ts: provider errors
 * become ModelErrors here, and everything that leaves an activity goes through
 * `toApplicationFailure`, since Temporal matches retry policies on the failure's `type`.
 */

interface HeaderLike {
  get(name: string): string | null;
}

/** `retry-after-ms` first (OpenAI's own, precise), then `retry-after` as seconds or an HTTP date. */
export function parseRetryAfter(headers: HeaderLike | undefined, now = Date.now()): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return secs >= 0 ? Math.round(secs * 1000) : undefined;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  // A date in the past means "now"; 0 would make Temporal retry immediately, which is what the server asked.
  return Math.max(0, date - now);
}

/** A request that does not fit the model's context window, with the numbers the server gave (either may be missing). */
export class ContextExceededError extends ModelError {
  override name = 'ContextExceededError';
  constructor(
    message: string,
    /** The window the server named (llama.cpp's `n_ctx`, "maximum context length is N"). */
    readonly contextTokens?: number,
    /** The size the server measured for the prompt (llama.cpp's `n_prompt_tokens`, "your messages resulted in N"). */
    readonly promptTokens?: number,
    opts: { status?: number; requestId?: string } = {},
  ) {
    super(ErrorType.ContextExceeded, message, opts);
  }
}

/** The first number `re` captures in `text`. */
const num = (re: RegExp, text: string): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};
const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * Whether a refusal says "the request does not fit the context window", and the numbers it gives.
 * Matched on what each server writes (their wording moves between versions; their type/code names
 * do not): llama.cpp's `exceed_context_size_error` with `n_ctx`/`n_prompt_tokens` beside "request (N
 * tokens) exceeds the available context size (M tokens)"; OpenAI's `context_length_exceeded` and
 * "maximum context length is M tokens … resulted in N tokens"; vLLM's "maximum context length is M
 * tokens … your request has N input tokens", "'max_tokens' … is too large" and "prompt (length N)
 * is longer than the maximum model length of M".
 */
export function contextOverflowOf(status: number | undefined, body: unknown, message: string): { contextTokens?: number; promptTokens?: number } | undefined {
  if (status !== 400 && status !== 413 && status !== 422) return undefined;
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const text = `${typeof b.message === 'string' ? b.message : ''} ${message}`;
  const named = b.type === 'exceed_context_size_error' || b.code === 'context_length_exceeded';
  const worded = /exceeds the available context size|maximum context length is \d+|longer than the maximum model length|context_length_exceeded/i.test(text);
  if (!named && !worded) return undefined;
  const contextTokens =
    positive(b.n_ctx) ??
    num(/available context size \((\d+) tokens\)/i, text) ??
    num(/maximum context length is (\d+)/i, text) ??
    num(/maximum model length of (\d+)/i, text);
  const promptTokens =
    positive(b.n_prompt_tokens) ??
    num(/request \((\d+) tokens\) exceeds/i, text) ??
    num(/(\d+) in the messages/i, text) ??
    num(/resulted in (\d+) tokens/i, text) ??
    num(/request has (\d+) input tokens/i, text) ??
    num(/prompt contains at least (\d+) input tokens/i, text) ??
    num(/prompt \(length (\d+)\)/i, text);
  return { ...(contextTokens !== undefined ? { contextTokens } : {}), ...(promptTokens !== undefined ? { promptTokens } : {}) };
}

/**
 * A 400 that names one request parameter the model does not take: OpenAI's reasoning models answer
 * `temperature` with `unsupported_parameter` ("Unsupported parameter: 'temperature' is not supported
 * with this model.") or `unsupported_value` ("Unsupported value: 'temperature' does not support 0 with
 * this model. Only the default (1) value is supported."), `max_tokens` with "Use 'max_completion_tokens'
 * instead", an effort gpt-5.1 lacks with param `reasoning.effort`. The caller may send the request
 * again without it (activities/game/models/parameter-refusals.ts); otherwise it is a refused request.
 */
export class UnsupportedParameterError extends ModelError {
  override name = 'UnsupportedParameterError';
  constructor(
    message: string,
    /** As the provider names it: `temperature`, `max_tokens`, `reasoning.effort`. */
    readonly parameter: string,
    /** `parameter`: not taken at all; `value`: not with this value. */
    readonly refused: 'parameter' | 'value',
    opts: { status?: number; requestId?: string } = {},
  ) {
    super(ErrorType.ModelRequestRejected, message, opts);
  }
}

/** The parameter a 400 refuses and how, from the error's `param`/`code` or, where a proxy dropped them, its words. */
export function unsupportedParameterOf(status: number | undefined, body: unknown, message: string): { parameter: string; refused: 'parameter' | 'value' } | undefined {
  if (status !== 400 && status !== 422) return undefined;
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const text = `${typeof b.message === 'string' ? b.message : ''} ${message}`;
  // "Unsupported value: 'minimal' is not supported with …" quotes the value, not the parameter: only these two quote the parameter.
  const worded = /Unsupported parameter: '([\w.]+)'/i.exec(text) ?? /Unsupported value: '([\w.]+)' does not support/i.exec(text);
  const coded = b.code === 'unsupported_parameter' ? 'parameter' : b.code === 'unsupported_value' ? 'value' : undefined;
  const refused = coded ?? (worded ? (/^Unsupported parameter/i.test(worded[0]) ? 'parameter' : 'value') : undefined);
  // A proxy may mask the path's head (`***.effort`): the field's own name still says which it is.
  const param = typeof b.param === 'string' ? b.param.replace(/^[*.]+/, '') : '';
  const parameter = param || worded?.[1];
  return refused && parameter ? { parameter, refused } : undefined;
}

/**
 * What a provider call threw, as a ModelError. Only for the call itself: code that wraps more than the
 * call passes its own NanofluxErrors through first (activities/stages/finetune/openai-backend.ts), or a
 * missing file would become a retried ModelUnavailable.
 */
export function fromOpenAIError(err: unknown): ModelError {
  if (err instanceof ModelError) return err;
  // Connection errors are APIErrors with no status: check them first.
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ModelError(ErrorType.ModelUnavailable, `model request timed out: ${err.message}`, { cause: err, timedOut: true });
  }
  if (err instanceof OpenAI.APIConnectionError || err instanceof OpenAI.APIUserAbortError) {
    return new ModelError(ErrorType.ModelUnavailable, `model endpoint unreachable: ${err.message}`, { cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const requestId = err.requestID ?? undefined;
    const retryAfterMs = parseRetryAfter(err.headers as HeaderLike | undefined);
    // No `cause`: the provider's error object can echo the key (a 401 body quotes its prefix), and
    // anything that logs causes would then leak it. The redacted message keeps what matters.
    const base = { status, requestId };
    const msg = `HTTP ${status ?? '?'}: ${err.message}`;
    // Before the generic 400: the same request can never fit, and the numbers let the caller refit it.
    const overflow = contextOverflowOf(status, err.error, err.message);
    if (overflow) return new ContextExceededError(`context exceeded: ${msg}`, overflow.contextTokens, overflow.promptTokens, base);
    const unsupported = unsupportedParameterOf(status, err.error, err.message);
    if (unsupported) return new UnsupportedParameterError(msg, unsupported.parameter, unsupported.refused, base);
    if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
      return new ModelError(ErrorType.RateLimited, msg, { ...base, retryAfterMs });
    }
    if (status === 400 || status === 401 || status === 403 || status === 404 || status === 422) {
      return new ModelError(ErrorType.ModelRequestRejected, msg, base);
    }
    // 408/409 and other 4xx are ones OpenAI itself treats as transient; 5xx are transient by definition.
    return new ModelError(
      status !== undefined && status < 500 && status !== 408 && status !== 409 ? ErrorType.ModelRequestRejected : ErrorType.ModelUnavailable,
      msg,
      base,
    );
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // Low-level socket errors that escaped the client (e.g. fetch failures) are transient.
  return new ModelError(ErrorType.ModelUnavailable, `model call failed: ${e.message}`, { cause: e });
}

export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof NanofluxError) {
    const provider = err instanceof ModelError ? err : undefined;
    return ApplicationFailure.create({
      type: err.type,
      message: redact(err.message),
      nonRetryable: NON_RETRYABLE.includes(err.type),
      ...(provider?.retryAfterMs !== undefined ? { nextRetryDelay: provider.retryAfterMs } : {}),
      // Only these fields (and the tokens billed): never the request (headers carry the Authorization key).
      details: [{ status: provider?.status ?? null, requestId: provider?.requestId ?? null, ...(provider?.spent ? { spent: provider.spent } : {}) }],
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ type: ErrorType.InternalError, message: redact(message), nonRetryable: false });
}

/** Wraps an activity so every failure crosses the boundary as a typed ApplicationFailure. */
export function translateErrors<A extends unknown[], R>(fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return async (...a: A) => {
    try {
      return await fn(...a);
    } catch (e) {
      throw toApplicationFailure(e);
    }
  };
}
