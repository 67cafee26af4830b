/**
 * The two statistics every bench quotes: the median of several runs (the figure docs/performance.md
 * reports, so one noisy run does not decide it) and a percentile of one run's samples.
 */

/** The median of runs (upper median for an even count; NaN when there is none). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** The p-th percentile of an ascending array (nearest rank, capped at the largest sample). */
export const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
