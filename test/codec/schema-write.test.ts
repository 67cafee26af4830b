/**
 * The compiled frame writers (codec/schema-write.ts) against the generic schema interpreter, for
 * every request and status schema of the catalog: on valid values (numbers and raw
 * exponentials, with and without a checksum) the compiled writer gives the very frame
 * `encodeFrame(encodeWith(...))` gives, byte for byte; on values with one field replaced by
 * anything at all it gives that frame too or gives up, and it gives up on every value the
 * generic writer refuses. `encodeRequest`/`encodeStatusFrame` (which use it) give the generic
 * frames as well.
 *
 * Seeded for reproducibility; FC_SEED=<n> explores other values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allDefinitions, encodeRequest, encodeStatusFrame } from '../../codec/catalog.js';
import { encodeFrame } from '../../codec/frame.js';
import { type CommandDef, encodeWith, type StatusDef } from '../../codec/message.js';
import type { Type } from '../../codec/schema.js';
import { compiledFrameWriter } from '../../codec/schema-write.js';
import { arbitraryOfType } from '../helpers/arbitrary.js';

const SEED = Number(process.env.FC_SEED ?? 20261203);
const RUNS = { numRuns: 60, seed: SEED };

interface Case {
  name: string;
  type: Type<unknown>;
  head: { modId: number; subId: number; reqId: number };
  /** The catalog's own encoder for this schema (which takes the compiled path when it can). */
  encode(value: unknown, checksum: boolean): Uint8Array;
}

const defs = allDefinitions();
const cases: Case[] = [
  ...defs
    .filter((d): d is CommandDef => d.kind === 'command')
    .map((d) => ({
      name: `${d.module}.${d.name} request`,
      type: d.request,
      head: { modId: d.modId, subId: d.subId, reqId: 7 },
      encode: (v: unknown, checksum: boolean) => encodeRequest(d, 7, v, { checksum }),
    })),
  ...defs
    .filter((d): d is StatusDef => d.kind === 'status')
    .map((d) => ({
      name: `${d.module}.${d.name}`,
      type: d.payload,
      head: { modId: d.modId, subId: d.subId, reqId: 0xff },
      encode: (v: unknown, checksum: boolean) => encodeStatusFrame(d, v, 0xff, { checksum }),
    })),
];

/** The generic path: the bytes, or 'throws' when the generic writer refuses the value. */
function generic(c: Case, value: unknown, checksum: boolean): Uint8Array | 'throws' {
  try {
    return encodeFrame({ ...c.head, payload: encodeWith(c.type, c.name, value) }, { checksum });
  } catch {
    return 'throws';
  }
}

/** Both writers on one value; returns whether the compiled one answered. */
function agree(c: Case, value: unknown, checksum: boolean): boolean {
  const want = generic(c, value, checksum);
  const got = compiledFrameWriter(c.type)?.(c.head, value, checksum);
  if (want === 'throws') {
    expect(got, `compiled writer wrote a value the generic one refuses: ${String(value)}`).toBeUndefined();
    expect(() => c.encode(value, checksum)).toThrow();
    return false;
  }
  expect(c.encode(value, checksum)).toEqual(want);
  if (got === undefined) return false;
  expect(got).toEqual(want);
  return true;
}

// What the hosts send in answer to a charge-loop status (5 a second), and its status: must compile.
const MUST_COMPILE = [
  'V2g.EvseUpdateDcChargingParameters request',
  'V2g.EvseUpdateAcChargingParameters request',
  'V2g.EvUpdateDcChargingParameters request',
  'V2g.EvUpdateAcChargingParameters request',
  'V2g.EvseDcChargeParametersChanged',
];

/** Replaces one field of a struct value (or the whole value) with anything at all. */
const mutated = (c: Case) =>
  fc.tuple(arbitraryOfType(c.type, { exponentials: 'number' }), fc.nat(), fc.anything({ withTypedArray: true, withBigInt: true })).map(([value, at, other]) => {
    if (typeof value !== 'object' || value === null) return other;
    const keys = Object.keys((c.type as { fields?: object }).fields ?? {});
    if (keys.length === 0) return other;
    return { ...(value as object), [keys[at % keys.length] as string]: other };
  });

describe('compiled frame writers', () => {
  it('exist for the charge-loop requests and most schemas', () => {
    for (const c of cases) if (MUST_COMPILE.includes(c.name)) expect(compiledFrameWriter(c.type), c.name).toBeDefined();
    const compiled = cases.filter((c) => compiledFrameWriter(c.type)).length;
    // Those that do not hold a hand-written type: today V2g.EvseSetSchedules (the sales tariffs
    // of 18.10.13) and V2g.EvseSetMeterReceiptRequest (a 64-bit integer), 2 of 183.
    expect(compiled / cases.length).toBeGreaterThan(0.95);
  });

  for (const c of cases) {
    if (!compiledFrameWriter(c.type)) continue;
    describe(c.name, () => {
      for (const exponentials of ['raw', 'number'] as const) {
        it(`gives the generic frame for valid values (${exponentials} exponentials)`, () => {
          fc.assert(
            fc.property(arbitraryOfType(c.type, { exponentials }), fc.boolean(), (value, checksum) => {
              expect(agree(c, value, checksum)).toBe(true);
            }),
            RUNS,
          );
        });
      }
      it('gives the generic frame or gives up when a field holds anything at all', () => {
        fc.assert(
          fc.property(mutated(c), fc.boolean(), (value, checksum) => {
            agree(c, value, checksum);
          }),
          RUNS,
        );
      });
    });
  }
});
