import { Context } from '@temporalio/activity';
import { ErrorType, NanofluxError } from '../../common/errors.js';

/**
 * NanoFlux's activity metrics (issue 17), through the Temporal SDK's meter: exported beside the
 * runtime's own at NANOFLUX_METRICS_ADDR (workers/logger.ts), nothing when it is unset. Labels are
 * bounded: role, model, error type — never a text.
 */
/** How long a request waited for its endpoint's client-side rate limit (rate-limiter.ts), by model. */
export function recordRateLimitWait(ms: number, model: string): void {
  try {
    Context.current().metricMeter.createHistogram('nanoflux_rate_limit_wait', 'int', 'ms', "A request's wait for its endpoint's client-side rate limit").record(Math.round(ms), { model });
  } catch {
    // called directly, outside an activity
  }
}

export async function measuredModelCall<R>(role: string, model: string, call: () => Promise<R>): Promise<R> {
  let meter: Context['metricMeter'] | undefined;
  try {
    meter = Context.current().metricMeter;
  } catch {
    return call(); // called directly, outside an activity
  }
  const started = Date.now();
  try {
    const r = await call();
    meter.createHistogram('nanoflux_model_call_latency', 'int', 'ms', 'One model call of the game (every request of it: tool rounds, schema re-asks)').record(Date.now() - started, { role, model });
    return r;
  } catch (e) {
    const type = e instanceof NanofluxError ? e.type : 'other';
    meter.createCounter('nanoflux_model_call_failures', '1', `Failed model call attempts by error type (${ErrorType.RateLimited}: a 429)`).add(1, { role, model, type });
    throw e;
  }
}
