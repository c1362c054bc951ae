import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { type CalibrationReport, VERDICT_FIELDS } from '../../common/contracts/calibration.js';
import { ErrorType, NanofluxError } from '../../common/errors.js';

/**
 * NanoFlux's activity metrics (issue 17), through the Temporal SDK's meter: exported beside the
 * runtime's own at NANOFLUX_METRICS_ADDR (workers/logger.ts), nothing when it is unset. Labels are
 * bounded: role, model, endpoint host, domain, error type — never a text.
 */

/** The current activity's meter; none when called directly, outside an activity (tests, benchmarks' plain loops). */
function activityMeter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

/** An endpoint as a label: its host (a base URL's path and query can be anything); `openai` for the default, `local` for the embedded model. */
export function endpointLabel(baseURL: string | undefined, provider?: string): string {
  if (provider === 'local') return 'local';
  if (!baseURL) return 'openai';
  try {
    return new URL(baseURL).host;
  } catch {
    return 'invalid';
  }
}

/** How long a request waited for its endpoint's client-side rate limit (rate-limiter.ts), by model and endpoint. */
export function recordRateLimitWait(ms: number, model: string, endpoint: string): void {
  activityMeter()?.createHistogram('nanoflux_rate_limit_wait', 'int', 'ms', "A request's wait for its endpoint's client-side rate limit").record(Math.round(ms), { model, endpoint });
}

/** One model call's latency, or its failure by type (a 429 is `rate_limited`), by role, model and endpoint. A failure here is an attempt Temporal retries, unless its type is non-retryable. */
export async function measuredModelCall<R>(labels: { role: string; model: string; endpoint: string }, call: () => Promise<R>): Promise<R> {
  const meter = activityMeter();
  if (!meter) return call();
  const started = Date.now();
  try {
    const r = await call();
    meter.createHistogram('nanoflux_model_call_latency', 'int', 'ms', 'One model call of the game (every request of it: tool rounds, schema re-asks)').record(Date.now() - started, labels);
    return r;
  } catch (e) {
    const type = e instanceof NanofluxError ? e.type : 'other';
    meter.createCounter('nanoflux_model_call_failures', '1', `Failed model call attempts by error type (${ErrorType.RateLimited}: a 429)`).add(1, { ...labels, type });
    throw e;
  }
}

/** How long the novelty check's nearest-neighbour searches took (the run's examples and the benchmark's test set), by domain. */
export function recordNoveltySearch(ms: number, domain: string): void {
  activityMeter()?.createHistogram('nanoflux_novelty_search_latency', 'int', 'ms', "The novelty check's nearest-neighbour searches, embedding excluded").record(Math.round(ms), { domain });
}

/** The Judge's agreement with the labels of its calibration set, per verdict field (0–1), and whether it passed. */
export function recordCalibration(domain: string, judgeModel: string, r: CalibrationReport): void {
  const meter = activityMeter();
  if (!meter) return;
  const agreement = meter.createGauge('nanoflux_judge_calibration_agreement', 'float', '1', "The Judge's agreement with its calibration set's labels, per verdict field");
  for (const field of VERDICT_FIELDS) agreement.set(r.agreement[field].rate, { domain, model: judgeModel, field });
  meter.createGauge('nanoflux_judge_calibration_passed', 'int', '1', 'Whether the Judge passed its calibration (1) or not (0)').set(r.passed ? 1 : 0, { domain, model: judgeModel });
}
