import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type DevServer, startDevServer } from '../../scripts/lib/dev-server.js';
import { WORKFLOWS_PATH } from '../../workers/create-workers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/** Workflow tests run against one real `temporal server start-dev` (in memory), started here from the installed CLI. */
export const TEST_NAMESPACES = ['wf-run', 'wf-control', 'wf-crash', 'wf-local', 'wf-difficulty', 'wf-stages', 'wf-finetune-crash', 'wf-cli', 'wf-review', 'wf-resume', 'wf-bad-input', 'wf-faults', 'wf-secrets', 'wf-chaos', 'wf-calibration', 'wf-preflight', 'wf-slow-server', 'wf-logs', 'wf-paper', 'wf-paper-shape', 'wf-store-owner', 'wf-queues', 'wf-metrics', 'wf-batch', 'wf-billing', 'wf-traces', 'bundle'];

let server: DevServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'nanoflux-test-'));
  server = await startDevServer({ namespaces: TEST_NAMESPACES, logFile: join(dir, 'temporal.log') });
  // Bundling takes seconds; doing it once here keeps each workflow test file fast.
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server?.stop();
  };
}

const noop = () => undefined;
export const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m) };
