import type { SearchAttributePair } from '@temporalio/common';
import { SA } from '../../common/search-attributes.js';
import { ablationWorkflowId, domainWorkflowId, episodeWorkflowId, runWorkflowId, stagesWorkflowId, variantWorkflowId } from './ids.js';

/** A NanoFlux workflow by its kind and its place in a run: what its id and search attributes are made of. */
export type NanofluxWorkflow =
  | { kind: 'run'; runId: string }
  | { kind: 'ablation'; runId: string }
  | { kind: 'domain'; runId: string; domain: string }
  | { kind: 'stages'; runId: string; domain: string }
  | { kind: 'episode'; runId: string; domain: string; episode: number }
  | { kind: 'variant'; runId: string; domain: string; variant: string };

/**
 * The stage each kind shows from its start, before it upserts its own. The ablation, started by
 * `nanoflux ablate` (scripts/commands/ablate.ts), shows none until it runs: its histories hold none.
 */
const FIRST_STAGE: Record<NanofluxWorkflow['kind'], string | undefined> = {
  run: 'generating',
  domain: 'generating',
  episode: 'episode',
  stages: 'training',
  variant: 'starting',
  ablation: undefined,
};

function workflowIdOf(w: NanofluxWorkflow): string {
  switch (w.kind) {
    case 'run':
      return runWorkflowId(w.runId);
    case 'ablation':
      return ablationWorkflowId(w.runId);
    case 'domain':
      return domainWorkflowId(w.runId, w.domain);
    case 'stages':
      return stagesWorkflowId(w.runId, w.domain);
    case 'episode':
      return episodeWorkflowId(w.runId, w.domain, w.episode);
    case 'variant':
      return variantWorkflowId(w.runId, w.domain, w.variant);
  }
}

/**
 * The id and search attributes every NanoFlux workflow starts with, for `startChild`/`executeChild`
 * in the workflows and `client.workflow.start` in the CLI, so a run's workflows are all found by
 * `NanofluxRunId` in the web UI (common/search-attributes.ts). Ids and attributes are those the
 * committed replay histories hold (tests/replay/histories): a changed id would break replay.
 */
export function startOptions(w: NanofluxWorkflow): { workflowId: string; typedSearchAttributes: SearchAttributePair[] } {
  const stage = FIRST_STAGE[w.kind];
  return {
    workflowId: workflowIdOf(w),
    typedSearchAttributes: [
      { key: SA.runId, value: w.runId },
      ...('domain' in w ? [{ key: SA.domain, value: w.domain }] : []),
      { key: SA.kind, value: w.kind },
      ...(stage === undefined ? [] : [{ key: SA.stage, value: stage }]),
    ],
  };
}
