/** The charger model's small numeric helpers (charger.ts). */

/** One step of a linear ramp from `from` toward `to`, at most `step`. */
export function ramp(from: number, to: number, step: number): number {
  if (from < to) return Math.min(to, from + step);
  if (from > to) return Math.max(to, from - step);
  return from;
}

/** `v` within [lo, hi] (lo wins when they cross); not a number is 0. */
export function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Number.isFinite(v) ? v : 0));
}

/** The finite values of `o` only. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  // A plain loop: this runs for every EV parameter message of the charge loop.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined && Number.isFinite(v)) out[k] = v;
  }
  return out as Partial<T>;
}
