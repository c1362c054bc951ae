import type { BilledTokens } from './contracts/index.js';
import { addTokens, zeroTokens } from './tokens-by-role.js';

/** The optional parts of two records, summed where either has them. */
const optionalSum = (a: BilledTokens, b: BilledTokens, key: 'batch' | 'failedAttempts') => (a[key] || b[key] ? { [key]: addTokens(a[key] ?? zeroTokens(), b[key] ?? zeroTokens()) } : {});

/** Two records summed (a domain's progress and an episode's summary). */
export function sumBilled(a: BilledTokens | undefined, b: BilledTokens | undefined): BilledTokens | undefined {
  if (!a || !b) return a ?? b;
  return { cachedPrompt: addTokens(a.cachedPrompt, b.cachedPrompt), flex: addTokens(a.flex, b.flex), ...optionalSum(a, b, 'batch'), ...optionalSum(a, b, 'failedAttempts') };
}
