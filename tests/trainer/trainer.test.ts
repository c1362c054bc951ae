import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';

/**
 * The Python LoRA trainer's own CPU end-to-end suite (tests/trainer/test_trainer.py: SmolLM2-135M
 * GGUF, LoRA until the loss falls, SIGKILL mid-training and --resume from the last checkpoint,
 * evaluation of base and tuned on GSM8K items) and its training text (test_training_text.py: what a
 * Qwen3-style template labels with thinking on and off, token-budget matching), run from here so
 * `npm test` covers it.
 */
describe('python trainer (pytest, CPU)', () => {
  it('trains, resumes after a kill, and evaluates', () => {
    const r = spawnSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), ['-m', 'pytest', '-q', join('tests', 'trainer')], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, HF_HUB_OFFLINE: '1', PYTHONPATH: join(PROJECT_ROOT, 'trainer') },
      timeout: 600_000,
    });
    const tail = `${r.stdout}\n${r.stderr}`.slice(-3000);
    expect(r.status, tail).toBe(0);
    // test_trainer.py 3, test_training_text.py 8, test_hardware.py 4: a file that stopped being collected fails here.
    expect(r.stdout).toMatch(/\b15 passed\b/);
  }, 660_000);
});
