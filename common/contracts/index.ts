// The types workflows and activities share, zod-free so workflow code may import them (common/contracts/game.ts says why).
export * from './episode.js';
export * from './game.js';
export * from './stages.js';
export * from './verification.js';
export * from './calibration.js';
export * from './preflight.js';
export * from './store.js';
