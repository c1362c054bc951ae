import { metricMeter } from '@temporalio/workflow';
import type { EpisodeInput, EpisodeSummary } from '../common/contracts/index.js';
import { ROLES } from '../common/tokens-by-role.js';

/**
 * An episode's metrics (issue 17), through the SDK's workflow meter: not emitted while a history
 * replays, exported with the runtime's own at NANOFLUX_METRICS_ADDR (workers/logger.ts). Counters,
 * so Prometheus sums them over episodes; labels bounded: run, domain, outcome, role, model, tier. A worker
 * killed between emitting and completing the task can count an episode twice: the run's status is
 * the authority, these are for watching.
 */
export function countEpisode(input: EpisodeInput, summary: EpisodeSummary): void {
  const tags = { run: input.runId, domain: input.domain.name };
  metricMeter.createCounter('nanoflux_episodes', '1', 'Finished episodes by outcome (accepted, or the rejection reason)').add(1, { ...tags, outcome: summary.outcome });
  for (const role of ROLES) {
    const ref = input.models[role];
    const labels = { ...tags, role, model: ref.model, tier: ref.tier ?? 'standard' };
    const t = summary.tokens[role] ?? 0;
    if (t > 0) metricMeter.createCounter('nanoflux_tokens', '1', 'Tokens by role, model and service tier').add(t, labels);
    // Whole micro-dollars: the SDK's counters take integers.
    const usd = summary.cost?.[role] ?? 0;
    if (usd > 0) metricMeter.createCounter('nanoflux_cost_microusd', 'µUSD', 'Cost by role, model and service tier, in millionths of a USD').add(Math.round(usd * 1e6), labels);
  }
}
