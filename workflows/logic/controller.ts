import type { Outcome } from '../../common/contracts/index.js';

export interface ControllerConfig {
  targetWinRate: number;
  window: number;
  tolerance: number;
  min: number;
  max: number;
}

type Observation = 'win' | 'too_easy' | 'too_hard';

/** The adaptive complexity controller's state, carried by the domain loop. */
export interface ComplexityController {
  level: number;
  /** Scored episodes since the last adjustment. */
  recent: Observation[];
}

const OBSERVED: Partial<Record<Outcome, Observation>> = { accepted: 'win', defender_correct: 'too_easy', too_hard: 'too_hard' };

/**
 * Only episodes that say how hard the level is count: the Attacker won (`accepted`), or lost
 * because the Defender solved it (`defender_correct`) or — in solve-rate mode — because too few
 * samples did (`too_hard`). Invalid questions, duplicates and failures say nothing about the level.
 * After `window` such episodes: too few wins moves the level towards the losses' side (harder if
 * they were mostly too easy), too many wins eases off by one.
 */
export function observe(c: ComplexityController, outcome: Outcome, cfg: ControllerConfig | undefined): ComplexityController {
  const o = OBSERVED[outcome];
  if (!cfg || !o) return c;
  const recent = [...c.recent, o];
  if (recent.length < cfg.window) return { ...c, recent };
  const count = (x: Observation) => recent.filter((r) => r === x).length;
  const winRate = count('win') / recent.length;
  let level = c.level;
  if (winRate < cfg.targetWinRate - cfg.tolerance) level += count('too_easy') >= count('too_hard') ? 1 : -1;
  else if (winRate > cfg.targetWinRate + cfg.tolerance) level -= 1;
  return { level: Math.min(cfg.max, Math.max(cfg.min, level)), recent: [] };
}
