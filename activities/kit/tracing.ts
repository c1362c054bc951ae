import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import { activityIdentity } from './boundary.js';

/**
 * NanoFlux's spans (issue 17, item 2): one trace per episode, whose id is derived from the episode's
 * workflow id, so every activity of the episode — on any worker, in any attempt — puts its spans in
 * the same trace without a context passed through the workflow, and the accepted example can name its
 * trace (`provenance.traceId`) by the same rule. The spans go through the global OpenTelemetry API:
 * with no tracer provider installed (OTEL_EXPORTER_OTLP_ENDPOINT unset, workers/tracing.ts) they are
 * no-ops. No prompt, answer or key is ever an attribute: names, models, counts and ids only.
 */

const tracer = () => trace.getTracer('nanoflux');
const hex = (s: string, chars: number) => createHash('sha256').update(s).digest('hex').slice(0, chars);

/** The W3C trace id of an episode (32 hex digits). */
export const traceIdOf = (episodeWorkflowId: string): string => hex(`nanoflux-trace:${episodeWorkflowId}`, 32);

const EPISODE_ID = /^nanoflux-(.+)\/([^/]+)\/ep-(\d+)$/;

/** The run, domain and episode a workflow id names (episode workflows: `nanoflux-<run>/<domain>/ep-<n>`). */
export function episodeAttributes(workflowId: string): Attributes {
  const m = EPISODE_ID.exec(workflowId);
  return m ? { 'nanoflux.run': m[1]!, 'nanoflux.domain': m[2]!, 'nanoflux.episode': Number(m[3]) } : { 'nanoflux.workflow_id': workflowId };
}

/** The context of the current activity's episode trace (its root span stands for the episode workflow). */
function episodeContext() {
  const id = activityIdentity();
  if (!id?.workflowId || !EPISODE_ID.test(id.workflowId)) return context.active();
  return trace.setSpanContext(context.active(), { traceId: traceIdOf(id.workflowId), spanId: hex(`nanoflux-span:${id.workflowId}`, 16), traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

async function inSpanOf<T>(parent: ReturnType<typeof context.active>, name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.name : 'error' });
      span.setAttribute('error.type', e instanceof Error ? ((e as { type?: string }).type ?? e.name) : 'error');
      throw e;
    } finally {
      span.end();
    }
  });
}

/** A span at the top of the current activity, in its episode's trace: a role's model call, a store step. */
export function inEpisodeSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const id = activityIdentity();
  return inSpanOf(episodeContext(), name, SpanKind.INTERNAL, { ...(id ? episodeAttributes(id.workflowId) : {}), ...attributes }, fn);
}

/** A span under the active one: one request to a model endpoint (CLIENT), one tool call. */
export function inChildSpan<T>(name: string, kind: 'client' | 'internal', attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inSpanOf(context.active(), name, kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes, fn);
}

/** Usage of one chat response as the gen_ai semantic conventions name it. */
export function chatResponseAttributes(resp: { model?: string; service_tier?: string | null; usage?: { prompt_tokens?: number; completion_tokens?: number } | null }): Attributes {
  return {
    ...(resp.model ? { 'gen_ai.response.model': resp.model } : {}),
    ...(resp.usage?.prompt_tokens !== undefined ? { 'gen_ai.usage.input_tokens': resp.usage.prompt_tokens } : {}),
    ...(resp.usage?.completion_tokens !== undefined ? { 'gen_ai.usage.output_tokens': resp.usage.completion_tokens } : {}),
    ...(resp.service_tier ? { 'gen_ai.openai.response.service_tier': resp.service_tier } : {}),
  };
}
