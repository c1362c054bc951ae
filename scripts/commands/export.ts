import { defaultPayloadConverter } from '@temporalio/common';
import { buildActivityDeps } from '../../activities/deps.js';
import { EXPORT_FORMATS, isExportFormat } from '../../activities/export-formats.js';
import { createStoreActivities } from '../../activities/index.js';
import { parseRunConfig, type RunConfig } from '../../common/config.js';
import { runWorkflowId } from '../../workflows/logic/ids.js';
import { connectClient, loadRunConfig, UserError } from '../lib/client.js';

/** The config a run was started with: its first history event holds the workflow's input. */
async function runConfigFromTemporal(runId: string): Promise<RunConfig> {
  const { client, close } = await connectClient();
  try {
    const history = await client.workflow.getHandle(runWorkflowId(runId)).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const parsed = parseRunConfig(payload ? defaultPayloadConverter.fromPayload(payload) : undefined);
    if (!parsed.ok) throw new UserError(`run ${runId} has no valid config in its history; pass --config <file>`);
    return parsed.config;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read run ${runId} from Temporal (${(e as Error).message}); pass --config <file>`);
  } finally {
    await close();
  }
}

/**
 * `nanoflux export <run> --format …`: rewrites the run's dataset files in the chosen trainer formats,
 * with a dataset card, from the stored examples (the same code the run's export activity runs).
 */
export async function exportCommand(opts: { runId: string; formats: string[]; config?: string }): Promise<{ files: string[]; examples: number }> {
  const bad = opts.formats.filter((f) => !isExportFormat(f));
  if (bad.length) throw new UserError(`unknown format ${bad.join(', ')}; one of ${EXPORT_FORMATS.join(', ')}`);
  const config = opts.config ? loadRunConfig(opts.config) : await runConfigFromTemporal(opts.runId);
  const deps = buildActivityDeps();
  try {
    const r = await createStoreActivities(deps).exportDataset({
      runId: opts.runId,
      domains: config.domains.map((d) => d.name),
      embedding: config.models.embedding,
      formats: opts.formats,
    });
    return { files: r.files, examples: r.examples };
  } finally {
    await deps.close();
  }
}
