/**
 * Round-trip properties for EVERY message definition in the catalog: a value generated from the
 * definition's schema shape (test/helpers/arbitrary.ts), encoded into a frame, parsed and decoded, gives
 * the same value back. Requests, responses (code 0 with fields; other codes bare) and status
 * payloads; exponentials both raw ({ value, exponent }, byte exact) and as numbers.
 *
 * Seeded for reproducibility; FC_SEED=<n> explores other values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allDefinitions, decodeMessage, encodeRequest, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { parseFrame } from '../../codec/frame.js';
import type { CommandDef, StatusDef } from '../../codec/message.js';
import { type Shape, expToNumber, numberToExp } from '../../codec/schema.js';
import { arbitraryOfType } from '../helpers/arbitrary.js';

const SEED = Number(process.env.FC_SEED ?? 20261126);
const RUNS = { numRuns: 50, seed: SEED };

const hasExp = (s: Shape): boolean => {
  switch (s.t) {
    case 'exp':
      return true;
    case 'array':
    case 'optional':
      return hasExp(s.item);
    case 'struct':
      return s.fields.some(([, f]) => hasExp(f));
    default:
      return false;
  }
};

/** Parses the encoded frame and decodes it the way it travelled; returns the fields. */
function roundTrip(frame: Uint8Array, direction: 'toModule' | 'toHost', rawExponentials: boolean): Record<string, unknown> {
  const parsed = parseFrame(frame);
  if ('error' in parsed) throw new Error(`frame did not parse: ${parsed.error.detail}`);
  const decoded = decodeMessage(parsed.frame, { direction, rawExponentials });
  if (!decoded.ok) throw new Error(`did not decode: ${JSON.stringify(decoded.error)}`);
  return decoded.message.fields;
}

const reqId = fc.integer({ min: 0, max: 0xfe });

function commandProperties(def: CommandDef): void {
  for (const mode of ['raw', 'number'] as const) {
    if (mode === 'number' && !hasExp(def.request.shape) && !hasExp(def.response.shape)) continue;
    const raw = mode === 'raw';
    it(`request round-trips (${mode} exponentials)`, () => {
      fc.assert(
        fc.property(arbitraryOfType(def.request as never, { exponentials: mode }), reqId, (value, id) => {
          const frame = encodeRequest(def, id, value);
          expect(roundTrip(frame, 'toModule', raw)).toEqual(value);
        }),
        RUNS,
      );
    });
    it(`response with code 0 round-trips (${mode} exponentials)`, () => {
      fc.assert(
        fc.property(arbitraryOfType(def.response as never, { exponentials: mode }), reqId, (value, id) => {
          const frame = encodeResponseFrame(def, id, 0, value);
          expect(roundTrip(frame, 'toHost', raw)).toEqual({ code: 0, ...(value as object) });
        }),
        RUNS,
      );
    });
  }
  it('response with an error code and no fields round-trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xff }), reqId, (code, id) => {
        expect(roundTrip(encodeResponseFrame(def, id, code), 'toHost', true)).toEqual({ code });
      }),
      RUNS,
    );
  });
}

function statusProperties(def: StatusDef): void {
  for (const mode of ['raw', 'number'] as const) {
    if (mode === 'number' && !hasExp(def.payload.shape)) continue;
    it(`status payload round-trips (${mode} exponentials)`, () => {
      fc.assert(
        fc.property(arbitraryOfType(def.payload as never, { exponentials: mode }), (value) => {
          const frame = encodeStatusFrame(def, value);
          expect(roundTrip(frame, 'toHost', mode === 'raw')).toEqual(value);
        }),
        RUNS,
      );
    });
  }
}

const defs = allDefinitions();

describe('exponential numbers (18.1)', () => {
  it('numberToExp reproduces every number built from a sint16 value and a small exponent', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x8000, max: 0x7fff }), fc.integer({ min: -4, max: 4 }), (value, exponent) => {
        const n = expToNumber({ value, exponent });
        expect(expToNumber(numberToExp(n))).toBe(n);
      }),
      { ...RUNS, numRuns: 2000 },
    );
  });
  it('expToNumber takes every wire value (exponents down to -128 once threw a RangeError)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x8000, max: 0x7fff }), fc.integer({ min: -0x80, max: 0x7f }), (value, exponent) => {
        expect(Number.isFinite(expToNumber({ value, exponent }))).toBe(true);
      }),
      RUNS,
    );
    expect(expToNumber({ value: 1, exponent: -128 })).toBeCloseTo(0);
    expect(expToNumber({ value: 3, exponent: -1 })).toBe(0.3);
  });
  it('expToNumber gives the double nearest to the decimal (as parsing "380.5" would)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x8000, max: 0x7fff }), fc.integer({ min: -22, max: -1 }), (value, exponent) => {
        expect(expToNumber({ value, exponent })).toBe(Number((value / 10 ** -exponent).toFixed(-exponent)));
        expect(expToNumber({ value, exponent })).toBe(Number(`${value}e${exponent}`));
      }),
      { ...RUNS, numRuns: 2000 },
    );
  });
  it('picks the fewest decimals, and rounds only what a sint16 cannot hold', () => {
    expect(numberToExp(-0.01)).toEqual({ value: -1, exponent: -2 });
    expect(numberToExp(400.5)).toEqual({ value: 4005, exponent: -1 });
    expect(numberToExp(0.125)).toEqual({ value: 125, exponent: -3 });
    expect(numberToExp(-327.68)).toEqual({ value: -32768, exponent: -2 });
    expect(numberToExp(400)).toEqual({ value: 4, exponent: 2 });
    expect(numberToExp(20000)).toEqual({ value: 20, exponent: 3 });
    expect(numberToExp(400.55)).toEqual({ value: 4006, exponent: -1 });
  });
});

describe('codec round-trip properties', () => {
  it('the catalog has definitions', () => {
    expect(defs.length).toBeGreaterThan(0);
  });
  for (const def of defs) {
    describe(`${def.module}.${def.name} (${def.section}, 0x${def.modId.toString(16)}/0x${def.subId.toString(16)})`, () => {
      if (def.kind === 'command') commandProperties(def);
      else statusProperties(def);
    });
  }
});
