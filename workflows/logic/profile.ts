import type { Outcome } from '../../common/contracts/index.js';

/** How one Defender fared by skill: the Attacker is shown this to aim at weaknesses. */
export type SkillStats = Record<string, { wrong: number; right: number }>;

/** Bounded, so the carried state (and the prompt) stays small however long the run. */
export const MAX_SKILLS = 24;

const normalise = (skill: string) => skill.trim().toLowerCase().replace(/\s+/g, ' ').slice(0, 60);

/**
 * Only two outcomes say something about the Defender: it was right (`defender_correct`) or wrong
 * on a valid, verified question (`accepted`). Invalid questions, duplicates and failures do not.
 */
export function recordSkill(stats: SkillStats, skill: string | undefined, outcome: Outcome): SkillStats {
  if (!skill || (outcome !== 'accepted' && outcome !== 'defender_correct')) return stats;
  const key = normalise(skill);
  if (!key) return stats;
  const prev = stats[key] ?? { wrong: 0, right: 0 };
  const next: SkillStats = { ...stats, [key]: outcome === 'accepted' ? { ...prev, wrong: prev.wrong + 1 } : { ...prev, right: prev.right + 1 } };
  const keys = Object.keys(next);
  if (keys.length <= MAX_SKILLS) return next;
  // Drop the least-tested skill other than the one just recorded.
  const drop = keys.filter((k) => k !== key).sort((x, y) => next[x]!.wrong + next[x]!.right - (next[y]!.wrong + next[y]!.right))[0]!;
  const { [drop]: _dropped, ...kept } = next;
  return kept;
}

/** A few lines for the Attacker's prompt: weakest skills first. */
export function describeProfile(stats: SkillStats, max = 8): string {
  const rows = Object.entries(stats)
    .sort(([, a], [, b]) => b.wrong / (b.wrong + b.right) - a.wrong / (a.wrong + a.right) || b.wrong - a.wrong)
    .slice(0, max);
  if (rows.length === 0) return '(no scored episodes yet)';
  return rows.map(([skill, s]) => `- ${skill}: wrong ${s.wrong}, right ${s.right}`).join('\n');
}
