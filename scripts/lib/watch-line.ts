import type { RunStatus } from '../../workflows/messages.js';
import { count, usd } from './format.js';

/**
 * `nanoflux status --watch` without a terminal (a pipe, a log file, CI): one line per change, so a
 * log shows the run's course at a glance and `tail -f` or grep can follow it, where redrawn frames
 * would be a wall of repeated blocks. The time is the caller's; this is what the change is measured on.
 */

/** What the watch knows of a run at one poll (runs.ts' Snapshot). */
export interface WatchedRun {
  runId: string;
  workflowStatus: string;
  status?: RunStatus;
  failure?: string;
  note?: string;
}

const first = (text: string): string => text.split('\n')[0]!.trim();
const more = (n: number): string => (n > 0 ? ` (+${n} more)` : '');

/** Why the run or its domains wait, one short clause each (empty: nothing holds it). */
function pauseReasons(s: RunStatus): string[] {
  const p = s.pausedBy;
  const reasons: string[] = [];
  if (p?.user) reasons.push('by an operator');
  if (p?.budget) reasons.push(p.budget.kind === 'tokens' ? `budget: tokens ${count(p.budget.used)}/${count(p.budget.limit)}` : `budget: cost ${usd(p.budget.used)}/${usd(p.budget.limit)}`);
  if (p?.preflight?.length) reasons.push(`preflight: ${first(p.preflight[0]!)}${more(p.preflight.length - 1)}`);
  if (p?.calibration) reasons.push(`calibration: ${first(p.calibration)}`);
  for (const d of Object.values(s.domains)) if (d.breaker) reasons.push(`${d.domain} breaker: ${d.breaker.type} ×${d.breaker.count}`);
  return reasons;
}

/**
 * `run <id> <stage>[ paused: …] · accepted A/T · episodes E · failed F (top type ×n)`; a closed
 * workflow says so first (`run <id> failed at <stage>: <first line>`); a poll no worker answered, why.
 */
export function watchLine(w: WatchedRun): string {
  const s = w.status;
  const closed = ['RUNNING', 'COMPLETED'].includes(w.workflowStatus) ? undefined : w.workflowStatus.toLowerCase();
  const why = w.failure ? `: ${first(w.failure)}` : '';
  if (!s) return `run ${w.runId} ${closed ? `${closed}${why}` : w.workflowStatus.toLowerCase()}${w.note ? ` (no status: ${first(w.note)})` : ''}`;
  const domains = Object.values(s.domains);
  const targets = domains.map((d) => d.targetAccepted);
  // The target is known once every domain reported one (none has before the first report).
  const target = domains.length > 0 && targets.every((t) => t !== undefined) ? `/${targets.reduce((a, t) => a + t!, 0)}` : '';
  const failed = domains.reduce((n, d) => n + (d.rejected.failed ?? 0), 0);
  const top = s.failures?.[0];
  const reasons = pauseReasons(s);
  const state = closed
    ? `${closed} at ${s.stage}${why}`
    : `${s.stage}${reasons.length ? ` paused: ${reasons.join('; ')}` : s.paused && s.stage !== 'paused' ? ' (paused)' : ''}`;
  const broken = s.failedDomains?.length ? ` · domains FAILED: ${s.failedDomains.map((f) => `${f.domain} (${first(f.error).slice(0, 120)})`).join(', ')}` : '';
  return [`run ${s.runId} ${state}${broken}`, `accepted ${s.accepted}${target}`, `episodes ${s.episodes}`, `failed ${failed}${top ? ` (${top.type} ×${top.count})` : ''}`].join(' · ');
}
