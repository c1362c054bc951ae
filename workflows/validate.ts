import { ApplicationFailure } from '@temporalio/workflow';
import type { RunConfig } from '../common/config.js';
import { ErrorType } from '../common/errors.js';

/**
 * A workflow's input checked against the run schema (a bad config fails here, non-retryably,
 * listing every problem). The schema module is imported on first use, not at the top: every
 * workflow instance re-evaluates the modules it imports (the SDK's per-workflow module cache), and
 * building the zod schemas would cost every episode and domain loop milliseconds for nothing.
 * `webpackMode: "eager"` keeps the module in the one bundle (no chunk to load) yet unevaluated.
 */
export async function validRunConfig(input: unknown): Promise<RunConfig> {
  const { parseRunConfig, describeProblems } = await import(/* webpackMode: "eager" */ '../common/config.js');
  const parsed = parseRunConfig(input);
  if (!parsed.ok) {
    throw ApplicationFailure.create({ type: ErrorType.InvalidRunConfig, message: describeProblems(parsed.problems), nonRetryable: true, details: [parsed.problems] });
  }
  return parsed.config;
}
