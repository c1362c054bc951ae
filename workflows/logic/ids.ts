/** Readable, deterministic workflow ids: the web UI shows them, and a reset or retry finds the same ones. */
export const runWorkflowId = (runId: string): string => `nanoflux-${runId}`;
export const domainWorkflowId = (runId: string, domain: string): string => `nanoflux-${runId}/${domain}`;
export const episodeWorkflowId = (runId: string, domain: string, episode: number): string =>
  `nanoflux-${runId}/${domain}/ep-${String(episode).padStart(6, '0')}`;
/** Key of an episode's side effects (vector point, ledger row): a retry or replay writes the same key. */
export const episodeKey = (runId: string, domain: string, episode: number): string => `${runId}/${domain}/${episode}`;
/** The fine-tune/evaluate stages of one domain, and each variant (base, tuned, a baseline, an ablation cut) under them. */
export const stagesWorkflowId = (runId: string, domain: string): string => `nanoflux-${runId}/${domain}/stages`;
export const variantWorkflowId = (runId: string, domain: string, variant: string): string => `nanoflux-${runId}/${domain}/variant-${variant}`;
export const ablationWorkflowId = (runId: string): string => `nanoflux-${runId}/ablation`;
