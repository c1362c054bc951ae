import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceBuildId } from '../../workers/build-id.js';
import { describeBuilds, shouldPromote } from '../../workers/deployment.js';

describe('which build serves a deployment (workers/deployment.ts)', () => {
  it('a worker makes its build current when there is none, or when the current build has no live worker; never over a live one', () => {
    expect(shouldPromote(null, 'b2', new Set())).toBe(true);
    expect(shouldPromote('b1', 'b2', new Set(['b2']))).toBe(true);
    expect(shouldPromote('b1', 'b2', new Set(['b1', 'b2']))).toBe(false);
    expect(shouldPromote('b2', 'b2', new Set())).toBe(false);
  });

  it('says who serves and who waits, the current build first', () => {
    expect(describeBuilds({ deployment: 'nf', current: 'b1', builds: [{ buildId: 'b1', workers: 2, current: true }, { buildId: 'b2', workers: 1, current: false }, { buildId: null, workers: 1, current: false }] })).toBe(
      '2 of build b1 (current) · 1 of build b2 (another build: waits while the current build has workers) · 1 unversioned (serves nothing while a build is current)',
    );
    expect(describeBuilds({ deployment: 'nf', current: null, builds: [] })).toBe('no worker polls nf: start one with NANOFLUX_TASK_QUEUE_PREFIX=nf npm run worker');
  });
});

describe("a checkout's build id (workers/build-id.ts)", () => {
  function checkout(): string {
    const root = mkdtempSync(join(tmpdir(), 'nanoflux-build-'));
    for (const d of ['workflows', 'activities', 'common', 'workers', 'prompts']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ version: '1.2.3' }));
    writeFileSync(join(root, 'workflows', 'run.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'README.md'), 'docs\n');
    return root;
  }

  it('is the same for the same code anywhere, and changes with the code, not with the docs', () => {
    const a = checkout();
    const b = mkdtempSync(join(tmpdir(), 'nanoflux-build-copy-'));
    cpSync(a, b, { recursive: true });
    expect(sourceBuildId(a)).toMatch(/^1\.2\.3-[0-9a-f]{12}$/);
    expect(sourceBuildId(b)).toBe(sourceBuildId(a));
    writeFileSync(join(b, 'README.md'), 'other docs\n');
    expect(sourceBuildId(b)).toBe(sourceBuildId(a));
    writeFileSync(join(b, 'workflows', 'run.ts'), 'export const a = 2;\n');
    expect(sourceBuildId(b)).not.toBe(sourceBuildId(a));
  });
});
