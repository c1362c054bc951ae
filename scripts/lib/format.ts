import { calibrationLine } from '../../common/contracts/calibration.js';
import { describeTrip } from '../../workflows/logic/breaker.js';
import type { BudgetExceeded, VerificationTally } from '../../workflows/logic/progress.js';
import type { DomainStatus, ReviewItem, RunStatus } from '../../workflows/messages.js';

/** Shared human formatting of the command line: progress bars, token counts, money, tables. */

const ROLES = ['attacker', 'defender', 'judge', 'embedding'] as const;

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** USD: cents for sums of a dollar or more, four decimals below (model calls cost fractions of a cent). */
export function usd(x: number): string {
  if (x === 0) return '$0';
  return Math.abs(x) >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(4)}`;
}

/** `[██████░░░░]`: `done` of `total`, `width` cells; over-full shows full. */
export function bar(done: number, total: number, width = 10): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

export function byRole(values: Record<(typeof ROLES)[number], number>, show: (n: number) => string): string {
  return ROLES.map((r) => `${r} ${show(values[r] ?? 0)}`).join(' · ');
}

/** Of each role's tokens, the share the provider billed at flex or through the Batch API, served from its prompt cache, and spent on failed attempts (issue 16): the roles it said something of. */
export function billedLine(s: Pick<RunStatus, 'tokens' | 'billed'>): string {
  const pct = (n: number, of: number) => `${of > 0 ? Math.round((100 * n) / of) : 0}%`;
  const b = s.billed!;
  const parts = ROLES.filter((r) => (b.flex[r] ?? 0) + (b.batch?.[r] ?? 0) + (b.cachedPrompt[r] ?? 0) + (b.failedAttempts?.[r] ?? 0) > 0).map((r) => {
    const flex = b.flex[r] ?? 0;
    const batch = b.batch?.[r] ?? 0;
    const cached = b.cachedPrompt[r] ?? 0;
    const failed = b.failedAttempts?.[r] ?? 0;
    return `${r} ${[flex ? `${pct(flex, s.tokens[r])} at flex` : '', batch ? `${pct(batch, s.tokens[r])} by batch` : '', cached ? `${count(cached)} cached prompt tokens` : '', failed ? `${count(failed)} tokens on failed attempts` : ''].filter(Boolean).join(', ')}`;
  });
  return `${parts.join(' · ')} (as the provider reported each call; the cost above prices them so)`;
}

export function duration(ms: number): string {
  if (ms <= 0) return 'now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60 ? ` ${m % 60}m` : ''}` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** One domain: the bar line, then its tokens and cost by role. */
