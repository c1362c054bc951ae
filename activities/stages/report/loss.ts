import { MISSING } from './format.js';
import type { ReportedVariant } from './types.js';

/**
 * A fine-tune's training loss as the mean of its first N logged steps against its last N. One batch
 * at each end is mostly noise: the same data reordered gave 2.78 → 2.45 in one run and 4.33 → 3.14
 * in another. Unset, N is 10% of the steps (at least 1), and never more than half of them, so the
 * two windows don't share a step.
 */
export type LossSummary =
  | { kind: 'window'; first: number; last: number; window: number; steps: number }
  /** No curve on disk: the backend's first and last step only. */
  | { kind: 'ends'; first: number | null; last: number | null };

export function lossSummary(v: ReportedVariant, window?: number): LossSummary | null {
  const points = curve(v.lossPoints ?? []);
  if (points.length > 0) {
    const steps = points.length;
    const wanted = window ?? Math.round(steps * 0.1);
    const n = Math.max(1, Math.min(Math.floor(wanted), Math.floor(steps / 2)));
    return { kind: 'window', first: mean(points.slice(0, n)), last: mean(points.slice(-n)), window: n, steps };
  }
  const t = v.train;
  if (t?.firstLoss == null && t?.lastLoss == null) return null;
  return { kind: 'ends', first: t?.firstLoss ?? null, last: t?.lastLoss ?? null };
}

/** In step order, one point per step: a resumed fine-tune logs the steps after its checkpoint again, and the later run is the one that counted. */
function curve(points: { step: number; loss: number }[]): number[] {
  const byStep = new Map<number, number>();
  for (const p of points) if (Number.isFinite(p.step) && Number.isFinite(p.loss)) byStep.set(p.step, p.loss);
  return [...byStep].sort(([a], [b]) => a - b).map(([, loss]) => loss);
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

const loss = (x: number | null): string => (x == null ? MISSING : x.toFixed(3));

export function lossCell(v: ReportedVariant, window?: number): string {
  const s = lossSummary(v, window);
  if (!s) return MISSING;
  if (s.kind === 'ends') return `${loss(s.first)} → ${loss(s.last)} (one step each)`;
  return `${loss(s.first)} → ${loss(s.last)} (${s.window} of ${s.steps} steps each)`;
}

/** Under the table, when some variant shows a loss: what the numbers are, and that no held-out loss exists to show. */
export function lossNote(window?: number): string {
  const n = window == null ? '10% of its logged steps, at least 1' : `${Math.max(1, Math.floor(window))} (at most half its steps)`;
  return (
    `Loss is the training loss on the fine-tune's own batches: the mean of its first N logged steps against its last N, N = ${n}; ` +
    'a fine-tune with no loss curve on disk shows its first and last step alone. The trainers record no held-out loss, so none is reported.'
  );
}
