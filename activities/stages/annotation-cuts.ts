import type { AblationConfig } from '../../common/config.js';
import { ANNOTATION_PLACEMENTS, type AnnotationPlacement } from '../../common/config-training.js';
import type { CutSpec, TrainingExample } from '../../common/contracts/index.js';

/**
 * The annotation axis of an ablation: the whole set three times, the Attacker's annotation left
 * out, before the steps, after the answer. Only the training text differs between them (the same
 * examples in the same order), so a difference is the annotation's. Each is one cut point of
 * cuts.ts, seeded like every other.
 */
export function annotationPoints(
  order: TrainingExample[],
  cfg: Pick<AblationConfig, 'minExamples'>,
  skip: (value: string, reason: string) => void,
): { axis: 'annotation'; value: AnnotationPlacement; available: number; examples: TrainingExample[] }[] {
  if (order.length < cfg.minExamples) {
    for (const value of ANNOTATION_PLACEMENTS) skip(value, `${order.length} example${order.length === 1 ? '' : 's'} < minExamples ${cfg.minExamples}`);
    return [];
  }
  return ANNOTATION_PLACEMENTS.map((value) => ({ axis: 'annotation', value, available: order.length, examples: order }));
}

/** The plan a cut's training file is written with: an annotation cut puts the annotation its own way, every other cut as the domain does. */
export function cutPlan<P extends { annotation: AnnotationPlacement }>(plan: P, cut: Pick<CutSpec, 'axis' | 'value'>): P {
  return cut.axis === 'annotation' ? { ...plan, annotation: cut.value as AnnotationPlacement } : plan;
}
