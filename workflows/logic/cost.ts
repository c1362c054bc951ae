import type { ModelRef } from '../../common/config.js';
import type { Usage } from '../../common/contracts/index.js';

/** USD of one model call at the model's configured price; a model without a price (local) costs nothing. */
export function callCost(usage: Usage, price: ModelRef['price']): number {
  if (!price) return 0;
  return (usage.promptTokens * price.inputPerMillion + usage.completionTokens * price.outputPerMillion) / 1_000_000;
}

/** Embedding calls report one token count, all of it input. */
export function embeddingCost(tokens: number, price: ModelRef['price']): number {
  return callCost({ promptTokens: tokens, completionTokens: 0 }, price);
}
