import type { ModelRef } from '../../common/config.js';
import type { Slot } from '../../common/contracts/index.js';

export interface EpisodeRoles {
  attackerSlot: Slot;
  attacker: ModelRef;
  defender: ModelRef;
}

/** Models A and B alternate: A attacks in even episodes, B in odd ones (docs/architecture.md, "The game"). */
export function rolesFor(episode: number, models: { a: ModelRef; b: ModelRef }): EpisodeRoles {
  return episode % 2 === 0
    ? { attackerSlot: 'a', attacker: models.a, defender: models.b }
    : { attackerSlot: 'b', attacker: models.b, defender: models.a };
}

/** Topics are drawn round-robin so every topic is covered evenly whatever the episode count. */
export function topicFor(episode: number, topics: readonly string[]): string {
  if (topics.length === 0) throw new Error('a domain needs at least one topic');
  return topics[episode % topics.length]!;
}
