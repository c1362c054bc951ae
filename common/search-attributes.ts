import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes on every NanoFlux workflow, so a run's workflows are found in the web UI
 * (e.g. `NanofluxRunId = "demo"`). Registered by `npm run dev-server` and by the worker at start.
 */
export const SA = {
  runId: defineSearchAttributeKey('NanofluxRunId', SearchAttributeType.KEYWORD),
  domain: defineSearchAttributeKey('NanofluxDomain', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('NanofluxKind', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('NanofluxStage', SearchAttributeType.KEYWORD),
  accepted: defineSearchAttributeKey('NanofluxAccepted', SearchAttributeType.INT),
  outcome: defineSearchAttributeKey('NanofluxOutcome', SearchAttributeType.KEYWORD),
} as const;

/** `Name=Type` pairs as `temporal server start-dev --search-attribute` takes them. */
export const SEARCH_ATTRIBUTE_FLAGS: string[] = Object.values(SA).map(
  (k) => `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`,
);
