import OpenAI from 'openai';
import type { Usage } from '../../../common/contracts/index.js';
import { sleep } from '../../kit/sleep.js';

/**
 * Service tiers (issue 16): a `flex` ref's requests carry `service_tier: "flex"` (batch prices on
 * synchronous calls, slower, sometimes refused for lack of capacity). A refusal is a 429 "Resource
 * Unavailable" that the provider does not bill and that says nothing about the endpoint's rate limit:
 * the call backs off and asks again at flex, and once it has been refused for `fallbackMs` it goes on
 * at the standard tier, for the rest of that model call. What each response was billed at comes back
 * in its `service_tier` and is recorded with its usage.
 */

/** Slower than the standard tier's 120 s: OpenAI advises 15 minutes for flex; a model activity has 10. */
export const DEFAULT_FLEX_TIMEOUT_MS = 540_000;
/** How long a call waits for flex capacity before it goes on at the standard tier, when the ref does not say. */
export const DEFAULT_FLEX_FALLBACK_MS = 240_000;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** One model call's flex state, across its requests (tool rounds, schema re-asks). */
export interface FlexCall {
  fallbackMs: number;
  /** When the first refusal came. */
  refusedSince?: number;
  /** Refused for fallbackMs: the rest of the call goes at the standard tier. */
  fellBack: boolean;
}

export const flexCall = (fallbackMs: number): FlexCall => ({ fallbackMs, fellBack: false });

/** A flex request refused for lack of capacity (not billed, not a rate limit). */
export function isCapacityRefusal(e: unknown): boolean {
  if (!(e instanceof OpenAI.APIError) || e.status !== 429) return false;
  return /resource[ _-]?unavailable/i.test(`${e.code ?? ''} ${e.type ?? ''} ${e.message}`);
}

/** Sends `body` at flex while capacity comes within the call's fallback time, else at the standard tier. */
export async function sendAtFlex<R>(
  call: FlexCall,
  body: object,
  send: (body: object) => Promise<R>,
  signal: AbortSignal,
  clock: { now(): number; sleep(ms: number, signal: AbortSignal): Promise<void> } = realClock,
): Promise<R> {
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    if (call.fellBack) return send(body);
    try {
      return await send({ ...body, service_tier: 'flex' });
    } catch (e) {
      if (!isCapacityRefusal(e)) throw e;
      call.refusedSince ??= clock.now();
      const left = call.fallbackMs - (clock.now() - call.refusedSince);
      if (left <= 0) {
        call.fellBack = true;
        continue;
      }
      await clock.sleep(Math.min(backoff, left), signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

const realClock = {
  now: () => Date.now(),
  sleep: async (ms: number, signal: AbortSignal) => {
    if (!(await sleep(ms, signal))) throw new Error('cancelled while waiting for flex capacity');
  },
};

const TIER_PARTS = ['flex', 'batch'] as const;

/** Two usages summed (a failed attempt's and the next one's), tier parts and cached tokens included. */
export function sumUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens };
  const cached = (a.cachedPromptTokens ?? 0) + (b.cachedPromptTokens ?? 0);
  if (cached > 0) sum.cachedPromptTokens = cached;
  const reasoning = (a.reasoningTokens ?? 0) + (b.reasoningTokens ?? 0);
  if (reasoning > 0) sum.reasoningTokens = reasoning;
  const tiers = [...new Set([...(a.billedTiers ?? []), ...(b.billedTiers ?? [])])];
  if (tiers.length > 0) sum.billedTiers = tiers;
  for (const t of TIER_PARTS) {
    const x = a[t];
    const y = b[t];
    if (x || y) sum[t] = { promptTokens: (x?.promptTokens ?? 0) + (y?.promptTokens ?? 0), completionTokens: (x?.completionTokens ?? 0) + (y?.completionTokens ?? 0), cachedPromptTokens: (x?.cachedPromptTokens ?? 0) + (y?.cachedPromptTokens ?? 0) };
  }
  return sum;
}

/** What earlier attempts of this activity were billed for, from their last heartbeat (untrusted shape: checked). */
export function spentBefore(progress: unknown): Usage | undefined {
  const spent = (progress as { spent?: Usage } | undefined)?.spent;
  if (!spent || typeof spent.promptTokens !== 'number' || typeof spent.completionTokens !== 'number') return undefined;
  return spent.promptTokens + spent.completionTokens > 0 ? spent : undefined;
}

interface ResponseUsage {
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
  service_tier?: string | null;
}

/** Adds one response's usage as the provider reports it: cached prompt and reasoning tokens, and the part billed at flex or through the Batch API (which the batcher marks `batch`). */
export function addBilledUsage(usage: Usage, resp: ResponseUsage): void {
  // In place: the model call's usage object is the one its heartbeat reports.
  Object.assign(usage, sumUsage(usage, usageOf(resp)));
}

/** One response's usage as the provider reports it. */
function usageOf(resp: ResponseUsage): Usage {
  const promptTokens = resp.usage?.prompt_tokens ?? 0;
  const completionTokens = resp.usage?.completion_tokens ?? 0;
  const cachedPromptTokens = resp.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoningTokens = resp.usage?.completion_tokens_details?.reasoning_tokens ?? 0;
  const tier = resp.service_tier;
  return {
    promptTokens,
    completionTokens,
    ...(cachedPromptTokens > 0 ? { cachedPromptTokens } : {}),
    ...(reasoningTokens > 0 ? { reasoningTokens } : {}),
    ...(tier ? { billedTiers: [tier] } : {}),
    ...(tier === 'flex' || tier === 'batch' ? { [tier]: { promptTokens, completionTokens, cachedPromptTokens } } : {}),
  };
}
