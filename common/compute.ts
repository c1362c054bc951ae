import type { ModelRef, RunConfig } from './config.js';

/**
 * What the report's compute accounting needs from the run beyond the files on disk (zod-free:
 * workflow code builds it). It travels in the report activity's input only, so histories that
 * predate it replay unchanged.
 */
export interface ReportComputeInput {
  /** Roles played by a paid model without a price: the run counted their calls as free. */
  unpriced: string[];
  /** This execution of the run: how long its domain loops generated (the run workflow's clock). */
  generation?: GenerationTiming;
}

/** One run execution's generation time; a re-entered run adds its own (seconds, when it had nothing left to do). */
export interface GenerationTiming {
  /** The run workflow's execution (run) id: a retried report activity rewrites the same entry. */
  execution: string;
  wallSeconds: number;
}

/** A model is paid when it is reached over the API and has no price: `local` models are free by definition. */
const unpriced = (m: ModelRef): boolean => m.provider === 'openai' && !m.price;

/** Attacker and Defender alternate between models a and b, so each role is priced only when both are. */
export function unpricedRoles(c: Pick<RunConfig, 'models'>): string[] {
  const { a, b, judge, embedding } = c.models;
  const duel = unpriced(a) || unpriced(b);
  return [...(duel ? ['attacker', 'defender'] : []), ...(unpriced(judge) ? ['judge'] : []), ...(unpriced(embedding) ? ['embedding'] : [])];
}

export function reportComputeInput(c: Pick<RunConfig, 'models'>, generation?: GenerationTiming): ReportComputeInput {
  return { unpriced: unpricedRoles(c), ...(generation ? { generation } : {}) };
}
