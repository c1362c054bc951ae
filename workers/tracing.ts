import { context, createTraceState, propagation, type SpanContext, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor, type OpenTelemetrySinks, type SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { fileURLToPath } from 'node:url';

/** An installed tracer provider: where the workers' Temporal interceptors send their spans too. */
export interface Tracing {
  processor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

/**
 * The process's tracer provider (issue 17): installed only when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (spans batched and sent over OTLP/HTTP), or by a test with its own processor; otherwise the global
 * API stays a no-op, the workers get no interceptors and NanoFlux's spans (activities/kit/tracing.ts)
 * cost nothing. The context manager makes a model call's request and tool spans children of its
 * role's span; the W3C propagator carries a span across the Temporal boundary in headers.
 */
export function installTracing(o: { processor?: SpanProcessor; exporter?: SpanExporter; serviceName?: string } = {}): Tracing {
  const processor = o.processor ?? new BatchSpanProcessor(o.exporter ?? new OTLPTraceExporter());
  const resource = resourceFromAttributes({ 'service.name': o.serviceName ?? 'nanoflux-worker' });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return { processor, resource, shutdown: () => provider.shutdown() };
}

/** A client's interceptors: traced, its start (signals, queries, updates) opens the span the workflow's join. */
export const clientTracingInterceptors = (tracing: Tracing | undefined) => (tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {});

/** The workflows' own interceptors (workflows/tracing.ts: spans of each workflow, its activities and children, made in the sandbox): bundled into the workflow code when tracing. */
export const WORKFLOW_TRACING_MODULE = fileURLToPath(new URL('../workflows/tracing.ts', import.meta.url));

/**
 * A span made in the workflow sandbox, as its sink hands it over (workflows/tracing.ts makes them in
 * the interceptor package's `SerializableSpan` shape, OpenTelemetry SDK 1.x's: `parentSpanId`,
 * `instrumentationLibrary`, trace state as a string). The processor here is SDK 2.x, whose exporters
 * read `parentSpanContext` and `instrumentationScope`. Only ids and names of the workflow's info are
 * added (the package's own sink would copy all of it — memo, search attributes — into the attributes).
 */
export function fromSandbox(s: SerializableSpan, info: Pick<WorkflowInfo, 'workflowId' | 'runId' | 'workflowType' | 'taskQueue'>, resource: Resource): ReadableSpan {
  const { traceState, ...ids } = s.spanContext;
  const own: SpanContext = { ...ids, ...(traceState ? { traceState: createTraceState(traceState) } : {}) };
  const { spanContext: _, parentSpanId, instrumentationLibrary, ...rest } = s;
  return {
    ...rest,
    spanContext: () => own,
    ...(parentSpanId ? { parentSpanContext: { traceId: own.traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false } } : {}),
    instrumentationScope: instrumentationLibrary,
    resource,
    attributes: { ...s.attributes, temporalWorkflowId: info.workflowId, run_id: info.runId, temporalWorkflowType: info.workflowType, temporalTaskQueue: info.taskQueue },
  };
}

/** What a worker needs to trace: Temporal's OpenTelemetry interceptor on each activity attempt, and the sink the workflows' spans come out of the sandbox by. */
export function workerTracingOptions(t: Tracing): Pick<WorkerOptions, 'interceptors'> & { sinks: InjectedSinks<OpenTelemetrySinks> } {
  return {
    interceptors: { activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })] },
    // Not called while a history replays (a sink's default): a replayed workflow's spans were sent when it first ran.
    sinks: { exporter: { export: { fn: (info, spans) => spans.forEach((s) => t.processor.onEnd(fromSandbox(s, info, t.resource))) } } },
  };
}
