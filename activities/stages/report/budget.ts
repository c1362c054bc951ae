import { thousands } from './format.js';
import type { ReportedVariant } from './types.js';

/**
 * How a baseline's training length was set (finetune.training.match), said beside the compute ratio
 * it explains: the same epochs make the ratio the sets' size ratio; the same tokens make it ~1.
 */
export function budgetNote(v: ReportedVariant | undefined): string {
  const b = v?.train?.budget;
  if (!b) return '';
  if (b.by === 'tokens') return `; trained to ${b.of}'s token budget (${thousands(b.tokens)} tokens, training.match "tokens")`;
  return `; trained for the same ${b.epochs} epoch${b.epochs === 1 ? '' : 's'} as tuned (training.match "epochs")`;
}
