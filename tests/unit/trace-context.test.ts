import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { finishedSpan, hrTime, parseTraceparent, randomHex, STATUS, TRACE_HEADER, traceparentOf } from '../../workflows/logic/trace-context.js';
import { mulberry32 } from '../support/prng.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('the trace context across the Temporal boundary (workflows/logic/trace-context.ts)', () => {
  it('reads a W3C traceparent, and nothing from one that is absent, malformed, another version or all zeros', () => {
    expect(parseTraceparent({ traceparent: `00-${T}-${S}-01` })).toEqual({ traceId: T, spanId: S });
    expect(parseTraceparent({ traceparent: ` 00-${T.toUpperCase()}-${S}-00 ` })).toEqual({ traceId: T, spanId: S });
    for (const bad of [undefined, null, {}, { traceparent: 7 }, { traceparent: `01-${T}-${S}-01` }, { traceparent: `00-${T}-${S}` }, { traceparent: `00-${'0'.repeat(32)}-${S}-01` }, { traceparent: `00-${T}-${'0'.repeat(16)}-01` }, { traceparent: `00-${T}x-${S}-01` }]) {
      expect(parseTraceparent(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('writes what it reads, in the header payload the OpenTelemetry interceptors of client and activities use', () => {
    const carrier = traceparentOf({ traceId: T, spanId: S });
    expect(carrier).toEqual({ traceparent: `00-${T}-${S}-01` });
    const payload = defaultPayloadConverter.toPayload(carrier);
    expect(parseTraceparent(defaultPayloadConverter.fromPayload(payload))).toEqual({ traceId: T, spanId: S });
    expect(TRACE_HEADER).toBe('_tracer-data');
  });

  it('makes ids of the length asked, the same from the same seed, never all zeros', () => {
    const a = randomHex(32, mulberry32(7));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(randomHex(32, mulberry32(7))).toBe(a);
    expect(randomHex(16, mulberry32(8))).toMatch(/^[0-9a-f]{16}$/);
    expect(randomHex(16, () => 0)).toBe(`${'0'.repeat(15)}1`);
  });

  it('records a finished span with its parent, times in OpenTelemetry form, and an error only when there was one', () => {
    expect(hrTime(1_700_000_000_123)).toEqual([1_700_000_000, 123_000_000]);
    const ok = finishedSpan({ name: 'StartActivity:judge', ids: { traceId: T, spanId: S }, parentSpanId: 'a'.repeat(16), startMs: 1000, endMs: 3500 });
    expect(ok).toMatchObject({ name: 'StartActivity:judge', parentSpanId: 'a'.repeat(16), spanContext: { traceId: T, spanId: S, traceFlags: 1 }, startTime: [1, 0], endTime: [3, 500_000_000], duration: [2, 500_000_000], status: { code: STATUS.ok }, ended: true });
    const failed = finishedSpan({ name: 'RunWorkflow:episodeWorkflow', ids: { traceId: T, spanId: S }, startMs: 0, endMs: 0, error: 'ApplicationFailure: boom' });
    expect(failed.status).toEqual({ code: STATUS.error, message: 'ApplicationFailure: boom' });
    expect(failed).not.toHaveProperty('parentSpanId');
  });
});
