// The workflow bundle's entry: every workflow type the worker registers.
export { nanofluxRun } from './run.js';
export { domainLoop } from './domain.js';
export { episodeWorkflow } from './episode.js';
export { variantWorkflow, domainStages, nanofluxAblation } from './stages.js';
export { nanofluxPreflight } from './preflight.js';
