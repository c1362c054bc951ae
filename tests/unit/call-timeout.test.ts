import { describe, expect, it } from 'vitest';
import { withCallTimeout } from '../../activities/kit/call-timeout.js';

describe('withCallTimeout', () => {
  it('aborts a call that outlasts its time with the TimeoutError AbortSignal.timeout gives', async () => {
    const err = await withCallTimeout(20, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('TimeoutError');
  });

  it('releases the signal once the call settles: it never fires afterwards', async () => {
    let seen: AbortSignal | undefined;
    await expect(withCallTimeout(30, async (signal) => ((seen = signal), 'answer'))).resolves.toBe('answer');
    await new Promise((r) => setTimeout(r, 60));
    expect(seen!.aborted).toBe(false);
  });

  it('passes a failed call through unchanged and still releases the timer', async () => {
    let seen: AbortSignal | undefined;
    const boom = new Error('refused');
    await expect(withCallTimeout(30, async (signal) => {
      seen = signal;
      throw boom;
    })).rejects.toBe(boom);
    await new Promise((r) => setTimeout(r, 60));
    expect(seen!.aborted).toBe(false);
  });
});
