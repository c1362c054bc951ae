/**
 * Runs one HTTP call with a signal that aborts it after `ms`, released the moment the call settles.
 * Why not `AbortSignal.timeout(ms)`: its timer keeps the signal alive for the full `ms`, and with it
 * the client's abort listener, the request and the activity that made it — two minutes of every call
 * after its answer came. At 70 calls a second that held ~25 KB per episode (bench/README.md, worker
 * memory). The abort reason is the same `TimeoutError` DOMException `AbortSignal.timeout` gives.
 */
export async function withCallTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`The operation was aborted due to timeout`, 'TimeoutError')), ms);
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
