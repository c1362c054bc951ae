import type { ModelRef } from '../../common/config.js';
import type { BilledTokens, TierTokens, TokensByRole, Usage } from '../../common/contracts/index.js';
import { addTokens, zeroTokens } from '../../common/tokens-by-role.js';
import { sumBilled } from '../../common/billed-tokens.js';

export { sumBilled };

/** Flex is billed at batch rates (OpenAI: half), unless the price says otherwise. */
export const DEFAULT_FLEX_DISCOUNT = 0.5;
/** The Batch API's discount at OpenAI, unless the price says otherwise. */
export const DEFAULT_BATCH_DISCOUNT = 0.5;

const NONE: TierTokens = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };

type Tokens = { promptTokens: number; completionTokens: number; cachedPromptTokens?: number };

/**
 * USD of one model call as the provider billed it (issue 16): cached prompt tokens at the cached
 * price, the parts billed at flex and through the Batch API at their discounts, the rest at the configured price. A model
 * without a price (local) costs nothing; a usage from before these were recorded is all standard.
 */
export function callCost(usage: Usage, price: ModelRef['price']): number {
  if (!price) return 0;
  const at = (t: Tokens) => {
    const cached = Math.min(t.cachedPromptTokens ?? 0, t.promptTokens);
    return ((t.promptTokens - cached) * price.inputPerMillion + cached * (price.cachedInputPerMillion ?? price.inputPerMillion) + t.completionTokens * price.outputPerMillion) / 1_000_000;
  };
  const flex = usage.flex ?? NONE;
  const batch = usage.batch ?? NONE;
  const standard = {
    promptTokens: usage.promptTokens - flex.promptTokens - batch.promptTokens,
    completionTokens: usage.completionTokens - flex.completionTokens - batch.completionTokens,
    cachedPromptTokens: (usage.cachedPromptTokens ?? 0) - flex.cachedPromptTokens - batch.cachedPromptTokens,
  };
  return at(standard) + at(flex) * (1 - (price.flexDiscount ?? DEFAULT_FLEX_DISCOUNT)) + at(batch) * (1 - (price.batchDiscount ?? DEFAULT_BATCH_DISCOUNT));
}

/** Embedding calls report one token count, all of it input. */
export function embeddingCost(tokens: number, price: ModelRef['price']): number {
  return callCost({ promptTokens: tokens, completionTokens: 0 }, price);
}

/** Adds one call's billing detail to an episode's (or a domain's) record, creating it at the first detail the provider gave. */
export function addBilled(billed: BilledTokens | undefined, role: keyof TokensByRole, usage: Usage): BilledTokens | undefined {
  const cached = usage.cachedPromptTokens ?? 0;
  const flex = (usage.flex?.promptTokens ?? 0) + (usage.flex?.completionTokens ?? 0);
  const batch = (usage.batch?.promptTokens ?? 0) + (usage.batch?.completionTokens ?? 0);
  if (cached === 0 && flex === 0 && batch === 0) return billed;
  const b = billed ?? { cachedPrompt: zeroTokens(), flex: zeroTokens() };
  return {
    ...b,
    cachedPrompt: addTokens(b.cachedPrompt, { [role]: cached }),
    flex: addTokens(b.flex, { [role]: flex }),
    // Absent until a call was batched, so the records of runs without the batch tier keep their shape.
    ...(batch > 0 || b.batch ? { batch: addTokens(b.batch ?? zeroTokens(), { [role]: batch }) } : {}),
  };
}

/** Records the tokens of failed attempts apart (they are in the episode's tokens and cost too): the provider billed them. */
export function addFailedAttempts(billed: BilledTokens | undefined, role: keyof TokensByRole, usage: Usage): BilledTokens {
  const b = addBilled(billed, role, usage) ?? { cachedPrompt: zeroTokens(), flex: zeroTokens() };
  return { ...b, failedAttempts: addTokens(b.failedAttempts ?? zeroTokens(), { [role]: usage.promptTokens + usage.completionTokens }) };
}
