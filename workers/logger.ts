import { ApplicationFailure, type LogLevel, type LogMetadata, type Logger } from '@temporalio/common';
import { LogTimestamp, Runtime } from '@temporalio/worker';
import { isActivityOnlyQueue } from '../common/queues.js';

/**
 * The worker's log: one line per record, `<time> <LEVEL> <message> key=value …`, for the SDK's own
 * records and, forwarded, for its Rust core's (which otherwise print coloured multi-line text of
 * their own). An error is `type: message` on that line; its stack follows only under NANOFLUX_DEBUG=1,
 * so a failing activity is one WARN line a reader can grep, not a screen of frames per attempt.
 */

const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const severity = (l: LogLevel): number => LEVELS.indexOf(l);

/** The SDK's warning for a worker that serves activities only; by design for these queues (workers/create-workers.ts). */
export const NO_WORKFLOWS_WARNING = 'No workflows registered, not polling for workflow tasks';

/** Shown first, in this order: what a reader looks for in an activity failure. */
const FIRST_KEYS = ['activityType', 'activityId', 'attempt', 'error', 'workflowId', 'taskQueue'];
/**
 * Left out: ids nobody greps for (task tokens, run ids), the namespace (one per worker), and the
 * SDK's bookkeeping (the component is the `core:` prefix; the Rust target and spans say nothing to an operator).
 */
const HIDDEN_KEYS = new Set(['sdkComponent', 'taskToken', 'namespace', 'workflowRunId', 'activityRunId', 'spanContexts', 'target', 'workflowType']);
/** A value (the worker's options at DEBUG, a Rust core field holding a whole failure) is cut here, so the record stays one readable line; NANOFLUX_DEBUG=1 shows it whole. */
const MAX_VALUE_CHARS = 300;

const COLOURS: Partial<Record<LogLevel, string>> = { TRACE: '\x1b[2m', DEBUG: '\x1b[2m', WARN: '\x1b[33m', ERROR: '\x1b[31m' };

export interface LineLoggerOptions {
  /** The lowest level written. */
  level: LogLevel;
  /** NANOFLUX_DEBUG=1: an error's stack follows its line. */
  debug?: boolean;
  /** Colour the level; default: only when stderr is a terminal. */
  colour?: boolean;
  /** Where each record goes (with its newline); default stderr. */
  write?: (text: string) => void;
  /** Queues whose workers have no workflows on purpose: the SDK's warning about it is DEBUG there (default: the llm, train and train-host queues of any prefix). */
  queuesWithoutWorkflows?: (queue: string) => boolean;
}

/** One line of text: newlines (a multi-line error message) become ` ⏎ `, so one record never spans lines. */
const oneLine = (s: string): string => s.replace(/\s*\r?\n\s*/g, ' ⏎ ').trim();

/** `type: message`, the ApplicationFailure's type (MissingApiKey…) or the error's name, and its causes after `←`. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); e = e instanceof Error ? e.cause : undefined) {
    seen.add(e);
    if (!(e instanceof Error)) {
      parts.push(oneLine(String(e)));
      break;
    }
    const type = e instanceof ApplicationFailure ? (e.type ?? e.name) : e.name;
    const retry = e instanceof ApplicationFailure && e.nonRetryable ? ' (non-retryable)' : '';
    parts.push(`${type}: ${oneLine(e.message)}${retry}`);
  }
  return parts.join(' ← ');
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

function renderValue(v: unknown, whole: boolean): string | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Error) return JSON.stringify(describeError(v));
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null) return String(v);
  let text: string;
  if (typeof v === 'string') text = oneLine(v);
  else {
    try {
      text = JSON.stringify(v, bigintSafe) ?? String(v);
    } catch {
      text = String(v);
    }
  }
  if (!whole && text.length > MAX_VALUE_CHARS) text = `${text.slice(0, MAX_VALUE_CHARS - 1)}…`;
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** The errors of a record whose stack a NANOFLUX_DEBUG=1 reader gets (the first error and its causes). */
function stacks(meta: LogMetadata): string[] {
  const out: string[] = [];
  for (const v of Object.values(meta)) {
    for (let e: unknown = v; e instanceof Error && !out.includes(e.stack ?? ''); e = e.cause) if (e.stack) out.push(e.stack);
  }
  return out;
}

/** A record as its line (and, with `debug`, the stacks of its errors indented below it). */
export function formatRecord(level: LogLevel, message: string, meta: LogMetadata = {}, o: { debug?: boolean; colour?: boolean; time?: Date } = {}): string {
  const nanos = meta[LogTimestamp] as bigint | undefined;
  const time = o.time ?? (nanos !== undefined ? new Date(Number(nanos / 1_000_000n)) : new Date());
  const keys = [...FIRST_KEYS.filter((k) => k in meta), ...Object.keys(meta).filter((k) => !FIRST_KEYS.includes(k))];
  const fields = keys
    .filter((k) => !HIDDEN_KEYS.has(k) && !(k === 'isLocal' && meta[k] === false))
    .map((k) => [k, renderValue(meta[k], o.debug === true)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const from = meta.sdkComponent === 'core' ? 'core: ' : '';
  const shownLevel = o.colour && COLOURS[level] ? `${COLOURS[level]}${level}\x1b[0m` : level;
  const line = [time.toISOString(), shownLevel, `${from}${oneLine(message)}`, ...fields].join(' ');
  if (!o.debug) return line;
  return [line, ...stacks(meta).map((s) => s.replace(/^/gm, '    '))].join('\n');
}

/** The project's Temporal logger (Runtime.install's `logger`): one line per record, see formatRecord. */
export class LineLogger implements Logger {
  private readonly min: number;
  private readonly write: (text: string) => void;
  private readonly quietQueue: (queue: string) => boolean;

  constructor(private readonly o: LineLoggerOptions) {
    this.min = severity(o.level);
    this.write = o.write ?? ((text) => void process.stderr.write(text));
    this.quietQueue = o.queuesWithoutWorkflows ?? isActivityOnlyQueue;
  }

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const queue = meta.taskQueue as unknown;
    const shown = message === NO_WORKFLOWS_WARNING && typeof queue === 'string' && this.quietQueue(queue) ? 'DEBUG' : level;
    if (severity(shown) < this.min) return;
    const colour = this.o.colour ?? process.stderr.isTTY === true;
    this.write(`${formatRecord(shown, message, meta, { debug: this.o.debug ?? false, colour })}\n`);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Installs the Temporal Runtime with the LineLogger, the Rust core's records forwarded to it (at the
 * same level; the core's third-party crates at ERROR only: their WARNs are transport chatter).
 * Once per process, before any connection or worker.
 */
export function installLogging(o: LineLoggerOptions & { metricsAddr?: string }): LineLogger {
  const logger = new LineLogger(o);
  // Metrics (NANOFLUX_METRICS_ADDR): the SDK's Prometheus exporter serves its own and NanoFlux's
  // (activities/kit/metrics.ts, workflows/metrics.ts) at /metrics; unset, the meters are no-ops.
  const metrics = o.metricsAddr ? { metrics: { prometheus: { bindAddress: o.metricsAddr } } } : {};
  Runtime.install({ logger, telemetryOptions: { logging: { filter: { core: o.level, other: 'ERROR' }, forward: {} }, ...metrics } });
  return logger;
}
