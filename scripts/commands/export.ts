import { buildActivityDeps } from '../../activities/deps.js';
import { EXPORT_FORMATS, isExportFormat } from '../../activities/dataset/formats.js';
import { createDatasetActivities } from '../../activities/index.js';
import { loadRunConfig, runConfigFromTemporal, UserError } from '../lib/client.js';

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
    const r = await createDatasetActivities(deps).exportDataset({
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
