import { bundleWorkflowCode } from '@temporalio/worker';
import { ESLint } from 'eslint';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../common/env.js';
import { WORKFLOWS_PATH } from '../../workers/create-workers.js';

const noop = () => undefined;
const silent = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

describe('workflow code stays deterministic', () => {
  it('lints clean: no I/O, no Node builtins, activities as types only', async () => {
    const eslint = new ESLint({ cwd: PROJECT_ROOT });
    const results = await eslint.lintFiles(['workflows/**/*.ts']);
    const messages = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(messages).toEqual([]);
  });

  it('the lint rule catches I/O imports and value imports of activities', async () => {
    const eslint = new ESLint({ cwd: PROJECT_ROOT });
    const probe = [
      "import { readFileSync } from 'node:fs';",
      "import path from 'path';",
      "import OpenAI from 'openai';",
      "import { Context } from '@temporalio/activity';",
      "import { createGameActivities } from '../activities/index.js';",
      "import type { GameActivities } from '../activities/index.js';",
      "import { readEnv } from '../common/env.js';",
      'export const all = [readFileSync, path, OpenAI, Context, createGameActivities, readEnv];',
      'export type T = GameActivities;',
    ].join('\n');
    const [r] = await eslint.lintText(probe, { filePath: join(PROJECT_ROOT, 'workflows', 'lint-probe.ts') });
    const flagged = r!.messages.map((m) => m.line);
    expect(flagged).toEqual([1, 2, 3, 4, 5, 7]); // line 6, a type-only import, is allowed
  });

  it('bundles for the workflow sandbox, and a workflow that imports node:fs does not bundle', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
    for (const name of ['nanofluxRun', 'domainLoop', 'episodeWorkflow']) expect(code).toContain(name);

    const dir = mkdtempSync(join(tmpdir(), 'nf-bad-wf-'));
    writeFileSync(join(dir, 'index.ts'), "import { readFileSync } from 'node:fs';\nexport async function bad(): Promise<string> { return String(readFileSync); }\n");
    await expect(bundleWorkflowCode({ workflowsPath: join(dir, 'index.ts'), logger: silent })).rejects.toThrow();
  }, 120_000);
});
