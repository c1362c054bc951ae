// One seeded generator for the project: tests and benchmarks draw from the bootstrap's own (common/paired-stats.ts).
export { mulberry32 } from '../../common/paired-stats.js';
