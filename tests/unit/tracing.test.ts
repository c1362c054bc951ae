import { describe, expect, it } from 'vitest';
import { episodeAttributes, traceIdOf } from '../../activities/kit/tracing.js';
import { episodeHtml } from '../../activities/dataset/report-html-episode.js';

describe('an episode trace (activities/kit/tracing.ts)', () => {
  it('has one id per episode workflow, the same wherever it is asked, a valid W3C trace id', () => {
    const id = traceIdOf('nanoflux-demo/math/ep-000003');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).not.toBe('0'.repeat(32));
    expect(traceIdOf('nanoflux-demo/math/ep-000003')).toBe(id);
    expect(traceIdOf('nanoflux-demo/math/ep-000004')).not.toBe(id);
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
