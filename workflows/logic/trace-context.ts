/**
 * The W3C trace context as it crosses the Temporal boundary (issue 17): the header Temporal's
 * OpenTelemetry interceptors read and write (`_tracer-data`, a payload of `{ traceparent }`), and
 * the spans a workflow makes, as plain data. Pure, so the workflow sandbox needs no OpenTelemetry
 * SDK (workflows/tracing.ts says why).
 */

/** The header the client's and the activities' interceptors (`@temporalio/interceptors-opentelemetry`) use. */
export const TRACE_HEADER = '_tracer-data';

export interface SpanIds {
  traceId: string;
  spanId: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** `{ traceId, spanId }` of a `traceparent` (version 00), or none when it is absent, malformed or all zeros. */
export function parseTraceparent(carrier: unknown): SpanIds | undefined {
  const value = (carrier as { traceparent?: unknown } | null | undefined)?.traceparent;
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]! };
}

/** The carrier of a span's context: sampled, as every span NanoFlux makes is. */
export const traceparentOf = (s: SpanIds): { traceparent: string } => ({ traceparent: `00-${s.traceId}-${s.spanId}-01` });

/** `chars` hex digits from `random` (in a workflow: the sandbox's seeded Math.random, so a replay makes the same ids). */
export function randomHex(chars: number, random: () => number): string {
  let s = '';
  while (s.length < chars) s += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
  s = s.slice(0, chars);
  return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
}

/** OpenTelemetry's time: [seconds, nanoseconds]. */
export const hrTime = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** A finished span in the shape the workflow exporter sink carries (`SerializableSpan` of the interceptor package). */
export interface SandboxSpan {
  name: string;
  kind: number;
  spanContext: { traceId: string; spanId: string; traceFlags: number };
  parentSpanId?: string;
  startTime: [number, number];
  endTime: [number, number];
  duration: [number, number];
  status: { code: number; message?: string };
  attributes: Record<string, string | number | boolean>;
  links: never[];
  events: never[];
  ended: true;
  droppedAttributesCount: 0;
  droppedEventsCount: 0;
  droppedLinksCount: 0;
  instrumentationLibrary: { name: string };
}

/** OpenTelemetry's SpanKind and SpanStatusCode, as numbers (the API is not loaded in the sandbox). */
export const SPAN_KIND = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;
export const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** A span that ran from `startMs` to `endMs` (workflow time), under `parent` if any, ended with `error` if one was thrown. */
export function finishedSpan(o: { name: string; kind?: number; ids: SpanIds; parentSpanId?: string; startMs: number; endMs: number; error?: string; attributes?: Record<string, string | number | boolean> }): SandboxSpan {
  return {
    name: o.name,
    kind: o.kind ?? SPAN_KIND.internal,
    spanContext: { traceId: o.ids.traceId, spanId: o.ids.spanId, traceFlags: 1 },
    ...(o.parentSpanId ? { parentSpanId: o.parentSpanId } : {}),
    startTime: hrTime(o.startMs),
    endTime: hrTime(o.endMs),
    duration: hrTime(Math.max(0, o.endMs - o.startMs)),
    status: o.error === undefined ? { code: STATUS.ok } : { code: STATUS.error, message: o.error },
    attributes: o.attributes ?? {},
    links: [],
    events: [],
    ended: true,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    instrumentationLibrary: { name: 'nanoflux-workflow' },
  };
}
