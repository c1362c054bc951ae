import { describe, expect, it } from 'vitest';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import { currentTrace, episodeAttributes } from '../../activities/kit/tracing.js';
import { episodeHtml } from '../../activities/dataset/report-html-episode.js';
import { fromSandbox } from '../../workers/tracing.js';

describe('an episode trace (activities/kit/tracing.ts)', () => {
  it('is no trace at all where nothing is traced (no provider installed in this process)', () => {
    expect(currentTrace()).toBeUndefined();
  });

  it("keeps a workflow span's parent when the sandbox hands it over in the SDK 1.x shape, and adds only ids from the workflow's info", () => {
    const ctx = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, traceState: 'k=v' };
    const sandbox = { name: 'RunWorkflow:episodeWorkflow', spanContext: ctx, parentSpanId: 'c'.repeat(16), instrumentationLibrary: { name: '@temporalio/interceptor-workflow' }, attributes: { own: 1 } } as unknown as SerializableSpan;
    const info = { workflowId: 'nanoflux-r/math/ep-000001', runId: 'run-1', workflowType: 'episodeWorkflow', taskQueue: 'q', memo: { summary: 'a text' }, searchAttributes: { NanofluxDomain: ['math'] } };
    const span = fromSandbox(sandbox, info, resourceFromAttributes({}));
    expect(span.parentSpanContext).toMatchObject({ traceId: ctx.traceId, spanId: 'c'.repeat(16) });
    expect(span.instrumentationScope.name).toBe('@temporalio/interceptor-workflow');
    expect(span.spanContext()).toMatchObject({ traceId: ctx.traceId, spanId: ctx.spanId });
    expect(span.spanContext().traceState?.get('k')).toBe('v');
    expect(span.attributes).toEqual({ own: 1, temporalWorkflowId: info.workflowId, run_id: 'run-1', temporalWorkflowType: 'episodeWorkflow', temporalTaskQueue: 'q' });
    // A root span of the sandbox stays a root.
    expect(fromSandbox({ ...sandbox, parentSpanId: undefined }, info, resourceFromAttributes({})).parentSpanContext).toBeUndefined();
  });

  it('names the run, domain and episode of an episode workflow, and only the id of anything else', () => {
    expect(episodeAttributes('nanoflux-my-run/bio-med/ep-000012')).toEqual({ 'nanoflux.run': 'my-run', 'nanoflux.domain': 'bio-med', 'nanoflux.episode': 12 });
    expect(episodeAttributes('nanoflux-my-run')).toEqual({ 'nanoflux.workflow_id': 'nanoflux-my-run' });
  });

  it('is shown in report.html, linked when a tracing UI is named, its URL escaped', () => {
    const record = { workflowId: 'w', runId: 'r', domain: 'math', episode: 1, summary: { outcome: 'accepted', tokens: {} }, transcript: {} } as never;
    expect(episodeHtml(record, undefined, 'L4', { id: 'abc' })).toContain('<span class="trace">trace abc</span>');
    expect(episodeHtml(record, undefined, 'L4', { id: 'abc', url: 'http://j/trace/abc?x=1&y="2"' })).toContain('href="http://j/trace/abc?x=1&amp;y=&quot;2&quot;"');
  });
});
