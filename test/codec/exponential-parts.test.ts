/**
 * `expParts` / `numberToExp` with powers of ten from tables (docs/performance.md, target 4, ninth
 * round) against the formula they replaced (`**` at each use, an object per call): the same
 * value and exponent, or the same refusal, for integers, fractions of 1-12 decimals, values
 * beyond a sint16 and arbitrary doubles. The frames of every session depend on these choices.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXP_PARTS, expParts, numberToExp } from '../../codec/exponential.js';

/** numberToExp of the eighth round, verbatim but for its errors (undefined). */
function formula(n: number): { value: number; exponent: number } | undefined {
  if (!Number.isFinite(n)) return undefined;
  let value = n;
  let exponent = 0;
  if (Number.isInteger(n)) {
    while (value !== 0 && value % 10 === 0 && exponent < 3) {
      value /= 10;
      exponent += 1;
    }
    while (Math.abs(value) > 0x7fff && value % 10 === 0) {
      value /= 10;
      exponent += 1;
    }
  } else {
    do {
      exponent -= 1;
      value = Math.round(n * 10 ** -exponent);
    } while (Math.abs(value * 10 ** exponent - n) >= 1e-9 * Math.max(1, Math.abs(n)) && exponent > -9);
    while ((value < -0x8000 || value > 0x7fff) && exponent < 0) {
      exponent += 1;
      value = Math.round(n * 10 ** -exponent);
    }
  }
  if (!Number.isInteger(value) || value < -0x8000 || value > 0x7fff) return undefined;
  return { value, exponent };
}

function same(n: number): void {
  const want = formula(n);
  const ok = expParts(n);
  expect(ok ? { value: EXP_PARTS.value, exponent: EXP_PARTS.exponent } : undefined, String(n)).toEqual(want);
  if (want) expect(numberToExp(n)).toEqual(want);
  else expect(() => numberToExp(n)).toThrow();
}

const SEED = Number(process.env.FC_SEED ?? 20261203);

describe('expParts (tables) against the formula', () => {
  it('agrees on decimals of 0-12 places around the charge loop values', () => {
    fc.assert(
      fc.property(fc.integer({ min: -4_000_000, max: 4_000_000 }), fc.integer({ min: 0, max: 12 }), (m, places) => {
        same(m / 10 ** places);
        same(-m / 10 ** places);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });
  it('agrees on arbitrary doubles, integers and the edges', () => {
    fc.assert(
      fc.property(fc.double(), (n) => same(n)),
      { numRuns: 3000, seed: SEED },
    );
    fc.assert(
      fc.property(fc.integer(), (n) => same(n)),
      { numRuns: 1000, seed: SEED },
    );
    for (const n of [0, -0, 0.1, 0.2 + 0.1, 400.55, -327.68, 327.675, 32767, 32768, 327680, 1e-9, 1.5e-9, 123.456789, 1e21, Number.NaN, Number.POSITIVE_INFINITY]) same(n);
  });
});
