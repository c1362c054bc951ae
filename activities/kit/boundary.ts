import { Context } from '@temporalio/activity';
import { translateErrors } from './errors.js';

const latest = new WeakMap<Context, unknown>();

/** Progress of a long activity (a training step, an evaluation batch): heartbeated now and with every periodic beat. */
export function reportProgress(details: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // called directly, outside an activity
  }
  latest.set(ctx, details);
  if (!ctx.info.isLocal) ctx.heartbeat(details);
}

/**
 * What the previous attempt of the current activity last heartbeated (undefined on a first attempt or
 * outside an activity): the cursor a long job resumes from. Untrusted shape: the caller validates it.
 */
export function previousProgress(): unknown {
  try {
    return Context.current().info.heartbeatDetails;
  } catch {
    return undefined;
  }
}

/** The current activity's cancellation signal (a never-aborted one outside an activity). */
export function cancellationSignal(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal;
  }
}

/** The namespace of the workflow that called the current activity (undefined outside an activity): where its links must point. */
export function activityNamespace(): string | undefined {
  try {
    return Context.current().info.workflowNamespace;
  } catch {
    return undefined;
  }
}

/** The current activity's identity, the same in every attempt (undefined outside an activity): what makes a retried request the same request. */
export function activityIdentity(): { workflowId: string; activityId: string; runId: string; activityType: string } | undefined {
  try {
    const info = Context.current().info;
    // A standalone activity (no workflow) has no workflow id; its activity id is its identity then.
    return { workflowId: info.workflowExecution?.workflowId ?? '', activityId: info.activityId, runId: info.workflowExecution?.runId ?? '', activityType: info.activityType };
  } catch {
    return undefined;
  }
}

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
    // The periodic heartbeat repeats the latest progress, so the web UI's pending-activity view keeps
    // showing it. Local activities (the store steps, the executed check) have no heartbeat: the SDK
    // would log a failure for each beat.
    const timer = ctx && !ctx.info.isLocal ? setInterval(() => ctx.heartbeat(latest.get(ctx)), HEARTBEAT_EVERY_MS) : undefined;
    try {
      return await fn(...a);
    } finally {
      if (timer) clearInterval(timer);
    }
  });
}
