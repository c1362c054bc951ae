import { expect } from 'vitest';
import { NanofluxError, type ModelError } from '../../common/errors.js';

/** A typed error, with what a provider said when it is a ModelError. */
export type Failure = NanofluxError & Partial<Pick<ModelError, 'retryAfterMs' | 'status' | 'requestId'>>;

/** The NanofluxError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NanofluxError);
    return e as Failure;
  }
  throw new Error('expected a NanofluxError');
}
