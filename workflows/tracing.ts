import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { ContinueAsNew, proxySinks, type Sinks, type WorkflowInterceptors, workflowInfo } from '@temporalio/workflow';
import { finishedSpan, parseTraceparent, randomHex, type SandboxSpan, type SpanIds, TRACE_HEADER, traceparentOf } from './logic/trace-context.js';

/**
 * The workflows' spans (issue 17), bundled into the workflow code only when the worker traces
 * (workers/tracing.ts, tracedBundle): `RunWorkflow:<type>` for each execution, `StartActivity:<type>`
 * for each activity it schedules (until the activity's end), `StartChildWorkflow:<type>` for each
 * child (until it has started), and the W3C trace context in the `_tracer-data` header of each, as
 * Temporal's OpenTelemetry interceptors write and read it: the client's start, the activities'
 * attempts (the package's activity interceptor) and these link into one trace.
 *
 * Why not the package's own workflow interceptors: they run the OpenTelemetry SDK and an
 * AsyncLocalStorage context inside the sandbox, which measured ~20 ms of workflow-thread CPU per
 * episode (5% of throughput at 200 ms per model call, bench/README.md "Telemetry"). These make
 * plain objects, and never await: the workflow's own promises are returned as `next` made them, the
 * span's end hangs off them, so a traced and an untraced worker resume the code in the same order
 * and can replay each other's histories. Ids come from the sandbox's seeded Math.random and times
 * from workflow time, so a replay rebuilds the same spans; the sink is not called during replay.
 */

interface TraceSinks extends Sinks {
  exporter: { export(spans: SandboxSpan[]): void };
}

const { exporter } = proxySinks<TraceSinks>();

const newIds = (traceId: string): SpanIds => ({ traceId, spanId: randomHex(16, Math.random) });
const withContext = (headers: Headers, ids: SpanIds): Headers => ({ ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(traceparentOf(ids)) });
const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Exports one span when `settled` settles; returns `settled` itself, untouched. */
function endWith<T>(settled: Promise<T>, span: { name: string; ids: SpanIds; parentSpanId?: string; startMs: number }, isFine: (e: unknown) => boolean = () => false): Promise<T> {
  const end = (error?: string) => exporter.export([finishedSpan({ ...span, endMs: Date.now(), ...(error === undefined ? {} : { error }) })]);
  settled.then(() => end(), (e: unknown) => end(isFine(e) ? undefined : errorText(e)));
  return settled;
}

export const interceptors = (): WorkflowInterceptors => {
  // This execution's span: set by `execute`, the parent of every span its outbound calls make.
  let current: SpanIds | undefined;
  const child = (name: string) => {
    const ids = newIds(current?.traceId ?? randomHex(32, Math.random));
    return { name, ids, ...(current ? { parentSpanId: current.spanId } : {}), startMs: Date.now() };
  };
  // An activity's span, remote or local: until its end, its context in the activity's headers.
  const traced = <I extends { activityType: string; headers: Headers }>(input: I, next: (input: I) => Promise<unknown>): Promise<unknown> => {
    const span = child(`StartActivity:${input.activityType}`);
    return endWith(next({ ...input, headers: withContext(input.headers, span.ids) }), span);
  };
  return {
    inbound: [
      {
        execute(input, next) {
          const header = input.headers[TRACE_HEADER];
          const parent = header ? parseTraceparent(defaultPayloadConverter.fromPayload(header)) : undefined;
          current = newIds(parent?.traceId ?? randomHex(32, Math.random));
          const span = { name: `RunWorkflow:${workflowInfo().workflowType}`, ids: current, ...(parent ? { parentSpanId: parent.spanId } : {}), startMs: Date.now() };
          // A continue-as-new ends this execution as it should: not an error.
          return endWith(next(input), span, (e) => e instanceof ContinueAsNew);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: traced,
        scheduleLocalActivity: traced,
        startChildWorkflowExecution(input, next) {
          const span = child(`StartChildWorkflow:${input.workflowType}`);
          const started = next({ ...input, headers: withContext(input.headers, span.ids) });
          // Until the child has started (its own RunWorkflow span then carries on, as its child).
          endWith(started.then(([s]) => s), span);
          return started;
        },
        continueAsNew(input, next) {
          // The next execution's RunWorkflow goes under this one's: a long domain loop stays one line in the trace.
          return next(current ? { ...input, headers: withContext(input.headers, current) } : input);
        },
      },
    ],
  };
};
