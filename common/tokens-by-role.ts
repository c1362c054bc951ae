import type { TokensByRole } from './contracts/index.js';

/**
 * Tokens (or USD) by role, one place for the workflows' progress and the report's compute. Adding
 * reads a missing role as 0: episode records written before a role was counted (embedding) lack it.
 */
export const ROLES: readonly (keyof TokensByRole)[] = ['attacker', 'defender', 'judge', 'embedding'];

export const zeroTokens = (): TokensByRole => ({ attacker: 0, defender: 0, judge: 0, embedding: 0 });

export function addTokens(a: TokensByRole, b: Partial<TokensByRole>): TokensByRole {
  return { attacker: a.attacker + (b.attacker ?? 0), defender: a.defender + (b.defender ?? 0), judge: a.judge + (b.judge ?? 0), embedding: a.embedding + (b.embedding ?? 0) };
}

export const totalTokens = (t: TokensByRole): number => ROLES.reduce((sum, r) => sum + t[r], 0);
