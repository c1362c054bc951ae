import { AblationSchema, parseRunConfig, type RunConfig } from '../../common/config.js';
import { TaskQueue } from '../../common/task-queues.js';
import { startOptions } from '../../workflows/logic/start-options.js';
import type { nanofluxAblation } from '../../workflows/stages.js';
import { connectClient, loadRunConfig, runConfigFromTemporal, runStoreQueue, UserError } from '../lib/client.js';

/**
 * `nanoflux ablate <run> [--config <file>] [--wait]`: re-cuts a finished run's dataset and fine-tunes
 * and evaluates every cut. The config is the file given, else the one the run was started with;
 * without an `ablation` section the defaults apply (all three axes, sizes 50/100/200).
 */
export async function ablateCommand(opts: { runId: string; config?: string; wait: boolean }): Promise<{ workflowId: string; report?: string; failed?: unknown[] }> {
  const base: RunConfig = opts.config ? loadRunConfig(opts.config) : await runConfigFromTemporal(opts.runId);
  if (base.runId !== opts.runId) throw new UserError(`the config is for run ${base.runId}, not ${opts.runId}`);
  const input = { ...base, ablation: base.ablation ?? AblationSchema.parse({}) };
  delete (input as { raw?: unknown }).raw;
  const parsed = parseRunConfig(input);
  if (!parsed.ok) throw new UserError(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const { client, close } = await connectClient();
  try {
    const h = await client.workflow.start<typeof nanofluxAblation>('nanofluxAblation', {
      // Beside the run's data: the worker that owns it has its dataset and results (runs from before store ownership: any worker).
      taskQueue: (await runStoreQueue(client, opts.runId)) ?? TaskQueue.main,
      ...startOptions({ kind: 'ablation', runId: opts.runId }),
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `NanoFlux ablation of run ${opts.runId}`,
    });
    if (!opts.wait) return { workflowId: h.workflowId };
    const r = await h.result();
    return { workflowId: h.workflowId, report: r.report, failed: r.failed };
  } finally {
    await close();
  }
}
