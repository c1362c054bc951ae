import { metricMeter } from '@temporalio/workflow';
import type { EpisodeInput, EpisodeSummary } from '../common/contracts/index.js';
import { ROLES } from '../common/tokens-by-role.js';

/**
 * An episode's metrics (issue 17), through the SDK's workflow meter: not emitted while a history
 * replays, exported with the runtime's own at NANOFLUX_METRICS_ADDR (workers/logger.ts). Counters,
 * so Prometheus sums them over episodes; labels bounded: run, domain, outcome, role, model. A worker
 * killed between emitting and completing the task can count an episode twice: the run's status is
 * the authority, these are for watching.
 */
export function countEpisode(input: EpisodeInput, summary: EpisodeSummary): void {
  const tags = { run: input.runId, domain: input.domain.name };
  metricMeter.createCounter('nanoflux_episodes', '1', 'Finished episodes by outcome (accepted, or the rejection reason)').add(1, { ...tags, outcome: summary.outcome });
  const model = { attacker: input.models.attacker.model, defender: input.models.defender.model, judge: input.models.judge.model, embedding: input.models.embedding.model };
  for (const role of ROLES) {
    const t = summary.tokens[role] ?? 0;
    if (t > 0) metricMeter.createCounter('nanoflux_tokens', '1', 'Tokens by role and model').add(t, { ...tags, role, model: model[role] });
    // Whole micro-dollars: the SDK's counters take integers.
    const usd = summary.cost?.[role] ?? 0;
    if (usd > 0) metricMeter.createCounter('nanoflux_cost_microusd', 'µUSD', 'Cost by role and model, in millionths of a USD').add(Math.round(usd * 1e6), { ...tags, role, model: model[role] });
  }
}
