import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { fromOpenAIError, parseRetryAfter, toApplicationFailure, translateErrors } from '../../activities/kit/errors.js';
import { ErrorType, MissingResource, ModelError, NanofluxError } from '../../common/errors.js';

const apiError = (status: number, headers: Record<string, string> = {}, message = 'boom') =>
  OpenAI.APIError.generate(status, { message }, undefined, new Headers({ 'x-request-id': 'req_123', ...headers }));

describe('fromOpenAIError', () => {
  it.each([
    [400, ErrorType.ModelRequestRejected],
    [401, ErrorType.ModelRequestRejected],
    [403, ErrorType.ModelRequestRejected],
    [404, ErrorType.ModelRequestRejected],
    [422, ErrorType.ModelRequestRejected],
    [429, ErrorType.RateLimited],
    [500, ErrorType.ModelUnavailable],
    [502, ErrorType.ModelUnavailable],
    [503, ErrorType.ModelUnavailable],
    [504, ErrorType.ModelUnavailable],
  ])('HTTP %i → %s', (status, type) => {
    const e = fromOpenAIError(apiError(status));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.type).toBe(type);
    expect(e.status).toBe(status);
    expect(e.requestId).toBe('req_123');
  });

  it('429 reads retry-after seconds', () => {
    expect(fromOpenAIError(apiError(429, { 'retry-after': '7' })).retryAfterMs).toBe(7000);
  });

  it('429 prefers retry-after-ms', () => {
    expect(fromOpenAIError(apiError(429, { 'retry-after-ms': '1500', 'retry-after': '7' })).retryAfterMs).toBe(1500);
  });

  it('429 reads retry-after as an HTTP date', () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    const date = new Date(now + 30_000).toUTCString();
    expect(parseRetryAfter(new Headers({ 'retry-after': date }), now)).toBe(30_000);
    const e = fromOpenAIError(apiError(429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    expect(e.retryAfterMs).toBeGreaterThan(55_000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('a past date or garbage gives 0 or nothing', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }))).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(fromOpenAIError(apiError(429)).retryAfterMs).toBeUndefined();
  });

  it('503 with Retry-After is rate limiting; without it, unavailability', () => {
    const e = fromOpenAIError(apiError(503, { 'retry-after': '2' }));
    expect(e.type).toBe(ErrorType.RateLimited);
    expect(e.retryAfterMs).toBe(2000);
    expect(fromOpenAIError(apiError(503)).type).toBe(ErrorType.ModelUnavailable);
  });

  it('connection errors and timeouts → ModelUnavailable', () => {
    expect(fromOpenAIError(new OpenAI.APIConnectionError({ message: 'ECONNREFUSED' })).type).toBe(ErrorType.ModelUnavailable);
    expect(fromOpenAIError(new OpenAI.APIConnectionTimeoutError()).type).toBe(ErrorType.ModelUnavailable);
    expect(fromOpenAIError(new OpenAI.APIConnectionTimeoutError()).timedOut).toBe(true);
    expect(fromOpenAIError(new TypeError('fetch failed')).type).toBe(ErrorType.ModelUnavailable);
  });

  it('a ModelError passes through unchanged', () => {
    const e = new ModelError(ErrorType.ModelOutputInvalid, 'bad');
    expect(fromOpenAIError(e)).toBe(e);
  });
});

describe('toApplicationFailure', () => {
  it('RateLimited: retryable with nextRetryDelay and details', () => {
    const f = toApplicationFailure(fromOpenAIError(apiError(429, { 'retry-after': '3' })));
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe('RateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(3000);
    expect(f.details).toEqual([{ status: 429, requestId: 'req_123' }]);
  });

  it.each([
    [ErrorType.ModelRequestRejected, true],
    [ErrorType.MissingApiKey, true],
    [ErrorType.MissingResource, true],
    [ErrorType.InvalidRunConfig, true],
    [ErrorType.ModelUnavailable, false],
    [ErrorType.ModelOutputInvalid, false],
  ])('%s nonRetryable=%s', (type, nonRetryable) => {
    const f = toApplicationFailure(new NanofluxError(type, 'x'));
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(nonRetryable);
    expect(f.nextRetryDelay).toBeUndefined();
  });

  it('a missing file is its own class, not a model error, and crosses as MissingResource', () => {
    const e = new MissingResource('local model file not found: /nope.gguf');
    expect(e).not.toBeInstanceOf(ModelError);
    const f = toApplicationFailure(e);
    expect(f).toMatchObject({ type: ErrorType.MissingResource, nonRetryable: true, message: 'local model file not found: /nope.gguf' });
    expect(f.details).toEqual([{ status: null, requestId: null }]);
  });

  it('ApplicationFailure passes through; anything else is a retryable InternalError', () => {
    const af = ApplicationFailure.nonRetryable('stop', 'InvalidRunConfig');
    expect(toApplicationFailure(af)).toBe(af);
    const f = toApplicationFailure(new Error('oops'));
    expect(f.type).toBe('InternalError');
    expect(f.nonRetryable).toBe(false);
    expect(toApplicationFailure('a string').message).toBe('a string');
  });

  it('never leaks keys or Authorization headers', () => {
    // Built at run time so the repository holds nothing that scans as a key.
    const secret = ['sk', 'proj', 'ABCDEF1234567890secret'].join('-');
    const err = apiError(401, {}, `Incorrect API key provided: ${secret}. Authorization: Bearer ${secret}`);
    const f = toApplicationFailure(fromOpenAIError(err));
    const everything = JSON.stringify({ m: f.message, d: f.details, s: f.stack });
    expect(everything).not.toContain('ABCDEF1234567890');
    expect(f.nonRetryable).toBe(true);
    expect(toApplicationFailure(new Error(`api_key=${secret}`)).message).not.toContain('ABCDEF');
  });

  it('translateErrors wraps activity failures', async () => {
    const act = translateErrors(async (n: number) => {
      if (n < 0) throw fromOpenAIError(apiError(400));
      return n * 2;
    });
    await expect(act(2)).resolves.toBe(4);
    await expect(act(-1)).rejects.toMatchObject({ type: 'ModelRequestRejected', nonRetryable: true });
  });
});
