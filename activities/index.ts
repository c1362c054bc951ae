import { createModelActivities, type ModelDeps } from './model-activities.js';
import { createStageActivities, type StageDeps } from './stage-activities.js';
import { createStoreActivities, type StoreDeps } from './store-activities.js';

export type { ModelActivities } from './model-activities.js';
export type { StoreActivities } from './store-activities.js';
export type { StageActivities } from './stage-activities.js';
export { createModelActivities, createStageActivities, createStoreActivities };

export type ActivityDeps = ModelDeps & StoreDeps & StageDeps;
