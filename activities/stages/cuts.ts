import { createHash } from 'node:crypto';
import type { AblationConfig } from '../../common/config.js';
import type { AblationAxis, TrainingExample } from '../../common/contracts/index.js';

export interface AblationCut {
  variant: string;
  axis: AblationAxis;
  value: string;
  examples: TrainingExample[];
}

export interface SkippedCut {
  variant: string;
  reason: string;
}

export const cutVariant = (axis: AblationAxis, value: string): string => `ablation-${axis}-${value}`;

/**
 * A fixed pseudo-random order of a dataset: by a hash of each example's id, so every size cut is
 * a prefix of the next (50 ⊂ 100 ⊂ 200) and the order survives a re-run, but does not follow
 * episode order (early episodes come from a colder controller and would bias small cuts).
 */
export function shuffledForSize(examples: TrainingExample[]): TrainingExample[] {
  const key = (e: TrainingExample) => createHash('sha256').update(e.id).digest('hex');
  return [...examples].sort((a, b) => key(a).localeCompare(key(b)) || a.id.localeCompare(b.id));
}

/**
 * The ablation cuts of one domain's dataset: one per complexity level (1–5) and quality level
 * (L1–L5) present, and one per size. A cut under `minExamples`, or a size the dataset cannot fill,
 * is skipped with its reason rather than trained on a handful of examples and reported as a point.
 */
export function ablationCuts(examples: TrainingExample[], cfg: AblationConfig): { cuts: AblationCut[]; skipped: SkippedCut[] } {
  const cuts: AblationCut[] = [];
  const skipped: SkippedCut[] = [];
  const consider = (axis: AblationAxis, value: string, rows: TrainingExample[], reason?: string) => {
    const variant = cutVariant(axis, value);
    if (reason) skipped.push({ variant, reason });
    else if (rows.length < cfg.minExamples) skipped.push({ variant, reason: `${rows.length} example${rows.length === 1 ? '' : 's'} < minExamples ${cfg.minExamples}` });
    else cuts.push({ variant, axis, value, examples: rows });
  };
  for (const axis of cfg.axes) {
    if (axis === 'complexity') {
      for (let level = 1; level <= 5; level++) {
        const rows = examples.filter((e) => e.complexity === level);
        if (rows.length > 0) consider(axis, String(level), rows);
      }
    } else if (axis === 'quality') {
      for (let level = 1; level <= 5; level++) {
        const rows = examples.filter((e) => e.qualityLevel === `L${level}`);
        if (rows.length > 0) consider(axis, `L${level}`, rows);
      }
    } else {
      const order = shuffledForSize(examples);
      for (const n of [...new Set(cfg.sizes)].sort((a, b) => a - b)) {
        consider(axis, String(n), order.slice(0, n), n > order.length ? `size ${n} > the ${order.length} examples in the set` : undefined);
      }
    }
  }
  return { cuts, skipped };
}
