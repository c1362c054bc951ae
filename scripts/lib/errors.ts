/**
 * The command line's two kinds of expected failure, and the exit codes scripts can trust:
 *   0  ok
 *   1  operational failure: server unreachable, run not found, workflow failed, scoring failed
 *   2  usage error or invalid config
 * Both messages are printed as `nanoflux: <what went wrong>; <what to do>`, without a stack trace.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A user mistake: bad arguments, a bad config file, a value the workflow's validator refused. Exit 2. */
export class UserError extends Error {
  readonly exitCode: number = EXIT.usage;
}

/** Something outside the user's arguments went wrong: no server, no such run, a failed workflow. Exit 1. */
export class OperationalError extends Error {
  readonly exitCode: number = EXIT.failure;
}

/** No run of that id on the server (never started, or its history is gone with an in-memory dev server). */
export class RunNotFound extends OperationalError {}

/** Joins what went wrong and what to do into the one-line form. */
export const hinted = (what: string, todo: string): string => `${what}; ${todo}`;

/** Races a promise against a deadline (a query or update nobody answers would otherwise wait for minutes). */
export async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
