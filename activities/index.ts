// The activity groups, one factory each, by what they serve (docs/architecture.md):
// game (model calls, `nanoflux-llm`), store (novelty, storage, ledger, `nanoflux`),
// dataset (export, `nanoflux`), stages (fine-tune and evaluation on `nanoflux-train`, their files on `nanoflux`).
import { createDatasetActivities, type DatasetDeps } from './dataset/activities.js';
import { createGameActivities, type GameDeps } from './game/activities.js';
import { createStageActivities, type StageDeps } from './stages/activities.js';
import { createStoreActivities, type StoreDeps } from './store/activities.js';

export type { DatasetActivities } from './dataset/activities.js';
export type { GameActivities } from './game/activities.js';
export type { StageActivities } from './stages/activities.js';
export type { StoreActivities } from './store/activities.js';
export { createDatasetActivities, createGameActivities, createStageActivities, createStoreActivities };

export type ActivityDeps = GameDeps & StoreDeps & DatasetDeps & StageDeps;
