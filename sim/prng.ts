/**
 * A small seeded PRNG (mulberry32) so fault injection is reproducible: the same seed drops,
 * corrupts and delays the same frames in every run.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with probability `p` (0 never draws, so a zero rate leaves the sequence untouched). */
  chance(p: number): boolean;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
}

export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p) => p > 0 && next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}
