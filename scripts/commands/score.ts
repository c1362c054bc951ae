import { defaultDatasetsDir } from '../../activities/store/decontamination.js';
import { loadBenchmark, shippedBenchmarkData } from '../../activities/kit/benchmarks.js';
import { BENCHMARKS } from '../../common/contracts/index.js';
import { loadPredictions, scorePredictions } from '../../activities/stages/eval/score.js';

/**
 * `nanoflux score --benchmark <gsm8k|gsmhard|pubmedqa|mcq> --predictions <file.jsonl> [--data <file>]`.
 * Returns what to print rather than printing, so the CLI and tests share one path. Exit codes follow
 * the CLI's: 0 scored, 1 the files could not be scored (broken line, unknown ids), 2 bad usage.
 * Errors come back as `{ error }` JSON, like `nanoflux tool`, so a script reading stdout always gets JSON.
 */
export async function scoreCommand(opts: { benchmark: string; predictions: string; data?: string }): Promise<{ exitCode: number; output: unknown }> {
  const benchmark = BENCHMARKS.find((b) => b === opts.benchmark);
  if (!benchmark) return usage(`unknown --benchmark "${opts.benchmark}"; one of: ${BENCHMARKS.join(', ')}`);
  if (!opts.predictions) return usage('--predictions <file.jsonl> is required');
  const data = opts.data ?? shippedBenchmarkData(benchmark, defaultDatasetsDir());
  if (!data) {
    const shape = benchmark === 'gsmhard' ? 'a GSM-Hard JSONL with "input" and "target"' : 'a JSONL with "question", "options" and "answer"';
    return usage(`--data <file> is required for ${benchmark} (${shape}); only gsm8k and pubmedqa ship with the project`);
  }
  try {
    const items = loadBenchmark(benchmark, data);
    const predictions = loadPredictions(opts.predictions);
    return { exitCode: 0, output: scorePredictions(benchmark, items, predictions) };
  } catch (e) {
    return { exitCode: 1, output: { error: (e as Error).message } };
  }
}

function usage(error: string): { exitCode: number; output: unknown } {
  return { exitCode: 2, output: { error } };
}
