import type { ModelRef } from '../../common/config.js';
import type { PreflightProblem, StorePreflight } from '../../common/contracts/index.js';
import { ErrorType } from '../../common/errors.js';
import { activity } from '../kit/boundary.js';
import { existsSync } from 'node:fs';
import { projectPath } from '../../common/env.js';
import { loadBenchmark, shippedBenchmarkData } from '../kit/benchmarks.js';
import { keyProblem, probeFailure, refSubject, sandboxProblem } from '../game/preflight.js';
import { PACKS } from '../game/packs.js';
import { loadBenchmarkQuestions } from './decontamination.js';
import type { Embedder } from './embeddings/embedder.js';

/** The store half of preflight, on the `nanoflux` worker: the embedding endpoint, the benchmark files, the executed check's sandbox. */
export function createStorePreflight(deps: { embedder(ref: ModelRef): Embedder; datasetsDir: string }) {
  async function embeddingProblem(ref: ModelRef): Promise<PreflightProblem | undefined> {
    const subject = refSubject(['embedding'], ref);
    const missing = keyProblem(subject, ref);
    if (missing) return missing;
    try {
      // A text no earlier call embedded: the worker's embedder caches vectors by text, and a cached answer would pass an endpoint that is down.
      const { vectors } = await deps.embedder(ref).embed([`preflight ${Date.now()}`]);
      if (vectors.length === 1 && vectors[0]!.length > 0) return undefined;
      return { check: 'embeddings', subject, type: ErrorType.ModelRequestRejected, message: `one text in, ${vectors.length} vector(s) out: the endpoint does not embed` };
    } catch (e) {
      return probeFailure('embeddings', subject, e, 'embedding one text failed');
    }
  }

  function benchmarkProblem(b: StorePreflight['benchmarks'][number]): PreflightProblem | undefined {
    const subject = `${b.name} test split (${b.use})`;
    try {
      // The loaders the run uses, so a file they cannot parse fails here, not after hours of generation.
      const n = b.use === 'decontamination' ? loadBenchmarkQuestions(b.name, deps.datasetsDir).length : loadBenchmark(b.name, shippedBenchmarkData(b.name, deps.datasetsDir)!).length;
      return n > 0 ? undefined : { check: 'benchmark', subject, type: ErrorType.MissingResource, message: `no items in ${deps.datasetsDir}` };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { check: 'benchmark', subject, type: ErrorType.MissingResource, message: `${message.slice(0, 300)} (NANOFLUX_DATASETS_DIR says where the datasets are)` };
    }
  }

  /** A file the config names: there (relative to the project root, as the stages read it), and a benchmark's parseable by its loader. */
  function fileProblem(f: NonNullable<StorePreflight['files']>[number]): PreflightProblem | undefined {
    const path = projectPath(f.path);
    const problem = (message: string): PreflightProblem => ({ check: 'benchmark', subject: f.field, type: ErrorType.MissingResource, message });
    if (!existsSync(path)) return problem(`${path} not found on the worker (relative paths are taken from the project root); the stages would fail on it after the generation budget is spent`);
    if (!f.benchmark) return undefined;
    try {
      return loadBenchmark(f.benchmark, path).length > 0 ? undefined : problem(`no ${f.benchmark} items in ${path}`);
    } catch (e) {
      return problem(`${f.benchmark} cannot read it: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}`);
    }
  }

  return {
    preflightStore: activity(async (p: StorePreflight): Promise<PreflightProblem[]> => {
      const problems = [await embeddingProblem(p.embedding), ...p.benchmarks.map(benchmarkProblem), ...(p.files ?? []).map(fileProblem)];
      if (p.packs.some((pack) => PACKS[pack as keyof typeof PACKS]?.requiresProgram)) problems.push(await sandboxProblem('the executed check, nanoflux worker'));
      return problems.filter((x): x is PreflightProblem => x !== undefined);
    }),
  };
}
