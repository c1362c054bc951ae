import { ApplicationFailure, condition, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunConfig } from '../common/config.js';
import { calibrationLine, type CalibrationOutcome } from '../common/contracts/calibration.js';
import { ErrorType } from '../common/errors.js';
import { SA } from '../common/search-attributes.js';
import type { StopReason } from './logic/progress.js';
import type { RunStatus } from './messages.js';
import { calibrationRequest } from './logic/calibration-request.js';
import { calibrationActivities } from './options.js';

/** What a calibration failure says, one line per domain that failed. */
export function calibrationFailures(outcomes: CalibrationOutcome[]): string[] {
  return outcomes.flatMap((o) => ('report' in o && !o.report.passed ? [`${o.domain}: ${o.report.reasons.join('; ')}`] : []));
}

/**
 * The Judge's calibration, one domain after another (two domains of one pack share the cached
 * result). A Judge below the bar follows `onFail`: pause before any episode until
 * `--accept-judge` (or a stop), warn and go on, or fail the run. Returns whether to generate.
 */
export async function calibrationStep(
  config: RunConfig,
  st: RunStatus,
  controls: { calibrationAccepted: () => { by?: string } | undefined; stopRequested: () => StopReason | undefined; holdLifted: () => Promise<void> },
): Promise<boolean> {
  const c = config.judge.calibration;
  if (c === false) return true;
  st.stage = 'calibrating';
  upsertSearchAttributes([{ key: SA.stage, value: 'calibrating' }]);
  const outcomes: CalibrationOutcome[] = [];
  for (const d of config.domains) {
    outcomes.push(
      await calibrationActivities.calibrateJudge(calibrationRequest(config, d, c.items, c.minAgreement)),
    );
  }
  st.calibration = outcomes;
  upsertMemo({ calibration: outcomes.map((o) => ('report' in o ? `${o.domain}: ${calibrationLine(o.report)}` : `${o.domain}: not calibrated (${o.skipped})`)).join(' | ') });
  const failures = calibrationFailures(outcomes);
  if (failures.length > 0 && c.onFail === 'fail') {
    throw ApplicationFailure.nonRetryable(`the Judge failed its calibration: ${failures.join(' | ')}`, ErrorType.JudgeUncalibrated);
  }
  if (failures.length > 0 && c.onFail === 'pause') {
    const reason = `the Judge failed its calibration (${failures.join(' | ')}); \`nanoflux resume ${config.runId} --accept-judge\` goes on anyway`;
    st.paused = true;
    st.stage = 'paused';
    st.pausedBy = { user: false, calibration: reason };
    upsertSearchAttributes([{ key: SA.stage, value: 'calibration-failed' }]);
    await condition(() => controls.calibrationAccepted() !== undefined || controls.stopRequested() !== undefined);
    if (!controls.calibrationAccepted()) return false;
    st.judgeAccepted = controls.calibrationAccepted();
    st.stage = 'generating';
    upsertSearchAttributes([{ key: SA.stage, value: 'generating' }]);
    await controls.holdLifted();
    return true;
  }
  st.stage = 'generating';
  upsertSearchAttributes([{ key: SA.stage, value: 'generating' }]);
  return true;
}
