/**
 * fast-check arbitraries derived from the codec's schema descriptions (codec/schema.ts `Shape`),
 * so every message definition gets property tests without writing a generator by hand.
 *
 * Exponentials come either raw ({ value, exponent }: byte-exact, for `rawExponentials` decoding)
 * or as numbers built from integer value/exponent pairs (what the API takes and gives).
 */
import fc from 'fast-check';
import { Reader, type Shape, type Type, Writer, expToNumber } from '../../codec/schema.js';

export interface ArbitraryOptions {
  /** 'raw': { value, exponent } pairs over the full sint16/sint8 range; 'number': plain numbers. */
  exponentials: 'raw' | 'number';
  /** Upper bound on generated lengths beyond the minimum, to keep frames small. */
  maxExtraLength: number;
}

const DEFAULTS: ArbitraryOptions = { exponentials: 'raw', maxExtraLength: 40 };

/** A latin1 character: the manual's strings are byte strings. */
const byteChar = fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c));

const lengths = (min: number, max: number, o: ArbitraryOptions): { minLength: number; maxLength: number } => ({
  minLength: min,
  maxLength: Math.min(max, min + o.maxExtraLength),
});

function exponentialArb(o: ArbitraryOptions): fc.Arbitrary<unknown> {
  if (o.exponentials === 'raw') {
    return fc.record({ value: fc.integer({ min: -0x8000, max: 0x7fff }), exponent: fc.integer({ min: -0x80, max: 0x7f }) });
  }
  // Numbers the API is used with: a sint16 mantissa and a small decimal exponent.
  return fc.record({ value: fc.integer({ min: -0x8000, max: 0x7fff }), exponent: fc.integer({ min: -3, max: 3 }) }).map((raw) => expToNumber(raw));
}

/** An arbitrary of values of a shape. Optional fields of a struct are left out when absent. */
export function arbitraryOf(shape: Shape, options: Partial<ArbitraryOptions> = {}): fc.Arbitrary<unknown> {
  const o = { ...DEFAULTS, ...options };
  switch (shape.t) {
    case 'int':
      return fc.integer({ min: shape.min, max: shape.max });
    case 'bool':
      return fc.boolean();
    case 'exp':
      return exponentialArb(o);
    case 'const':
      return fc.constant(shape.value);
    case 'string':
      return fc.string({ unit: byteChar, ...lengths(shape.min, shape.max, o) });
    case 'bytes':
      return fc.uint8Array(lengths(shape.min, shape.max, o));
    case 'array':
      // Arrays multiply sizes: keep them short (the count range edges still get hit).
      return fc.array(arbitraryOf(shape.item, o), lengths(shape.min, shape.max, { ...o, maxExtraLength: Math.min(o.maxExtraLength, 4) }));
    case 'optional':
      return fc.option(arbitraryOf(shape.item, o), { nil: undefined });
    case 'struct': {
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [k, s] of shape.fields) {
        model[k] = s.t === 'optional' ? arbitraryOf(s.item, o) : arbitraryOf(s, o);
        if (s.t !== 'optional') required.push(k);
      }
      return fc.record(model, { requiredKeys: required });
    }
  }
}

/**
 * A field is "trailing" (present only when bytes remain, schema `trailing()`) when reading it from
 * an empty payload gives undefined instead of a short-payload error. Its shape is the same as a
 * presence-byte optional's, so the type itself is probed.
 */
export function isTrailing(type: Type<unknown>): boolean {
  try {
    return type.read(new Reader(new Uint8Array(0))) === undefined;
  } catch {
    return false;
  }
}

const encodedLength = (type: Type<unknown>, v: unknown): number => {
  const w = new Writer();
  type.write(w, v);
  return w.length;
};

/**
 * An arbitrary for a message payload type. For a struct with trailing fields, a trailing field is
 * only kept when every trailing field before it is present (the wire cannot say "absent, then
 * present"), and dropped when its value encodes to no bytes (that reads back as absent).
 */
export function arbitraryOfType(type: Type<unknown>, options: Partial<ArbitraryOptions> = {}): fc.Arbitrary<unknown> {
  const base = arbitraryOf(type.shape, options);
  const fields = (type as { fields?: Record<string, Type<unknown>> }).fields;
  if (type.shape.t !== 'struct' || fields === undefined) return base;
  const trailing = Object.entries(fields).filter(([, t]) => isTrailing(t));
  if (trailing.length === 0) return base;
  return base.map((value) => {
    const rec = { ...(value as Record<string, unknown>) };
    let absentSeen = false;
    for (const [k, t] of trailing) {
      if (rec[k] !== undefined && (absentSeen || encodedLength(t, rec[k]) === 0)) delete rec[k];
      if (rec[k] === undefined) absentSeen = true;
    }
    return rec;
  });
}
