import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files first (measured in CI, 2026-12-06: stages ~560 s, the trainer ~350 s, the
 * fine-tune crash ~170 s): with two files at a time, a long file started last alone sets the wall
 * time (it was 22.6 min with stages.test.ts picked late, against ~18 for the work spread evenly).
 */
const LONGEST_FIRST = ['workflow/stages', 'trainer/trainer', 'workflow/finetune-crash', 'workflow/faults', 'unit/cli', 'workflow/chaos', 'workflow/decontamination-resume', 'workflow/batch-tier'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((name) => f.moduleId.endsWith(`tests/${name}.test.ts`));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    return (await super.sort(files)).map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Temporal's native core bridge crashes under worker threads (sdk-typescript#876): use forks.
    pool: 'forks',
    testTimeout: 60_000,
    // Two test files at a time on the 2-core CI machine: most files wait on Temporal, the network or
    // timeouts, not the CPU. The Python trainers they start use one thread each (global-setup.ts).
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    // Inherited by the trainer subprocesses the tests start (trainer/nanoflux_trainer/common.py).
    env: { NANOFLUX_TORCH_THREADS: '1' },
    hookTimeout: 120_000,
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
