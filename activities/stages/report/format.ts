/**
 * Numbers as the report prints them, in Markdown and on the charts alike. Locale-free on purpose:
 * toLocaleString follows the host's ICU data and locale, and the same input must give the same bytes
 * on every machine.
 */

export const MISSING = '–';

export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export const interval = (ci: { low: number; high: number }): string => `${(ci.low * 100).toFixed(1)}–${(ci.high * 100).toFixed(1)}%`;

/** A difference of two accuracies, in percentage points, always signed so a loss can't pass for a gain. */
export function signedPoints(delta: number): string {
  const rounded = Math.round(delta * 1000) / 10;
  // Rounding can leave -0, which would print as "-0.0": a sign the data doesn't have.
  return `${rounded < 0 ? '-' : '+'}${Math.abs(rounded).toFixed(1)}`;
}

export function thousands(n: number): string {
  const r = Math.round(n);
  return `${r < 0 ? '-' : ''}${Math.abs(r).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

export function duration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 90 * 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export const orMissing = <T>(value: T | null | undefined, show: (v: T) => string): string => (value == null ? MISSING : show(value));

/** The number in a cut value ('3', 'L4', '200'), so cuts sort 2 < 10 and L1 < L5 rather than as text. */
const cutRank = (value: string): number => {
  const m = /\d+(\.\d+)?/.exec(value);
  return m ? Number(m[0]) : Number.POSITIVE_INFINITY;
};

export const compareCuts = (a: string, b: string): number => cutRank(a) - cutRank(b) || (a < b ? -1 : a > b ? 1 : 0);
