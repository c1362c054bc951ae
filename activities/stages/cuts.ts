import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { AblationConfig } from '../../common/config.js';
import type { AblationAxis, TrainingExample, VariantSpec } from '../../common/contracts/index.js';
import { jsonlText, writeFileAtomic } from '../kit/files.js';
import * as L from './layout.js';
import { annotationPoints } from './annotation-cuts.js';

/** One seeded run of one cut: the cut's examples are the same for every replicate, only the trainer's seed differs. */
export interface AblationCut {
  /** `ablation-<axis>-<value>-s<replicate>`: workflow ids and the variant's folder derive from it. */
  variant: string;
  axis: AblationAxis;
  value: string;
  /** 1..ablation.seeds. */
  replicate: number;
  /** Examples at this level (the whole set for a size cut) before size matching. */
  available: number;
  examples: TrainingExample[];
}

export interface SkippedCut {
  variant: string;
  reason: string;
}

/** A cut as a whole (what a skip names): every seed of it is skipped together. */
export const cutName = (axis: AblationAxis, value: string): string => `ablation-${axis}-${value}`;
export const cutVariant = (axis: AblationAxis, value: string, replicate: number): string => `${cutName(axis, value)}-s${replicate}`;

/**
 * A fixed pseudo-random order of a dataset: by a hash of each example's id, so every size cut is
 * a prefix of the next (50 ⊂ 100 ⊂ 200) and the order survives a re-run, but does not follow
 * episode order (early episodes come from a colder controller and would bias small cuts). Level
 * cuts are subsampled in the same order: a level's 20-example subsample holds its 10-example one.
 */
export function shuffledForSize(examples: TrainingExample[]): TrainingExample[] {
  const key = (e: TrainingExample) => createHash('sha256').update(e.id).digest('hex');
  return [...examples].sort((a, b) => key(a).localeCompare(key(b)) || a.id.localeCompare(b.id));
}

interface Point {
  axis: AblationAxis;
  value: string;
  available: number;
  examples: TrainingExample[];
}

const plural = (n: number) => `${n} example${n === 1 ? '' : 's'}`;

/** The levels present on a level axis, each with its examples in the fixed hash order. */
function levels(order: TrainingExample[], axis: 'complexity' | 'quality'): { value: string; rows: TrainingExample[] }[] {
  const out: { value: string; rows: TrainingExample[] }[] = [];
  for (let level = 1; level <= 5; level++) {
    const rows = order.filter((e) => (axis === 'complexity' ? e.complexity === level : e.qualityLevel === `L${level}`));
    if (rows.length > 0) out.push({ value: axis === 'complexity' ? String(level) : `L${level}`, rows });
  }
  return out;
}

/**
 * The cuts of one level axis, size-matched: a level with more examples would otherwise win (or lose)
 * by its size, and a curve over levels could not show an optimum in the level itself. 'smallest'
 * takes every eligible level down to the smallest one's size; a number takes each to that size and
 * skips the levels that cannot fill it.
 */
function levelPoints(order: TrainingExample[], axis: 'complexity' | 'quality', cfg: AblationConfig, skipped: SkippedCut[]): Point[] {
  const eligible = levels(order, axis).filter(({ value, rows }) => {
    if (rows.length >= cfg.minExamples) return true;
    skipped.push({ variant: cutName(axis, value), reason: `${plural(rows.length)} < minExamples ${cfg.minExamples}` });
    return false;
  });
  const target = cfg.sizeMatch === 'smallest' ? Math.min(...eligible.map((l) => l.rows.length)) : cfg.sizeMatch === false ? undefined : cfg.sizeMatch;
  return eligible.flatMap(({ value, rows }): Point[] => {
    if (target === undefined) return [{ axis, value, available: rows.length, examples: rows }];
    if (rows.length < target) {
      skipped.push({ variant: cutName(axis, value), reason: `${plural(rows.length)} < sizeMatch ${target}` });
      return [];
    }
    return [{ axis, value, available: rows.length, examples: rows.slice(0, target) }];
  });
}

/**
 * The ablation cuts of one domain's dataset: one per complexity level (1–5) and quality level
 * (L1–L5) present, size-matched per `sizeMatch`, and one per size; each run `seeds` times. A cut
 * under `minExamples`, a size the dataset cannot fill, or a level under a fixed `sizeMatch`, is
 * skipped with its reason rather than trained on a handful of examples and reported as a point.
 * Deterministic: the same dataset and config give the same cuts, in the same order, every time.
 */
export function ablationCuts(examples: TrainingExample[], cfg: AblationConfig): { cuts: AblationCut[]; skipped: SkippedCut[] } {
  const skipped: SkippedCut[] = [];
  const points: Point[] = [];
  const order = shuffledForSize(examples);
  for (const axis of cfg.axes) {
    if (axis === 'annotation') {
      points.push(...annotationPoints(order, cfg, (value, reason) => skipped.push({ variant: cutName(axis, value), reason })));
      continue;
    }
    if (axis !== 'size') {
      points.push(...levelPoints(order, axis, cfg, skipped));
      continue;
    }
    for (const n of [...new Set(cfg.sizes)].sort((a, b) => a - b)) {
      const variant = cutName(axis, String(n));
      if (n > order.length) skipped.push({ variant, reason: `size ${n} > the ${order.length} examples in the set` });
      else if (n < cfg.minExamples) skipped.push({ variant, reason: `${plural(n)} < minExamples ${cfg.minExamples}` });
      else points.push({ axis, value: String(n), available: order.length, examples: order.slice(0, n) });
    }
  }
  const cuts = points.flatMap((p) =>
    Array.from({ length: cfg.seeds }, (_, i): AblationCut => ({ ...p, replicate: i + 1, variant: cutVariant(p.axis, p.value, i + 1) })),
  );
  return { cuts, skipped };
}

export const cutSpec = (c: AblationCut): VariantSpec => ({
  variant: c.variant,
  cut: { axis: c.axis, value: c.value, replicate: c.replicate, available: c.available },
  trainExamples: c.examples.length,
});

/**
 * Writes a cut's training file. A variant whose earlier file differs (a re-ablation with another
 * sizeMatch, or of a grown dataset) loses its whole folder first: its fine-tune, predictions and
 * result belong to the old data, and the stages would otherwise find them and skip the work.
 */
export function writeCutTrainingFile(home: string, runId: string, domain: string, variant: string, rows: unknown[]): void {
  const path = L.trainDataPath(home, runId, domain, variant);
  const text = jsonlText(rows);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  rmSync(L.variantDir(home, runId, domain, variant), { recursive: true, force: true });
  writeFileAtomic(path, text);
}
