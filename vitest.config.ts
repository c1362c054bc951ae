import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Temporal's native core bridge crashes under worker threads (sdk-typescript#876): use forks.
    pool: 'forks',
    testTimeout: 60_000,
    // Two test files at a time on the 2-core CI machine: most files wait on Temporal, the network or
    // timeouts, not the CPU. The Python trainers they start use one thread each (global-setup.ts).
    maxWorkers: 2,
    // Inherited by the trainer subprocesses the tests start (trainer/nanoflux_trainer/common.py).
    env: { NANOFLUX_TORCH_THREADS: '1' },
    hookTimeout: 120_000,
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
