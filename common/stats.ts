/**
 * Wilson score interval for `successes` out of `n` (95% by default): unlike the normal
 * approximation it stays inside [0, 1] and is honest for small n and rates near 0 or 1, which is
 * where a Judge's calibration and a small benchmark live. One formula for evaluation accuracy and calibration agreement alike. n = 0 gives the uninformative [0, 1].
 */
export function wilson(successes: number, n: number, z = 1.959964): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // Clamped: at p = 0 or 1 the bound is exact in theory but can land a float's width outside.
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A measured rate: how many of how many, the share, and its Wilson 95% interval. */
export interface Rate {
  k: number;
  n: number;
  rate: number;
  ci95: { low: number; high: number };
}

export function rate(k: number, n: number): Rate {
  return { k, n, rate: n === 0 ? 0 : k / n, ci95: wilson(k, n) };
}
