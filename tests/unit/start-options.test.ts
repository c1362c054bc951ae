import { describe, expect, it } from 'vitest';
import { SA } from '../../common/search-attributes.js';
import { startOptions } from '../../workflows/logic/start-options.js';

const attrs = (pairs: [keyof typeof SA, string][]) => pairs.map(([k, value]) => ({ key: SA[k], value }));

describe('startOptions', () => {
  // The ids and attributes the starts wrote before they shared one helper: the replay histories hold them.
  it('gives each kind its id and first search attributes, in the order the histories hold', () => {
    expect(startOptions({ kind: 'run', runId: 'r' })).toEqual({
      workflowId: 'nanoflux-r',
      typedSearchAttributes: attrs([['runId', 'r'], ['kind', 'run'], ['stage', 'generating']]),
    });
    expect(startOptions({ kind: 'domain', runId: 'r', domain: 'math' })).toEqual({
      workflowId: 'nanoflux-r/math',
      typedSearchAttributes: attrs([['runId', 'r'], ['domain', 'math'], ['kind', 'domain'], ['stage', 'generating']]),
    });
    expect(startOptions({ kind: 'episode', runId: 'r', domain: 'math', episode: 7 })).toEqual({
      workflowId: 'nanoflux-r/math/ep-000007',
      typedSearchAttributes: attrs([['runId', 'r'], ['domain', 'math'], ['kind', 'episode'], ['stage', 'episode']]),
    });
    expect(startOptions({ kind: 'stages', runId: 'r', domain: 'math' })).toEqual({
      workflowId: 'nanoflux-r/math/stages',
      typedSearchAttributes: attrs([['runId', 'r'], ['domain', 'math'], ['kind', 'stages'], ['stage', 'training']]),
    });
    expect(startOptions({ kind: 'variant', runId: 'r', domain: 'math', variant: 'tuned' })).toEqual({
      workflowId: 'nanoflux-r/math/variant-tuned',
      typedSearchAttributes: attrs([['runId', 'r'], ['domain', 'math'], ['kind', 'variant'], ['stage', 'starting']]),
    });
    expect(startOptions({ kind: 'ablation', runId: 'r' })).toEqual({
      workflowId: 'nanoflux-r/ablation',
      typedSearchAttributes: attrs([['runId', 'r'], ['kind', 'ablation']]),
    });
  });
});
