import { ApplicationFailure, executeChild, ParentClosePolicy, patched, upsertMemo, upsertSearchAttributes, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { DomainConfig, RunConfig } from '../common/config.js';
import type { BenchmarkName, FineTuneResult, VariantResult, VariantSpec } from '../common/contracts/index.js';
import { type GenerationTiming, reportComputeInput } from '../common/compute.js';
import { runModels } from '../common/run-models.js';
import { ErrorType } from '../common/errors.js';
import { SA } from '../common/search-attributes.js';
import { startOptions } from './logic/start-options.js';
import { evalActivities, evalActivitiesOn, fineTuneActivities, ownerSteps, stageFileActivities } from './options.js';
import { mapBounded } from './pool.js';
import { validRunConfig } from './validate.js';

/** The patch that ships stage files to and from the train hosts in payloads (docs/architecture.md, "Stage files between hosts"). */
export const STAGE_FILES_SHIPPED = 'stage-files-shipped';

export interface VariantInput {
  config: RunConfig;
  domain: string;
  spec: VariantSpec;
  /** Null when the evaluate stage is off: the variant is only fine-tuned. */
  benchmark: BenchmarkName | null;
  batches: number;
}

export interface VariantOutcome {
  variant: string;
  train: FineTuneResult | null;
  result: VariantResult | null;
  error?: string;
}

/**
 * One variant of one domain: fine-tune it (unless it is the base model), evaluate it batch by batch,
 * score it. Its own workflow, so the web UI shows each variant's long fine-tune activity, its
 * heartbeat progress and its evaluation batches apart from the others. Every step is idempotent on
 * files, so a re-entered run replays a finished variant in seconds.
 */
export async function variantWorkflow(input: VariantInput): Promise<VariantOutcome> {
  const { config, domain, spec } = input;
  const runId = config.runId;
  const shipped = patched(STAGE_FILES_SHIPPED);
  let train: FineTuneResult | null = null;
  if (spec.variant !== 'base') {
    if (!config.finetune) throw ApplicationFailure.nonRetryable(`variant ${spec.variant} needs the finetune stage`, ErrorType.InvalidRunConfig);
    upsertSearchAttributes([{ key: SA.stage, value: 'finetuning' }]);
    // A seeded ablation run trains with its own seed; every other variant with finetune.seed.
    const finetune = spec.cut?.seed === undefined ? config.finetune : { ...config.finetune, seed: spec.cut.seed };
    const job = { runId, domain, variant: spec.variant, finetune };
    // Shipped: the training files travel to whichever host trains, and its loss curve back (activities/stages/shipping.ts).
    train = shipped
      ? await stageFileActivities.keepFineTune({ train: await fineTuneActivities.fineTune(job, await stageFileActivities.shipTrainingFiles(job)) })
      : await fineTuneActivities.fineTune(job);
    upsertMemo({ model: train.model, trainTokens: train.trainTokens ?? 'unknown', loss: `${train.firstLoss ?? '?'} → ${train.lastLoss ?? '?'}` });
  }
  let result: VariantResult | null = null;
  if (input.benchmark && config.evaluate) {
    upsertSearchAttributes([{ key: SA.stage, value: 'evaluating' }]);
    const baseModel = config.finetune?.baseModel ?? config.evaluate.endpoint?.models.base ?? 'smollm2-135m';
    const target = { variant: spec.variant, baseModel, ...(train ? { trained: { kind: train.kind, model: train.model } } : {}) };
    // Batches one after another: the train queue's slots are better spent on other variants.
    // An adapter or model directory is evaluated on the host that trained it; the base model and a provider's model anywhere.
    const evaluator = shipped && train?.trainedOn && train.kind !== 'remote' ? evalActivitiesOn(train.trainedOn) : evalActivities;
    for (let batch = 0; batch < input.batches; batch++) {
      const args = { runId, domain, batch, target, evaluate: config.evaluate };
      if (!shipped) {
        await evalActivities.evaluateBatch(args);
        continue;
      }
      const prompts = await stageFileActivities.shipEvalBatch({ runId, domain, variant: spec.variant, batch });
      if (prompts === null) continue; // the owner has this batch's predictions already
      const { files } = await evaluator.evaluateBatch(args, prompts);
      if (files) await stageFileActivities.keepPredictions({ files });
    }
    result = await stageFileActivities.scoreVariant({ runId, domain, spec, benchmark: input.benchmark, batches: input.batches, train });
    upsertMemo({ accuracy: `${(result.accuracy * 100).toFixed(1)}% (${result.correct}/${result.n})` });
  }
  upsertSearchAttributes([{ key: SA.stage, value: 'done' }]);
  return { variant: spec.variant, train, result };
}

export interface DomainStagesInput {
  config: RunConfig;
  domain: DomainConfig;
  /** Base, tuned and baselines; false when only the ablation is wanted (their results are on disk already). */
  variants: boolean;
  ablation: boolean;
}

export interface DomainStagesResult {
  domain: string;
  outcomes: VariantOutcome[];
  skipped: { variant: string; reason: string }[];
}

/** The fine-tune → evaluate stages of one domain, and its ablation cuts, with bounded parallelism. */
export async function domainStages(input: DomainStagesInput): Promise<DomainStagesResult> {
  const { config, domain } = input;
  const runId = config.runId;
  const prep = await stageFileActivities.prepareDomainStage({ runId, domain, evaluate: config.evaluate, finetune: config.finetune, resumeFrom: config.resumeFrom });
  if (prep.reused?.length) upsertMemo({ reused: `from ${config.resumeFrom}: ${prep.reused.join(', ')}` });
  const parallelism = config.finetune?.parallelism ?? 1;
  const run = (specs: VariantSpec[]) =>
    mapBounded(specs, parallelism, (spec) => runVariant({ config, domain: domain.name, spec, benchmark: prep.benchmark, batches: prep.batches }));
  const base: VariantSpec[] = config.evaluate && prep.benchmark ? [{ variant: 'base', trainExamples: 0 }] : [];
  const outcomes = input.variants ? await run([...base, ...prep.variants]) : [];
  const skipped = [...prep.skipped];
  if (input.ablation && config.ablation) {
    const cuts = await stageFileActivities.cutAblation({ runId, domain: domain.name, ablation: config.ablation, resumeFrom: config.resumeFrom });
    skipped.push(...cuts.skipped);
    // Replicate k of a cut trains with finetune.seed + k − 1, so s1 is seeded as `tuned` is. Cuts
    // recorded before seeds (an older history) carry no replicate and keep the config's seed: the
    // commands this schedules are unchanged for them, so no patched() is needed.
    const seeded = cuts.cuts.map((c): VariantSpec => (c.cut?.replicate === undefined ? c : { ...c, cut: { ...c.cut, seed: (config.finetune?.seed ?? 0) + c.cut.replicate - 1 } }));
    // The ablation's reference line: the base model on the same items (cached when the run already scored it).
    outcomes.push(...(await run([...(input.variants ? [] : base), ...seeded])));
  }
  return { domain: domain.name, outcomes, skipped };
}

/** A failed variant (a fine-tune job that failed, a broken baseline file) is reported, not fatal to its siblings. */
async function runVariant(input: VariantInput): Promise<VariantOutcome> {
  const { config, domain, spec } = input;
  try {
    return await executeChild(variantWorkflow, {
      ...startOptions({ kind: 'variant', runId: config.runId, domain, variant: spec.variant }),
      args: [input],
      // A re-entered run runs its variants again; their steps find their files and return at once.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `${config.runId}: ${domain} variant ${spec.variant}${spec.trainExamples ? ` (${spec.trainExamples} training examples)` : ''}`,
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { variant: spec.variant, train: null, result: null, error: `${err instanceof Error ? err.message : String(err)}${cause}` };
  }
}

/** Starts the stages of every domain as children and collects them; one domain's failure is reported, not thrown. */
export async function runDomainStages(
  config: RunConfig,
  opts: { variants: boolean; ablation: boolean },
  ownerQueue?: string,
): Promise<{ results: DomainStagesResult[]; failed: { domain: string; error: string }[] }> {
  const settled = await Promise.allSettled(
    config.domains.map((domain) =>
      executeChild(domainStages, {
        ...startOptions({ kind: 'stages', runId: config.runId, domain: domain.name }),
        // Beside the run's data (workflows/options.ts ownerSteps); none: this workflow's own queue.
        ...(ownerQueue === undefined ? {} : { taskQueue: ownerQueue }),
        args: [{ config, domain, ...opts }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: `${config.runId}: ${domain.name} fine-tune/evaluate${opts.ablation ? '/ablation' : ''}`,
      }),
    ),
  );
  const results: DomainStagesResult[] = [];
  const failed: { domain: string; error: string }[] = [];
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') results.push(r.value);
    else failed.push({ domain: config.domains[i]!.name, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
  });
  return { results, failed };
}

/**
 * The report over every variant result on disk, skipped cuts and failed variants listed. `generation`:
 * how long this run execution generated, which only the run workflow knows (an ablation passes none,
 * and the report finds what earlier executions recorded).
 */
export async function writeStagesReport(config: RunConfig, results: DomainStagesResult[], generation?: GenerationTiming, ownerQueue?: string): Promise<{ path: string; figures: string[] }> {
  const skipped = results.flatMap((r) => [
    ...r.skipped.map((s) => ({ domain: r.domain, ...s })),
    ...r.outcomes.filter((o) => o.error).map((o) => ({ domain: r.domain, variant: o.variant, reason: `failed: ${o.error}` })),
  ]);
  return ownerSteps(ownerQueue).stageFiles.writeRunReport({
    runId: config.runId,
    generatedAt: new Date().toISOString(),
    models: runModels(config),
    domains: config.domains.map((d) => d.name),
    skipped,
    // Activity input only: histories that predate it replay unchanged.
    compute: reportComputeInput(config, generation),
  });
}

export interface AblationRunResult {
  runId: string;
  results: DomainStagesResult[];
  failed: { domain: string; error: string }[];
  report?: string;
}

/**
 * The ablation of a finished run, started on its own (`nanoflux ablate <run>`): re-cuts each
 * domain's exported set and fine-tunes and evaluates every cut, then rewrites the run's report.
 * Takes the run's config (its `ablation`, `finetune` and `evaluate` sections say what to do).
 */
export async function nanofluxAblation(input: unknown): Promise<AblationRunResult> {
  const config = await validRunConfig(input);
  if (!config.ablation || !config.finetune || !config.evaluate) {
    throw ApplicationFailure.create({ type: ErrorType.InvalidRunConfig, message: 'an ablation needs the ablation, finetune and evaluate sections in the config', nonRetryable: true });
  }
  upsertSearchAttributes([
    { key: SA.runId, value: config.runId },
    { key: SA.kind, value: 'ablation' },
    { key: SA.stage, value: 'training' },
  ]);
  const { results, failed } = await runDomainStages(config, { variants: false, ablation: true });
  upsertSearchAttributes([{ key: SA.stage, value: 'reporting' }]);
  const report = await writeStagesReport(config, results);
  upsertSearchAttributes([{ key: SA.stage, value: 'done' }]);
  return { runId: config.runId, results, failed, report: report.path };
}
