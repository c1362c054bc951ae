/** Waits `ms`, or less when `signal` aborts: true when the time passed, false when it was cut short. Leaves no timer or listener behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve(false));
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve(true)), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
