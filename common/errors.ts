/**
 * Failure types that cross the activity/workflow boundary. Temporal matches retry policies on these
 * strings (`nonRetryableErrorTypes`), so they are stable names, never class names.
 */
export const ErrorType = {
  /** The run config failed validation; nothing runs. */
  InvalidRunConfig: 'InvalidRunConfig',
  /** The provider said slow down (HTTP 429, or 503 with Retry-After); retried after the delay it gave. */
  RateLimited: 'RateLimited',
  /** The provider refused the request as such (400/401/403/404/422); retrying cannot help. */
  ModelRequestRejected: 'ModelRequestRejected',
  /** The provider failed transiently (5xx, connection reset, timeout); retried with backoff. */
  ModelUnavailable: 'ModelUnavailable',
  /** The model answered, but not in the required schema; retried a bounded number of times. */
  ModelOutputInvalid: 'ModelOutputInvalid',
  /** A config names an environment variable for an API key that is not set. */
  MissingApiKey: 'MissingApiKey',
  /** A local file (model, dataset) is missing or unreadable. */
  MissingResource: 'MissingResource',
  /** A fine-tune job ended as failed or cancelled at the provider, or the trainer exited with an error. */
  FineTuneFailed: 'FineTuneFailed',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Errors a worker can never fix by retrying. */
export const NON_RETRYABLE: ErrorType[] = [
  ErrorType.InvalidRunConfig,
  ErrorType.ModelRequestRejected,
  ErrorType.MissingApiKey,
  ErrorType.MissingResource,
  // A retry would start a second job on the same data and fail the same way; the episode-level
  // analogue is ModelOutputInvalid. A trainer killed by a signal is not this (it is retried).
  ErrorType.FineTuneFailed,
];
