import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AblationConfig, DomainConfig, EvalBenchmark, EvaluateConfig, FineTuneConfig } from '../../common/config.js';
import type { ReportComputeInput } from '../../common/compute.js';
import { projectPath } from '../../common/env.js';
import { MissingResource } from '../../common/errors.js';
import type { FineTuneResult, PreparedDomain, TrainingExample, VariantResult, VariantSpec } from '../../common/contracts/index.js';
import { activity } from '../kit/boundary.js';
import { loadBenchmark, shippedBenchmarkData, type BenchmarkItem } from '../kit/benchmarks.js';
import { type Prediction, scorePredictions } from './eval/score.js';
import { readJsonlRows, runDir, writeFileAtomic, writeJsonl } from '../kit/files.js';
import { writeReport } from './report/report.js';
import { calibrationSummary, levelDistributions } from '../dataset/measures.js';
import { readRunCalibration } from '../dataset/run-calibration.js';
import type { ReportInput } from './report/types.js';
import { ablationCuts, cutSpec, writeCutTrainingFile } from './cuts.js';
import { reuseEarlierStages, stageSettings, writeStageSettings } from './reuse.js';
import * as L from './layout.js';
import { evaluationOf, finishedVariantResults, readVariantResult, reportedVariant, writeVariantResult } from './results.js';
import { baselineRows, evalPrompt, nanofluxTrainingRows, readTrainingPlan, systemPrompt, trainingPlan, writeTrainingPlan } from './training-data.js';
import { cutPlan } from './annotation-cuts.js';
import { createShippingActivities } from './ship-activities.js';
import { createComputeActivities, mustExist } from './compute-activities.js';
import type { StageDeps } from './deps.js';
import { runGeneration } from './report/generation.js';

export type { StageDeps } from './deps.js';

/** The benchmark a domain is evaluated on: its `evaluation`, else its decontamination benchmark. */
export function domainBenchmark(d: DomainConfig): { benchmark: EvalBenchmark; data?: string; limit?: number } | null {
  if (d.evaluation) return d.evaluation;
  return d.benchmark === 'none' ? null : { benchmark: d.benchmark };
}

function runExamples(home: string, runId: string, domain: string): TrainingExample[] {
  const file = join(runDir(home, runId), 'examples.jsonl');
  if (!existsSync(file)) throw new MissingResource(`run ${runId} has no exported dataset (${file}); generate or export it first`);
  return readJsonlRows(file)
    .map(({ value }) => value as TrainingExample)
    .filter((e) => e.domain === domain);
}

