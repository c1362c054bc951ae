/**
 * Failure types that cross the activity/workflow boundary, and the errors that carry them. Temporal
 * matches retry policies on these strings (`nonRetryableErrorTypes`) and committed replay histories
 * hold them, so they are stable names, never class names. Activities throw the classes below;
 * activities/kit/errors.ts turns them into ApplicationFailures, and the CLI (scripts/lib/client.ts)
 * recognises a failure by its `type`.
 */
export const ErrorType = {
  /** The run config failed validation; nothing runs. */
  InvalidRunConfig: 'InvalidRunConfig',
  /** An update or signal to a running run was refused by its validator (a bad budget, an unknown domain). */
  InvalidArgument: 'InvalidArgument',
  /** The provider said slow down (HTTP 429, or 503 with Retry-After); retried after the delay it gave. */
  RateLimited: 'RateLimited',
  /** The provider refused the request as such (400/401/403/404/422); retrying cannot help. */
  ModelRequestRejected: 'ModelRequestRejected',
  /** The provider failed transiently (5xx, connection reset, timeout); retried with backoff. */
  ModelUnavailable: 'ModelUnavailable',
  /** The request (prompt + max_tokens) does not fit the model's context window; the same request can never fit. */
  ContextExceeded: 'ContextExceeded',
  /** The model answered, but not in the required schema; retried a bounded number of times. */
  ModelOutputInvalid: 'ModelOutputInvalid',
  /** A config names an environment variable for an API key that is not set. */
  MissingApiKey: 'MissingApiKey',
  /** A local file (model, dataset) is missing or unreadable. */
  MissingResource: 'MissingResource',
  /** A fine-tune job ended as failed or cancelled at the provider, or the trainer exited with an error. */
  FineTuneFailed: 'FineTuneFailed',
  /** The Judge failed its calibration and the run's `judge.calibration.onFail` is `fail`. */
  JudgeUncalibrated: 'JudgeUncalibrated',
  /** Anything an activity threw that is none of the above (a bug, a disk error); retried with backoff. */
  InternalError: 'InternalError',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Errors a worker can never fix by retrying. */
export const NON_RETRYABLE: ErrorType[] = [
  ErrorType.InvalidRunConfig,
  ErrorType.ModelRequestRejected,
  ErrorType.MissingApiKey,
  ErrorType.MissingResource,
  ErrorType.ContextExceeded,
  // A retry would start a second job on the same data and fail the same way; the episode-level
  // analogue is ModelOutputInvalid. A trainer killed by a signal is not this (it is retried).
  ErrorType.FineTuneFailed,
];

/** Strips anything that looks like a credential: provider error bodies sometimes echo the key prefix. */
export function redact(text: string): string {
  return text
    .replace(/Bearer\s+[^\s"',]+/gi, 'Bearer [redacted]')
    .replace(/\b(sk|rk|pk)-[A-Za-z0-9_-]{4,}/g, '$1-[redacted]')
    .replace(/(api[_-]?key["'\s:=]+)[^\s"',]+/gi, '$1[redacted]');
}

/** A failure of one of the types above. Its message is redacted when made, since messages get logged. */
export class NanofluxError extends Error {
  override name = 'NanofluxError';
  constructor(
    readonly type: ErrorType,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(redact(message), opts.cause === undefined ? undefined : { cause: opts.cause });
  }
}

/** The failure types of a model call: what the provider (or the local model) answered, or did not. */
export type ModelErrorType = typeof ErrorType.RateLimited | typeof ErrorType.ModelRequestRejected | typeof ErrorType.ModelUnavailable | typeof ErrorType.ModelOutputInvalid | typeof ErrorType.ContextExceeded;

/** A model call failed; what the provider said comes along for the retry delay and the failure's details. */
export class ModelError extends NanofluxError {
  override name = 'ModelError';
  retryAfterMs?: number;
  status?: number;
  requestId?: string;
  /** The call outlasted its time (the model ref's timeoutSeconds): a smaller request may succeed where the same one would not (embedding batches halve). */
  timedOut?: boolean;
  /** What the provider billed for this attempt before it failed (answers that came back, then a bad one or an error); absent: nothing. */
  spent?: SpentTokens;
  constructor(
    override readonly type: ModelErrorType,
    message: string,
    opts: { retryAfterMs?: number; status?: number; requestId?: string; timedOut?: boolean; cause?: unknown } = {},
  ) {
    super(type, message, opts);
    if (opts.timedOut) this.timedOut = true;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.requestId !== undefined) this.requestId = opts.requestId;
  }
}

/** Tokens a failed attempt was billed for (the shape of the game's Usage, as the provider reported them). */
export interface SpentTokens {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens?: number;
  flex?: { promptTokens: number; completionTokens: number; cachedPromptTokens: number };
  batch?: { promptTokens: number; completionTokens: number; cachedPromptTokens: number };
}

/** A local file the run needs (a model, a dataset, a prompt template, the trainer's packages) is missing or unreadable. */
export class MissingResource extends NanofluxError {
  override name = 'MissingResource';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(ErrorType.MissingResource, message, opts);
  }
}

/** The environment variable a config names for an API key is not set. */
export class MissingApiKey extends NanofluxError {
  override name = 'MissingApiKey';
  constructor(envVar: string) {
    super(ErrorType.MissingApiKey, `environment variable ${envVar} is not set`);
  }
}

/** A fine-tune job failed at its provider, or the trainer exited with an error. */
export class FineTuneFailed extends NanofluxError {
  override name = 'FineTuneFailed';
  constructor(message: string) {
    super(ErrorType.FineTuneFailed, message);
  }
}

/** A run config an activity cannot carry out (the workflows refuse theirs as ApplicationFailures, workflows/validate.ts). */
export class InvalidRunConfig extends NanofluxError {
  override name = 'InvalidRunConfig';
  constructor(message: string) {
    super(ErrorType.InvalidRunConfig, message);
  }
}
