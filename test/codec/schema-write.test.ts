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
import { allDefinitions, encodeRequest, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { encodeFrame } from '../../codec/frame.js';
import { type CommandDef, encodeWith, type StatusDef } from '../../codec/message.js';
import type { Type } from '../../codec/schema.js';
import { compiledFrameWriter } from '../../codec/schema-write.js';
import { arbitraryOfType } from '../helpers/arbitrary.js';

const SEED = Number(process.env.FC_SEED ?? 20261203);
const RUNS = { numRuns: 60, seed: SEED };
/** Responses: 2 x 90 more cases, fewer values each (the suite's time). */
const RESPONSE_RUNS = { numRuns: 15, seed: SEED };

interface Case {
  name: string;
  type: Type<unknown>;
  head: { modId: number; subId: number; reqId: number };
  /** A response's result code, written before its fields. */
  prefix?: number;
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
  // Responses (the simulated module's answers) with result code 0 and, for the codes that carry
  // fields too, 0x01.
  ...defs
    .filter((d): d is CommandDef => d.kind === 'command')
    .flatMap((d) =>
      [0, 1].map((code) => ({
        name: `${d.module}.${d.name} response ${code}`,
        type: d.response,
        head: { modId: d.modId, subId: d.subId, reqId: 7 },
        prefix: code,
        encode: (v: unknown, checksum: boolean) => encodeResponseFrame(d, 7, code, v, { checksum }),
      })),
    ),
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
    const payload = encodeWith(c.type, c.name, value);
    if (c.prefix === undefined) return encodeFrame({ ...c.head, payload }, { checksum });
    return encodeFrame({ ...c.head, payload: Uint8Array.of(c.prefix, ...payload) }, { checksum });
  } catch {
    return 'throws';
  }
}

/** Both writers on one value; returns whether the compiled one answered. */
function agree(c: Case, value: unknown, checksum: boolean): boolean {
  const want = generic(c, value, checksum);
  const got = compiledFrameWriter(c.type)?.(c.head, value, checksum, c.prefix);
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
  // and what the simulated modules answer to the charge-loop requests.
  'V2g.EvseUpdateDcChargingParameters response 0',
  'V2g.EvUpdateDcChargingParameters response 0',
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
    // of 18.10.13) and V2g.EvseSetMeterReceiptRequest (a 64-bit integer), 2 of 183 requests and
    // statuses; a few responses (64-bit integers, certificate entries).
    expect(compiled / cases.length).toBeGreaterThan(0.95);
  });

  for (const c of cases) {
    if (!compiledFrameWriter(c.type)) continue;
    const runs = c.prefix === undefined ? RUNS : RESPONSE_RUNS;
    describe(c.name, () => {
      for (const exponentials of ['raw', 'number'] as const) {
        it(`gives the generic frame for valid values (${exponentials} exponentials)`, () => {
          fc.assert(
            fc.property(arbitraryOfType(c.type, { exponentials }), fc.boolean(), (value, checksum) => {
              expect(agree(c, value, checksum)).toBe(true);
            }),
            runs,
          );
        });
      }
      it('gives the generic frame or gives up when a field holds anything at all', () => {
        fc.assert(
          fc.property(mutated(c), fc.boolean(), (value, checksum) => {
            agree(c, value, checksum);
          }),
          runs,
        );
      });
    });
  }
});
