import { type Attributes, context, isSpanContextValid, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { activityIdentity } from './boundary.js';

/**
 * NanoFlux's spans (issue 17, item 2), under the span Temporal's activity interceptor opened for the
 * current attempt (workers/tracing.ts), so a model call's spans hang in the trace that runs from the
 * client's start through the run's, the domain's and the episode's workflows. The spans go through the
 * global OpenTelemetry API: with no tracer provider installed (OTEL_EXPORTER_OTLP_ENDPOINT unset) they
 * are no-ops. No key is ever an attribute, and no prompt or answer unless the worker is told to
 * (chatContentAttributes): names, models, counts and ids only.
 */

const tracer = () => trace.getTracer('nanoflux');

const EPISODE_ID = /^nanoflux-(.+)\/([^/]+)\/ep-(\d+)$/;

/** The run, domain and episode a workflow id names (episode workflows: `nanoflux-<run>/<domain>/ep-<n>`). */
export function episodeAttributes(workflowId: string): Attributes {
  const m = EPISODE_ID.exec(workflowId);
  return m ? { 'nanoflux.run': m[1]!, 'nanoflux.domain': m[2]!, 'nanoflux.episode': Number(m[3]) } : { 'nanoflux.workflow_id': workflowId };
}

/** Where the current activity's work is in its trace (ids a row keeps to lead to it); none when nothing is traced. */
export function currentTrace(): { traceId: string; spanId: string } | undefined {
  const c = trace.getActiveSpan()?.spanContext();
  return c && isSpanContextValid(c) ? { traceId: c.traceId, spanId: c.spanId } : undefined;
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

/** A span at the top of the current activity, named with its episode: a role's model call, a store step. */
export function inEpisodeSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const id = activityIdentity();
  return inSpanOf(context.active(), name, SpanKind.INTERNAL, { ...(id ? episodeAttributes(id.workflowId) : {}), ...attributes }, fn);
}

/** A span under the active one: one request to a model endpoint (CLIENT), one tool call. */
export function inChildSpan<T>(name: string, kind: 'client' | 'internal', attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inSpanOf(context.active(), name, kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes, fn);
}

/** The `gen_ai.system` of a model ref: OpenAI's API (or one compatible with it), or the embedded model. */
export const genAiSystem = (provider?: string): string => (provider === 'local' ? 'nanoflux.local' : 'openai');

/** Tokens in and out, as the gen_ai semantic conventions name them. */
export const usageAttributes = (input: number, output: number): Attributes => ({ 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output });

/** One request to a chat model (an endpoint's or the embedded one's): a CLIENT span under the role's. */
export function inChatSpan<T>(system: string, model: string, extra: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inChildSpan(`chat ${model}`, 'client', { 'gen_ai.operation.name': 'chat', 'gen_ai.system': system, 'gen_ai.request.model': model, ...extra }, fn);
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

/**
 * The texts of one request and its answer, for OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
 * only: prompts, questions and answers leave the worker in spans, which a team may not want in its
 * tracing backend (or may want above all while debugging a prompt). Keys are never in messages.
 */
export function chatContentAttributes(messages: unknown[], resp: { choices?: { message?: unknown }[] }): Attributes {
  return { 'gen_ai.input.messages': JSON.stringify(messages), 'gen_ai.output.messages': JSON.stringify((resp.choices ?? []).map((c) => c.message)) };
}
