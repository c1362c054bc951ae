import { createModelActivities, type ModelDeps } from './model-activities.js';
import { createStoreActivities, type StoreDeps } from './store-activities.js';

export type { ModelActivities } from './model-activities.js';
export type { StoreActivities } from './store-activities.js';
export { createModelActivities, createStoreActivities };

export type ActivityDeps = ModelDeps & StoreDeps;
