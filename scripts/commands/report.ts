import { buildActivityDeps } from '../../activities/deps.js';
import { createStageActivities } from '../../activities/index.js';
import * as L from '../../activities/stages/layout.js';
import { finishedVariants } from '../../activities/stages/results.js';
import type { RunConfig } from '../../common/config.js';
import { reportComputeInput } from '../../common/compute.js';
import { runModels } from '../../common/run-models.js';
import { readEnv } from '../../common/env.js';
import { loadRunConfig, runConfigFromTemporal } from '../lib/client.js';
import { hinted, OperationalError, UserError } from '../lib/errors.js';

/**
 * `nanoflux report <run> [--config <file>]`: rewrites the run's report (report.md and its figures)
 * from the variant results on disk, as the run's reporting stage does. A run whose stages never
 * fine-tuned or evaluated anything has nothing to report: that is exit 1 with what to do.
 */
export async function reportCommand(opts: { runId: string; config?: string }): Promise<{ runId: string; report: string; figures: string[] }> {
  const config: RunConfig = opts.config ? loadRunConfig(opts.config) : await runConfigFromTemporal(opts.runId);
  if (config.runId !== opts.runId) throw new UserError(hinted(`the config is for run ${config.runId}, not ${opts.runId}`, `pass the config of ${opts.runId}`));
  const home = readEnv().home;
  const evaluated = config.domains.filter((d) => finishedVariants(home, opts.runId, d.name).length > 0);
  if (evaluated.length === 0) {
    const dir = L.stagesDir(home, opts.runId);
    throw new OperationalError(
      config.evaluate
        ? hinted(`run ${opts.runId} has nothing to report yet: no variant result under ${dir}`, `\`nanoflux status ${opts.runId}\` shows where its stages are`)
        : hinted(
            `run ${opts.runId} has nothing to report: its config has no evaluate stage, so no variant was fine-tuned or evaluated`,
            `to compare variants, start a run with finetune and evaluate, e.g. nanoflux resume-from ${opts.runId} --config <file>`,
          ),
    );
  }
  const deps = buildActivityDeps();
  try {
    const r = await createStageActivities(deps).writeRunReport({
      runId: config.runId,
      generatedAt: new Date().toISOString(),
      models: runModels(config),
      domains: config.domains.map((d) => d.name),
      skipped: [],
      compute: reportComputeInput(config),
    });
    return { runId: config.runId, report: r.path, figures: r.figures };
  } finally {
    await deps.close();
  }
}