export function domainLines(d: DomainStatus, nameWidth: number, runId = '<run>'): string[] {
  const target = d.targetAccepted;
  const progress = target ? `${bar(d.accepted, target)} ${d.accepted}/${target} accepted` : `${d.accepted} accepted`;
  const rejected = Object.entries(d.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const parts = [
    `${d.domain.padEnd(nameWidth)}  ${progress}`,
    `${d.episodesFinished} episodes`,
    `in flight ${d.inFlight}`,
    rejected ? `rejected ${rejected}` : 'rejected none',
  ];
  const state = d.stopReason ? `${d.stage}: ${d.stopReason.replace(/_/g, ' ')}` : d.stage;
  const cost = d.cost ? ` · cost ${usd(ROLES.reduce((n, r) => n + (d.cost[r] ?? 0), 0))}` : '';
  return [
    `${parts.join(' · ')}  (${state})`,
    `${' '.repeat(nameWidth)}  tokens ${byRole(d.tokens, count)}${cost}`,
    ...(d.verification ? [`${' '.repeat(nameWidth)}  ${verificationLine(d.verification)}`] : []),
    ...(d.breaker ? [`${' '.repeat(nameWidth)}  paused by its circuit breaker: ${describeTrip(d.breaker, runId)}`] : []),
  ];
}

/** Preflight in status: that it runs, or what it found and what to do. */
function preflightLines(s: RunStatus): string[] {
  if (s.stage === 'preflight') return ['  preflight: checking keys, endpoints, benchmark files and the sandbox on the workers, before any episode'];
  const problems = s.pausedBy?.preflight;
  if (!problems?.length) return [];
  return [`  paused by preflight (fix it, then \`nanoflux resume ${s.runId}\` checks again):`, ...problems.map((p) => `    - ${p}`)];
}

/** Why episodes failed, most frequent first: one line each, with the last message. */
function failureLines(s: RunStatus): string[] {
  if (!s.failures?.length) return [];
  return ['  failures (most frequent first):', ...s.failures.map((f) => `    ${f.type} ×${f.count}: ${f.last}`)];
}

/** The verified gate's tallies of a domain (workflows/logic/progress.ts): what the executed and rule checks decided. */
export function verificationLine(v: VerificationTally): string {
  const parts = [
    `references checked ${v.checked}, confirmed ${v.confirmed}`,
    `accepted with a confirmed reference ${v.acceptedVerified}`,
    `Judge overruled ×${v.judgeOverruled}`,
    ...(v.defendersByRule ? [`Defenders decided by rule ${v.defendersByRule}`] : []),
  ];
  return `verified ${parts.join(' · ')}`;
}

/** The Judge's calibration in status: why a run waits, each domain's line, and who let a failed Judge go on. */
function calibrationLines(s: RunStatus): string[] {
  const lines: string[] = [];
  if (s.stage === 'calibrating') lines.push("  calibrating the Judge on each domain's labelled set before any episode");
  if (s.pausedBy?.calibration) lines.push(`  paused: ${s.pausedBy.calibration}`);
  for (const o of s.calibration ?? []) lines.push(`  calibration ${o.domain}: ${'report' in o ? calibrationLine(o.report) : `not calibrated (${o.skipped})`}`);
  if (s.judgeAccepted) lines.push(`  judge accepted by ${s.judgeAccepted.by ?? 'an operator'} (--accept-judge): the run went on with a Judge that failed its calibration`);
  return lines;
}

export function budgetHint(runId: string, b: BudgetExceeded): string {
  const what = b.kind === 'tokens' ? `tokens ${count(b.used)}/${count(b.limit)}` : `cost ${usd(b.used)}/${usd(b.limit)}`;
  const flag = b.kind === 'tokens' ? '--max-tokens N' : '--max-cost USD';
  return `paused by its budget: ${what}; raise it: nanoflux set-budget ${runId} ${flag}`;
}

/** The human status of a run: a line for the run, a bar per domain, tokens and cost by role, pause reasons, stages. */
export function renderStatus(s: RunStatus, extra: { workflowStatus?: string; failure?: string } = {}): string {
  // The workflow's state only when it says more than the stage: failed, terminated, cancelled, timed out.
  const closed = extra.workflowStatus && !['RUNNING', 'COMPLETED'].includes(extra.workflowStatus) ? ` [workflow ${extra.workflowStatus.toLowerCase()}]` : '';
  const paused = s.paused && s.stage !== 'paused' ? ' (paused)' : '';
  const failedDomains = s.failedDomains?.length ? ` (${s.failedDomains.length} domain(s) FAILED)` : '';
  const lines = [`run ${s.runId}: ${s.stage}${paused}${closed}${failedDomains} — ${s.accepted} accepted, ${s.episodes} episodes`];
  if (s.pausedBy?.user) lines.push(`  paused by an operator; go on: nanoflux resume ${s.runId}`);
  if (s.pausedBy?.budget) lines.push(`  ${budgetHint(s.runId, s.pausedBy.budget)}`);
  lines.push(...preflightLines(s), ...calibrationLines(s));
  const domains = Object.values(s.domains);
  const width = Math.max(0, ...domains.map((d) => d.domain.length));
  if (domains.length === 0) lines.push('  (no domain has reported yet)');
  for (const d of domains) lines.push(...domainLines(d, width, s.runId).map((l) => `  ${l}`));
  for (const f of s.failedDomains ?? []) lines.push(`  domain ${f.domain} FAILED: ${f.error.replace(/\s+/g, ' ').slice(0, 300)} (its examples, if any, are in the export; fix the cause and \`nanoflux resume-from ${s.runId}\`)`);
  lines.push(...failureLines(s));
  lines.push(`  tokens  ${byRole(s.tokens, count)} · total ${count(s.tokens.total)}`);
  if (s.cost) lines.push(`  cost    ${byRole(s.cost, usd)} · total ${usd(s.cost.total)}`);
  if (s.billed) lines.push(`  billed  ${billedLine(s)}`);
  const limits = [s.budget?.maxTokens !== undefined ? `max tokens ${count(s.budget.maxTokens)}` : '', s.budget?.maxCost !== undefined ? `max cost ${usd(s.budget.maxCost)}` : ''].filter(Boolean);
  if (limits.length) lines.push(`  budget  ${limits.join(' · ')}`);
  if (s.store) lines.push(`  store   ${s.store.host ? `${s.store.host}:${s.store.home} ` : ''}(its worker serves ${s.store.queue}; the run's store steps and files are there)`);
  if (s.dataset) lines.push(`  dataset ${s.dataset.path} (${s.dataset.examples} examples)`);
  for (const v of s.variants ?? []) {
    lines.push(`  ${v.domain}/${v.variant}: ${v.error ? `failed: ${v.error}` : v.accuracy === null ? 'not evaluated' : `${(v.accuracy * 100).toFixed(1)}% of ${v.n} items`}`);
  }
  if (s.report) lines.push(`  report  ${s.report}`);
  if (extra.failure) lines.push(`  failed: ${extra.failure}`);
  return lines.join('\n');
}

/** Columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function renderReviewItem(item: ReviewItem, now = Date.now()): string {
  const sc = item.scores;
  return [
    `${item.domain} #${item.episode}  (${item.workflowId})`,
    `  question: ${item.question}`,
    `  answer:   ${item.answer}`,
    `  scores:   complexity ${sc.complexity}, hops ${sc.hops}, quality ${sc.quality} (${sc.qualityLevel}), novelty ${sc.novelty.toFixed(2)}`,
    `  decides:  in ${duration(item.decidesAt - now)} (unanswered → ${item.onTimeout})`,
  ].join('\n');
}
