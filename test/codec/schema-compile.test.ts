/**
 * The compiled readers (codec/schema-compile.ts) against the generic schema interpreter, for
 * every status message of the catalog, every layout variant, and every command's request and
 * response (`decodeWith` uses them for all three since the ninth round): on valid payloads, truncated
 * ones, ones with bytes added or changed, and random bytes, the compiled reader gives exactly the
 * generic reader's value (same keys in the same order, same byte arrays) or gives up where the
 * generic reader reports an error. It never answers a payload the generic reader rejects.
 *
 * Seeded for reproducibility; FC_SEED=<n> explores other values.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allDefinitions } from '../../codec/catalog.js';
import { LAYOUT_VARIANTS } from '../../codec/layouts.js';
import { type CommandDef, decodeGeneric, decodeWith, encodeWith, type StatusDef } from '../../codec/message.js';
import { struct, type Type } from '../../codec/schema.js';
import { compiledReader } from '../../codec/schema-compile.js';
import { arbitraryOfType } from '../helpers/arbitrary.js';

const SEED = Number(process.env.FC_SEED ?? 20261203);
const RUNS = { numRuns: 60, seed: SEED };
/** Commands' requests and responses: over 200 more schemas, fewer values each (the suite's time). */
const COMMAND_RUNS = { numRuns: 15, seed: SEED };

const statuses = allDefinitions().filter((d): d is StatusDef => d.kind === 'status');
const commands = allDefinitions().filter((d): d is CommandDef => d.kind === 'command');
const schemas: Array<[string, Type<unknown>]> = [
  ...statuses.map((d) => [`${d.module}.${d.name}`, d.payload] as [string, Type<unknown>]),
  ...LAYOUT_VARIANTS.map((v) => [`variant ${v.id}`, struct(v.fields)] as [string, Type<unknown>]),
  ...commands.map((d) => [`${d.module}.${d.name} request`, d.request] as [string, Type<unknown>]),
  ...commands.map((d) => [`${d.module}.${d.name} response`, d.response] as [string, Type<unknown>]),
];

/** Key order and byte arrays included: what "the same value" means here. */
const show = (v: unknown): string => inspect(v, { depth: null, maxArrayLength: null });

/** Both readers on one payload; returns whether the compiled one answered. */
function agree(type: Type<unknown>, payload: Uint8Array, raw: boolean): boolean {
  const generic = decodeGeneric(type, 'x', payload, { rawExponentials: raw });
  const compiled = compiledReader(type)?.(payload, raw);
  // From an offset (a response's fields after its result code): the same answer.
  const shifted = new Uint8Array(payload.length + 1);
  shifted.set(payload, 1);
  expect(show(compiledReader(type)?.(shifted, raw, 1))).toBe(show(compiled));
  // decodeWith (the codec's entry) gives the generic reader's result, value or error.
  expect(show(decodeWith(type, 'x', payload, { rawExponentials: raw }))).toBe(show(generic));
  if (!generic.ok) {
    expect(compiled, `compiled reader accepted ${show(payload)}, generic: ${generic.error.detail}`).toBeUndefined();
    return false;
  }
  if (compiled === undefined) return false;
  expect(show(compiled.value)).toBe(show(generic.value));
  expect(compiled.value).toStrictEqual(generic.value);
  return true;
}

/** Payloads derived from a valid one: every prefix, one byte more, one byte changed. */
const variants = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }));

// The statuses the host decodes on every charge-loop frame must compile (else no gain).
const MUST_COMPILE = [
  'V2g.EvseDcChargeParametersChanged',
  'V2g.EvDcChargeParametersChanged',
  'V2g.EvseAcChargeParametersChanged',
  'V2g.EvAcChargeParametersChanged',
  'variant ev-dc-parameters-25-bytes',
  // and the charge loop's commands, decoded by the simulated module (request) and the host (response).
  'V2g.EvseUpdateDcChargingParameters request',
  'V2g.EvseUpdateDcChargingParameters response',
  'V2g.EvUpdateDcChargingParameters request',
  'V2g.EvUpdateDcChargingParameters response',
];

describe('compiled readers', () => {
  it('exist for the charge-loop messages and the variants', () => {
    for (const [name, type] of schemas) if (MUST_COMPILE.includes(name)) expect(compiledReader(type), name).toBeDefined();
    // Everything but the opaque 'rest' payloads (ping data, framing errors) compiles today.
    const not = schemas.filter(([n, t]) => !compiledReader(t) && !/ (request|response)$/.test(n)).map(([n]) => n);
    expect(not.every((n) => n === 'Framing.PingReply' || n.startsWith('FramingError.'))).toBe(true);
  });

  for (const [name, type] of schemas) {
    if (!compiledReader(type)) continue;
    const runs = / (request|response)$/.test(name) ? COMMAND_RUNS : RUNS;
    describe(name, () => {
      for (const raw of [true, false]) {
        const mode = raw ? 'raw' : 'number';
        it(`equals the generic reader on valid, truncated, extended and changed payloads (${mode} exponentials)`, () => {
          let answered = 0;
          fc.assert(
            fc.property(arbitraryOfType(type, { exponentials: mode }), variants, (value, [at, byte]) => {
              const p = encodeWith(type, name, value);
              // A valid payload must be answered by the compiled reader itself.
              expect(agree(type, p, raw)).toBe(true);
              answered++;
              for (let n = 0; n < p.length; n++) agree(type, p.subarray(0, n), raw);
              const longer = new Uint8Array(p.length + 1);
              longer.set(p);
              longer[p.length] = byte;
              agree(type, longer, raw);
              if (p.length > 0) {
                const changed = p.slice();
                changed[at % p.length] = byte;
                agree(type, changed, raw);
              }
            }),
            runs,
          );
          expect(answered).toBeGreaterThan(0);
        });
        it(`equals the generic reader on random bytes (${mode} exponentials)`, () => {
          fc.assert(
            fc.property(fc.uint8Array({ maxLength: 80 }), (p) => {
              agree(type, p, raw);
            }),
            runs,
          );
        });
      }
    });
  }
});
