import { Context } from '@temporalio/activity';
import { translateErrors } from './errors.js';

/** Heartbeat period: well inside the shortest heartbeatTimeout in workflows/options.ts. */
const HEARTBEAT_EVERY_MS = 3000;

/**
 * The activity boundary: errors become typed ApplicationFailures (one module), and a periodic
 * heartbeat runs for the whole call, so a worker that dies mid-call (SIGKILL, lost host) is noticed
 * within the heartbeat timeout instead of the much longer start-to-close timeout.
 */
export function activity<A extends unknown[], R>(fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return translateErrors(async (...a: A) => {
    let ctx: Context | undefined;
    try {
      ctx = Context.current();
    } catch {
      // Called directly (not as an activity): nobody to heartbeat to.
    }
    const timer = ctx ? setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS) : undefined;
    try {
      return await fn(...a);
    } finally {
      if (timer) clearInterval(timer);
    }
  });
}
