import { condition, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunConfig } from '../common/config.js';
import type { PreflightProblem } from '../common/contracts/index.js';
import { SA } from '../common/search-attributes.js';
import { preflightPlan, problemLines } from './logic/preflight.js';
import type { StopReason } from './logic/progress.js';
import type { RunStatus } from './messages.js';
import { modelPreflightActivities, ownerSteps } from './options.js';
import { validRunConfig } from './validate.js';

/** Both halves of preflight at once, each on its own queue's worker: the store half on the run's data owner (`ownerQueue`). */
export async function preflightProblems(config: RunConfig, ownerQueue?: string): Promise<PreflightProblem[]> {
  const plan = preflightPlan(config);
  const [models, store] = await Promise.all([modelPreflightActivities.preflightModels(plan.models), ownerSteps(ownerQueue).storePreflight.preflightStore(plan.store)]);
  return [...models, ...store];
}

/**
 * The run's preflight, before calibration and any episode. What fails pauses the run (stage
 * `preflight-failed`, the problems in status and the memo) until `nanoflux resume`, which checks
 * again: a key set on the worker needs the worker restarted, so the run cannot notice by itself.
 * Returns whether to go on (false: stopped while paused).
 */
export async function preflightStep(
  config: RunConfig,
  st: RunStatus,
  controls: { resumes: () => number; stopRequested: () => StopReason | undefined; preflightLifted: () => Promise<void> },
  ownerQueue?: string,
): Promise<boolean> {
  for (;;) {
    st.stage = 'preflight';
    upsertSearchAttributes([{ key: SA.stage, value: 'preflight' }]);
    const seen = controls.resumes();
    const problems = await preflightProblems(config, ownerQueue);
    if (problems.length === 0) {
      st.preflight = { ok: true, problems: [] };
      st.stage = 'generating';
      upsertSearchAttributes([{ key: SA.stage, value: 'generating' }]);
      upsertMemo({ preflight: 'passed' });
      if (st.paused) await controls.preflightLifted();
      return true;
    }
    const lines = problemLines(problems);
    st.preflight = { ok: false, problems };
    st.paused = true;
    st.stage = 'paused';
    st.pausedBy = { ...st.pausedBy, user: st.pausedBy?.user ?? false, preflight: lines };
    upsertSearchAttributes([{ key: SA.stage, value: 'preflight-failed' }]);
    upsertMemo({ preflight: `failed: ${lines.join(' | ')}; fix it, then \`nanoflux resume ${config.runId}\`` });
    // A resume that came while the checks ran counts: the operator fixed something meanwhile.
    await condition(() => controls.resumes() > seen || controls.stopRequested() !== undefined);
    if (controls.stopRequested() !== undefined) return false;
  }
}

/** `nanoflux validate --check`: the run's preflight alone, on the same workers, for a config not yet launched. */
export async function nanofluxPreflight(input: unknown): Promise<{ runId: string; problems: PreflightProblem[] }> {
  upsertSearchAttributes([{ key: SA.kind, value: 'preflight' }]);
  const config = await validRunConfig(input);
  return { runId: config.runId, problems: await preflightProblems(config) };
}
