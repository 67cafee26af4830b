/**
 * The manual's `exponential` (section 18.1): value x 10^exponent as sint16 and sint8, read as a
 * plain number and written from one (or from the raw pair when exactness matters).
 */
import type { Type } from './schema.js';
import { SchemaError, checkRange } from './schema-io.js';

/** The raw form of the manual's `exponential`: value x 10^exponent (section 18.1). */
export interface RawExponential {
  value: number;
  exponent: number;
}

/** An exponential field: a plain number in the API, or the raw pair when exactness matters. */
export type Exponential = number | RawExponential;

/** Converts a raw exponential to a number, rounding away binary noise (0.1 * 3 etc.). */
export function expToNumber(e: Exponential): number {
  if (typeof e === 'number') return e;
  return expValue(e.value, e.exponent);
}

/** 10^0..10^22, the powers of ten a double holds exactly (a table: `**` is slow on hot paths). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

export function expValue(value: number, exponent: number): number {
  if (exponent >= 0) return exponent <= 22 ? value * (POW10[exponent] as number) : value * 10 ** exponent;
  // Dividing by an exact power of ten is correctly rounded: the nearest double to the decimal,
  // with none of the noise of multiplying by 0.1. Below 10^-22 there is no exactness to keep.
  return exponent >= -22 ? value / (POW10[-exponent] as number) : value * 10 ** exponent;
}

/** 10^-0..10^-22 as `10 ** -k` gives them (the same doubles, from a table). */
const NEG_POW10 = Array.from({ length: 23 }, (_, i) => 10 ** -i);

/**
 * Where `expParts` leaves its result: the compiled frame writer (codec/schema-write.ts) encodes
 * several exponentials per charge-loop frame and needs no object for each.
 */
export const EXP_PARTS: RawExponential = { value: 0, exponent: 0 };

/**
 * Picks the lossless representation of a number: integers drop trailing zeros into the exponent
 * (at most 10^3, as the reference does: 400 -> 4e2, 20000 -> 20e3); fractions use a negative
 * exponent (400.5 -> 4005e-1), which the reference cannot encode but the manual allows; a
 * fraction with more digits than a sint16 holds is rounded to the closest that fits (400.55 -> 4006e-1).
 */
export function numberToExp(n: number): RawExponential {
  if (!Number.isFinite(n)) throw new SchemaError('range', '', `${n} is not a finite number`);
  if (!expParts(n)) throw new SchemaError('range', '', `${n} cannot be represented as sint16 x 10^sint8`);
  return { value: EXP_PARTS.value, exponent: EXP_PARTS.exponent };
}

/**
 * `numberToExp` into `EXP_PARTS`; false where it throws. The powers of ten come from tables
 * (`**` is a call into the runtime on every use; test/codec/exponential-parts.test.ts checks the
 * results against the formula's).
 */
export function expParts(n: number): boolean {
  if (!Number.isFinite(n)) return false;
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
    // Fewest decimals that reproduce n (the rounded value is always an integer, so the loop
    // must test the match, not Number.isInteger: -0.01 is -1e-2, not 0e-1). The exponent stays
    // within -1..-9 here, so both tables hold its powers.
    do {
      exponent -= 1;
      value = Math.round(n * (POW10[-exponent] as number));
    } while (Math.abs(value * (NEG_POW10[-exponent] as number) - n) >= 1e-9 * Math.max(1, Math.abs(n)) && exponent > -9);
    // More significant digits than a sint16 holds (400.55): the most precise value that fits.
    while ((value < -0x8000 || value > 0x7fff) && exponent < 0) {
      exponent += 1;
      value = Math.round(n * (POW10[-exponent] as number));
    }
  }
  if (!Number.isInteger(value) || value < -0x8000 || value > 0x7fff) return false;
  EXP_PARTS.value = value;
  EXP_PARTS.exponent = exponent;
  return true;
}

export const exponential: Type<Exponential> = {
  shape: { t: 'exp' },
  wire: { w: 'exp' },
  read(r) {
    const value = r.s16();
    const exponent = r.s8();
    return r.rawExponentials ? { value, exponent } : expValue(value, exponent);
  },
  write(w, v) {
    let raw: RawExponential;
    try {
      raw = typeof v === 'number' ? numberToExp(v) : v;
    } catch (e) {
      if (e instanceof SchemaError) throw new SchemaError('range', w.path, e.message.replace(/^: /, ''));
      throw e;
    }
    checkRange(w.path, raw.value, -0x8000, 0x7fff);
    checkRange(w.path, raw.exponent, -0x80, 0x7f);
    w.s16(raw.value);
    w.s8(raw.exponent);
  },
};
