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
      // Only these two fields: never the request (headers carry the Authorization key).
      details: [{ status: provider?.status ?? null, requestId: provider?.requestId ?? null }],
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