export function createStageActivities(deps: StageDeps) {
  const { home } = deps;
  return {
    ...createShippingActivities(deps),
    ...createComputeActivities(deps),

    /** Writes the evaluation items and their batches, and the training file of `tuned` and each baseline. Deterministic, so a retry rewrites the same bytes. */
    prepareDomainStage: activity(async (a: { runId: string; domain: DomainConfig; evaluate?: EvaluateConfig; finetune?: FineTuneConfig; resumeFrom?: string }): Promise<PreparedDomain> => {
      const out: PreparedDomain = { domain: a.domain.name, benchmark: null, evalItems: 0, batches: 0, variants: [], skipped: [] };
      writeStageSettings(home, a.runId, a.domain.name, stageSettings(a.finetune, a.evaluate));
      const spec = domainBenchmark(a.domain);
      // One template for every training file and evaluation prompt of the domain (training-data.ts).
      const plan = writeTrainingPlan(home, a.runId, a.domain.name, trainingPlan(a.finetune?.training, spec?.benchmark ?? null, a.domain.baselines));
      if (a.evaluate && spec) {
        const data = mustExist(spec.data ? projectPath(spec.data) : shippedBenchmarkData(spec.benchmark, deps.datasetsDir)!, `domains.${a.domain.name}.evaluation.data`);
        const limit = spec.limit ?? a.evaluate.limit;
        const items = loadBenchmark(spec.benchmark, data).slice(0, limit);
        writeJsonl(L.evalItemsPath(home, a.runId, a.domain.name), items);
        const size = a.evaluate.batchSize;
        for (let b = 0; b * size < items.length; b++) {
          const prompts = items.slice(b * size, (b + 1) * size).map((i) => ({ id: i.id, system: systemPrompt(plan.answerFormat), prompt: evalPrompt(spec.benchmark, i.question, plan.answerFormat) }));
          writeJsonl(L.evalBatchPath(home, a.runId, a.domain.name, b), prompts);
        }
        Object.assign(out, { benchmark: spec.benchmark, evalItems: items.length, batches: Math.ceil(items.length / size) });
      }
      if (a.finetune) {
        const rows = nanofluxTrainingRows(runExamples(home, a.runId, a.domain.name), plan);
        if (rows.length === 0) out.skipped.push({ variant: 'tuned', reason: 'the run accepted no examples in this domain' });
        else {
          writeJsonl(L.trainDataPath(home, a.runId, a.domain.name, 'tuned'), rows);
          out.variants.push({ variant: 'tuned', trainExamples: rows.length });
        }
        for (const b of a.domain.baselines) {
          const base = baselineRows(b, mustExist(projectPath(b.data), `domains.${a.domain.name}.baselines.${b.name}.data`), plan);
          writeJsonl(L.trainDataPath(home, a.runId, a.domain.name, b.name), base);
          out.variants.push({ variant: b.name, trainExamples: base.length });
        }
      }
      if (a.resumeFrom) out.reused = reuseEarlierStages(home, a.resumeFrom, a.runId, a.domain.name, ['base', ...out.variants.map((v) => v.variant)]);
      return out;
    }),

    /** The ablation cuts of a domain's set, each written as a training file. */
    cutAblation: activity(async (a: { runId: string; domain: string; ablation: AblationConfig; resumeFrom?: string }): Promise<{ cuts: VariantSpec[]; skipped: { variant: string; reason: string }[]; reused?: string[] }> => {
      const { cuts, skipped } = ablationCuts(runExamples(home, a.runId, a.domain), a.ablation);
      const plan = readTrainingPlan(home, a.runId, a.domain);
      for (const c of cuts) writeCutTrainingFile(home, a.runId, a.domain, c.variant, nanofluxTrainingRows(c.examples, cutPlan(plan, c)));
      const reused = a.resumeFrom ? reuseEarlierStages(home, a.resumeFrom, a.runId, a.domain, cuts.map((c) => c.variant)) : undefined;
      return {
        ...(reused ? { reused } : {}), cuts: cuts.map(cutSpec), skipped };
    }),

    /** Scores a variant's predictions; per-item outputs go to scores.json, the summary to result.json. */
    scoreVariant: activity(async (a: { runId: string; domain: string; spec: VariantSpec; benchmark: EvalBenchmark; batches: number; train: FineTuneResult | null }): Promise<VariantResult> => {
      const { variant } = a.spec;
      const items = readJsonlRows(L.evalItemsPath(home, a.runId, a.domain)).map(({ value }) => value as BenchmarkItem);
      const predictions: Prediction[] = [];
      for (let b = 0; b < a.batches; b++) {
        predictions.push(...readJsonlRows(L.predictionsPath(home, a.runId, a.domain, variant, b)).map(({ value }) => value as Prediction));
      }
      const report = scorePredictions(a.benchmark, items, predictions);
      const text = new Map(predictions.map((p) => [p.id, p.prediction]));
      writeFileAtomic(
        L.scoresPath(home, a.runId, a.domain, variant),
        JSON.stringify({ ...report, items: report.items.map((i) => ({ ...i, prediction: text.get(i.id) ?? null })) }, null, 1),
      );
      const result: VariantResult = {
        domain: a.domain,
        variant,
        ...(a.spec.cut ? { cut: a.spec.cut } : {}),
        benchmark: a.benchmark,
        n: report.n,
        correct: report.correct,
        accuracy: report.accuracy,
        ci95: report.ci95,
        trainExamples: variant === 'base' ? null : a.spec.trainExamples,
        train: a.train, ...evaluationOf(home, a.runId, a.domain, variant, a.batches, report.n), // what evaluating it took, where recorded
      };
      writeVariantResult(home, a.runId, result);
      return result;
    }),

    /** A finished variant's result, for a variant workflow that already completed (a re-entered run). */
    loadVariantResult: activity(async (a: { runId: string; domain: string; variant: string }): Promise<VariantResult | null> => readVariantResult(home, a.runId, a.domain, a.variant)),

    /** The run's report from every variant result on disk (so an ablation started later adds to it). */
    writeRunReport: activity(async (a: { runId: string; generatedAt: string; models: ReportInput['models']; domains: string[]; skipped: { domain: string; variant: string; reason: string }[]; compute?: ReportComputeInput }) => {
      const variants: ReportInput['variants'] = [];
      const domains: ReportInput['domains'] = [];
      const examplesFile = join(runDir(home, a.runId), 'examples.jsonl');
      const dataset = existsSync(examplesFile) ? readJsonlRows(examplesFile).map(({ value }) => value as TrainingExample) : [];
      for (const name of a.domains) {
        const d = { name, datasetExamples: dataset.filter((e) => e.domain === name).length };
        const results = finishedVariantResults(home, a.runId, d.name);
        domains.push({ name: d.name, benchmark: results[0]?.benchmark ?? 'none', evalItems: results[0]?.n ?? 0, datasetExamples: d.datasetExamples });
        variants.push(...results.map((r) => reportedVariant(home, a.runId, r)));
      }
      const dir = runDir(home, a.runId);
      const measured = { calibration: calibrationSummary(readRunCalibration(dir)), levels: levelDistributions(dataset) };
      // generation: what making each domain's set took, for the report's compute accounting.
      const { figures } = writeReport(dir, { runId: a.runId, generatedAt: a.generatedAt, models: a.models, domains, variants, skipped: a.skipped, dataset: measured, generation: runGeneration(home, a.runId, a.domains, a.compute, dataset) });
      return { path: join(dir, 'report.md'), figures: figures.map((f) => join(dir, f)) };
    }),
  };
}

export type StageActivities = ReturnType<typeof createStageActivities>;

/** Each stage activity is registered on one queue: fine-tunes and evaluation batches on `nanoflux-train`, their files on `nanoflux`. */
export function splitStageActivities(all: StageActivities) {
  const { fineTune, evaluateBatch, ...files } = all;
  return { compute: { fineTune, evaluateBatch }, files };
}
