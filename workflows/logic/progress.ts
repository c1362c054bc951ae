import { type BilledTokens, type EpisodeSummary, OUTCOMES, type RejectionReason, type TokensByRole } from '../../common/contracts/index.js';
import { type FailureReason, recordFailure } from './breaker.js';
import { addTokens, totalTokens, zeroTokens } from '../../common/tokens-by-role.js';
import { sumBilled } from './cost.js';

export { addTokens, totalTokens, zeroTokens };

export type StopReason = 'target_reached' | 'max_episodes' | 'token_budget' | 'stopped';

export interface DomainProgress {
  domain: string;
  accepted: number;
  rejected: Record<RejectionReason, number>;
  episodesStarted: number;
  episodesFinished: number;
  tokens: TokensByRole;
  /** USD by role. */
  cost: TokensByRole;
  /** Of `tokens`, those the provider billed from its prompt cache or at flex (absent until it says so of a call). */
  billed?: BilledTokens;
  /**
   * The verified gate's record (absent in progress from before it): episodes whose reference an
   * executed or rule check decided, how many of them it confirmed, how many accepted examples it
   * confirmed, and how often it overruled the Judge.
   */
  verification?: VerificationTally;
  /** Failed episodes by failure type (ErrorType, or `other`), with the last message (absent until one fails). */
  failures?: Record<string, FailureReason>;
}

export interface VerificationTally {
  checked: number;
  confirmed: number;
  acceptedVerified: number;
  judgeOverruled: number;
  /** Defender answers decided by a rule (number, option) rather than by the Judge. */
  defendersByRule: number;
}

const zeroTally = (): VerificationTally => ({ checked: 0, confirmed: 0, acceptedVerified: 0, judgeOverruled: 0, defendersByRule: 0 });

function tally(t: VerificationTally | undefined, s: EpisodeSummary): VerificationTally | undefined {
  const v = s.verification;
  if (!v) return t;
  const base = t ?? zeroTally();
  return {
    checked: base.checked + (v.referenceVerified !== null ? 1 : 0),
    confirmed: base.confirmed + (v.referenceVerified === true ? 1 : 0),
    acceptedVerified: base.acceptedVerified + (s.outcome === 'accepted' && v.referenceVerified === true ? 1 : 0),
    judgeOverruled: base.judgeOverruled + (v.disagreements.reference ? 1 : 0) + v.disagreements.defenders,
    defendersByRule: base.defendersByRule + v.defenderDecidedBy.filter((d) => d === 'rule').length,
  };
}

export function newProgress(domain: string): DomainProgress {
  const rejected = Object.fromEntries(OUTCOMES.filter((o) => o !== 'accepted').map((o) => [o, 0])) as Record<RejectionReason, number>;
  return { domain, accepted: 0, rejected, episodesStarted: 0, episodesFinished: 0, tokens: zeroTokens(), cost: zeroTokens() };
}

export function applySummary(p: DomainProgress, s: EpisodeSummary): DomainProgress {
  const rejected = { ...p.rejected };
  // `?? 0`: progress carried by older code lacks outcomes added since.
  if (s.outcome !== 'accepted') rejected[s.outcome] = (rejected[s.outcome] ?? 0) + 1;
  return {
    ...p,
    accepted: p.accepted + (s.outcome === 'accepted' ? 1 : 0),
    rejected,
    episodesFinished: p.episodesFinished + 1,
    tokens: addTokens(p.tokens, s.tokens),
    cost: addTokens(p.cost ?? zeroTokens(), s.cost ?? zeroTokens()),
    ...(p.billed || s.billed ? { billed: sumBilled(p.billed, s.billed) } : {}),
    ...(s.verification || p.verification ? { verification: tally(p.verification, s) } : {}),
    ...(s.outcome === 'failed' || p.failures ? { failures: recordFailure(p.failures, s) } : {}),
  };
}

export interface Limits {
  targetAccepted: number;
  maxEpisodes: number;
}

/** Why generation for a domain is over, once it is; `stopRequested` wins over the counters. */
export function stopReason(p: DomainProgress, limits: Limits, stopRequested: StopReason | undefined): StopReason | undefined {
  if (stopRequested) return stopRequested;
  if (p.accepted >= limits.targetAccepted) return 'target_reached';
  if (p.episodesStarted >= limits.maxEpisodes) return 'max_episodes';
  return undefined;
}

/** Whether the loop may start one more episode now. */
export function mayLaunch(p: DomainProgress, limits: Limits, opts: { inFlight: number; concurrency: number; paused: boolean; stop: StopReason | undefined }): boolean {
  return !opts.paused && opts.stop === undefined && stopReason(p, limits, undefined) === undefined && opts.inFlight < opts.concurrency;
}

export interface Budget {
  maxTokens?: number;
  maxCost?: number;
}

export interface BudgetExceeded {
  kind: 'tokens' | 'cost';
  limit: number;
  used: number;
}

/** The run-wide budget over every domain's progress: which limit is reached, if any (tokens first). */
export function budgetExceeded(domains: DomainProgress[], budget: Budget): BudgetExceeded | undefined {
  const tokens = domains.reduce((n, d) => n + spendOf(d).tokens, 0);
  if (budget.maxTokens !== undefined && tokens >= budget.maxTokens) return { kind: 'tokens', limit: budget.maxTokens, used: tokens };
  const cost = domains.reduce((n, d) => n + spendOf(d).cost, 0);
  if (budget.maxCost !== undefined && cost >= budget.maxCost) return { kind: 'cost', limit: budget.maxCost, used: cost };
  return undefined;
}

/**
 * The run workflow never continues as new, and each progress report a domain loop sends it costs
 * about 4 of its history events (the signal and a workflow task); Temporal ends a workflow at 51,200.
 * So reports are spaced out as they add up: 40,000 events' worth shared by the run's domains, sent
 * every second for the first half, every 30 s for the next quarter, every 5 min for the next eighth,
 * then at an interval that grows with the number of domains (at least hourly) — a month of a run at
 * any pace. Pauses, the final report and spend that matters to the budget go at once (spendIsUrgent).
 */
export const PROGRESS_EVENTS_BUDGET = 40_000;
export const EVENTS_PER_REPORT = 4;

export function progressIntervalMs(sent: number, domains: number): number {
  const d = Math.max(1, domains);
  const reports = PROGRESS_EVENTS_BUDGET / EVENTS_PER_REPORT / d;
  if (sent < reports / 2) return 1_000;
  if (sent < (reports * 3) / 4) return 30_000;
  if (sent < (reports * 7) / 8) return 300_000;
  return Math.max(3_600_000, d * 20 * 60_000);
}

/** The spend at a domain's last report to the run. */
export interface Spend {
  tokens: number;
  cost: number;
}

export function spendOf(p: DomainProgress): Spend {
  return { tokens: totalTokens(p.tokens), cost: totalTokens(p.cost ?? zeroTokens()) };
}

/**
 * Whether what a domain spent since its last report is worth telling the run at once: 1% of a run
 * budget. The run enforces the budget on the reports it has, so a throttled report would let the
 * run spend past its budget for as long as the report waited.
 */
export function spendIsUrgent(now: Spend, atLastReport: Spend, budget: Budget): boolean {
  return (
    (budget.maxTokens !== undefined && now.tokens - atLastReport.tokens >= budget.maxTokens / 100) ||
    (budget.maxCost !== undefined && now.cost - atLastReport.cost >= budget.maxCost / 100)
  );
}
