import { ApplicationFailure } from '@temporalio/common';
import { type CalibrationConfig, DEFAULT_CALIBRATION, type RunConfig } from '../../common/config.js';
import type { CalibrationOutcome } from '../../common/contracts/calibration.js';
import { readEnv } from '../../common/env.js';
import { ErrorType } from '../../common/errors.js';
import { hinted, OperationalError, UserError } from './errors.js';
import { calibrationRequest } from '../../workflows/logic/calibration-request.js';

/** What `nanoflux calibrate` measured: one outcome per domain, and the bar it was measured against. */
export interface CalibrationRun {
  outcomes: CalibrationOutcome[];
  items: number;
  minAgreement: number;
  /** Where the answers and reports are cached (`<home>/calibration`). */
  home: string;
}

/** A Judge call that failed for now (429, 5xx, a timeout): tried again this many times, as the worker's retry policy would. */
const ATTEMPTS = 4;

/**
 * The Judge's calibration in this process, without Temporal: the game's own `calibrateJudge`
 * (activities/game/activities.ts, run directly; activities/kit/boundary.ts lets it run outside an
 * activity) with the chat model the worker builds from the same ref (activities/game/models/build.ts,
 * its rate limiter included). The request is the one workflows/calibration.ts sends, so the cache
 * key is the same: with the worker's NANOFLUX_HOME a run finds what this measured, and the other way round.
 * The activity code is imported here, not at the top of the command line: every other command stays quick to start.
 */
export async function calibrateInProcess(config: RunConfig, opts: { items?: number; onDomain?: (domain: string, items: number) => void }): Promise<CalibrationRun> {
  const c: CalibrationConfig = config.judge.calibration === false ? DEFAULT_CALIBRATION : config.judge.calibration;
  const items = opts.items ?? c.items;
  const env = readEnv();
  const [{ createGameActivities }, { buildChatModel }, { defaultDatasetsDir }, { closePythonSandbox }, { closeMcpConnections }] = await Promise.all([
    import('../../activities/game/activities.js'),
    import('../../activities/game/models/build.js'),
    import('../../activities/store/decontamination.js'),
    import('../../activities/game/judge/python-sandbox.js'),
    import('../../activities/game/judge/mcp.js'),
  ]);
  const game = createGameActivities({ chatModel: (ref) => buildChatModel(ref), home: env.home, datasetsDir: defaultDatasetsDir(env) });
  const outcomes: CalibrationOutcome[] = [];
  try {
    for (const d of config.domains) {
      opts.onDomain?.(d.name, items);
      const request = calibrationRequest(config, d, items, c.minAgreement);
      outcomes.push(await withRetries(d.name, env.home, () => game.calibrateJudge(request)));
    }
  } finally {
    await closePythonSandbox();
    await closeMcpConnections();
  }
  return { outcomes, items, minAgreement: c.minAgreement, home: env.home };
}

/**
 * The calibration again after a failure that may pass (the answers already received are on disk,
 * so a retry asks only for the rest); one that will not pass becomes the CLI's error.
 */
async function withRetries(domain: string, home: string, calibrate: () => Promise<CalibrationOutcome>): Promise<CalibrationOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await calibrate();
    } catch (e) {
      const f = e instanceof ApplicationFailure ? e : undefined;
      const what = `calibrating the Judge on domain ${domain} failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
      if (f?.type === ErrorType.MissingApiKey) throw new UserError(hinted(what, "set it in this command's environment (the config names the variable, never the key)"));
      if (f && !f.nonRetryable && attempt < ATTEMPTS) {
        await new Promise((r) => setTimeout(r, Math.min(30_000, typeof f.nextRetryDelay === 'number' ? f.nextRetryDelay : 2000 * 2 ** (attempt - 1))));
        continue;
      }
      throw new OperationalError(hinted(what, `check the judge model's endpoint; the answers received so far are kept in ${home}/calibration and a rerun goes on from them`));
    }
  }
}
