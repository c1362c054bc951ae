import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The worker's tracer provider (issue 17): installed only when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (spans batched and sent over OTLP/HTTP), or by a test with its own processor; otherwise the global
 * API stays a no-op and NanoFlux's spans (activities/kit/tracing.ts) cost nothing. The context manager
 * makes a model call's request and tool spans children of its role's span.
 */
export function installTracing(o: { processor?: SpanProcessor; exporter?: SpanExporter; serviceName?: string } = {}): { shutdown(): Promise<void> } {
  const processor = o.processor ?? new BatchSpanProcessor(o.exporter ?? new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': o.serviceName ?? 'nanoflux-worker' }), spanProcessors: [processor] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}
