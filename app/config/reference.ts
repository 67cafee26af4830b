/**
 * The Python reference's own files (Sevenstax/FreeV2G), loaded unchanged and mapped onto our
 * layout (app/config/schema.ts) before the defaults and the environment are applied:
 *
 * - EVSE, certificate era (config_evse.json, 2022-11..2024-07): flat sections `evse` (evse_id_DIN,
 *   evse_id_ISO, numeric protocol / payment_method / energy_transfer_mode lists, certificate
 *   support flags), `certs_folder`, `charger`, `schedule` at the top level. Evse.load() copies
 *   each present key over its defaults, so every key is optional here too.
 * - EV, config_ev.json and ev.json (master): `ev` (evid, protocols, payment_method,
 *   energy_transfer_mode, the *_count fields of ev.json, battery_capacity) and `battery` at the
 *   top level. Ev.load() does the same; Whitebeet.v2gEvSetConfiguration() refuses a count that
 *   differs from its list's length, so do we.
 *
 * A file is recognised by its shape: a role section with "configuration" is ours; a top-level
 * charger / schedule / certs_folder / battery, or a role section with the reference's key names,
 * is the reference's. Errors name the reference's keys, as the user wrote them.
 */
import * as z from 'zod';
import type { Json, JsonObject } from './json.js';
import { isObject } from './json.js';
import { battery, charger, etmList, evseIdDin, evseIdIso, mac, paymentList, protocolList, schedule } from './schema.js';

export type ReferenceLayout = 'reference-evse' | 'reference-ev';

const REF_EVSE_KEYS = ['evse_id_DIN', 'evse_id_ISO', 'protocol', 'payment_method', 'energy_transfer_mode', 'certificate_installation_support', 'certificate_update_support'];
const REF_EV_KEYS = ['evid', 'protocols', 'protocol_count', 'payment_method', 'payment_method_count', 'energy_transfer_mode', 'energy_transfer_mode_count', 'battery_capacity'];
const hasAny = (o: Json | undefined, keys: readonly string[]): boolean => isObject(o) && keys.some((k) => Object.hasOwn(o, k));

/** Which reference layout `entry` has, or undefined for ours. */
export function referenceLayout(entry: JsonObject): ReferenceLayout | undefined {
  if (hasAny(entry.evse, ['configuration']) || hasAny(entry.ev, ['configuration'])) return undefined;
  if (hasAny(entry, ['charger', 'schedule', 'certs_folder']) || hasAny(entry.evse, REF_EVSE_KEYS)) return 'reference-evse';
  if (hasAny(entry, ['battery']) || hasAny(entry.ev, REF_EV_KEYS)) return 'reference-ev';
  return undefined;
}

const referenceEvse = z.strictObject({
  mac: mac.optional(),
  evse: z
    .strictObject({
      evse_id_DIN: evseIdDin.optional(),
      evse_id_ISO: evseIdIso.optional(),
      protocol: protocolList.optional(),
      payment_method: paymentList.optional(),
      energy_transfer_mode: etmList.optional(),
      certificate_installation_support: z.boolean().optional(),
      certificate_update_support: z.boolean().optional(),
    })
    .optional(),
  certs_folder: z.string().min(1).optional(),
  charger: charger.partial().optional(),
  schedule: schedule.optional(),
});

/** ev.json's counts (1-2 protocols, 1-6 modes: Whitebeet.v2gEvSetConfiguration) must match their lists. */
const COUNTED = [
  ['protocol_count', 'protocols', 2],
  ['payment_method_count', 'payment_method', 2],
  ['energy_transfer_mode_count', 'energy_transfer_mode', 6],
] as const;

const referenceEvSection = z
  .strictObject({
    evid: mac.optional(),
    protocol_count: z.number().int().min(1).max(2).optional(),
    protocols: protocolList.optional(),
    payment_method_count: z.number().int().min(1).max(2).optional(),
    payment_method: paymentList.optional(),
    energy_transfer_mode_count: z.number().int().min(1).max(6).optional(),
    energy_transfer_mode: etmList.optional(),
    /** Sent to the module as the battery capacity (Wh); the same as battery.capacity here. */
    battery_capacity: battery.shape.capacity.optional(),
  })
  .superRefine((ev, ctx) => {
    for (const [count, list] of COUNTED) {
      const n = ev[count];
      if (n === undefined) continue;
      const got = ev[list]?.length;
      if (got !== n) ctx.addIssue({ code: 'custom', path: [count], input: n, message: got === undefined ? `expected the list "${list}" beside it` : `expected the length of "${list}" (${got})` });
    }
  });

const referenceEv = z.strictObject({ mac: mac.optional(), ev: referenceEvSection.optional(), battery: battery.partial().optional() }).superRefine((f, ctx) => {
  const [a, b] = [f.ev?.battery_capacity, f.battery?.capacity];
  if (a !== undefined && b !== undefined && a !== b) {
    ctx.addIssue({ code: 'custom', path: ['ev', 'battery_capacity'], input: a, message: `expected the same value as battery.capacity (${b})` });
  }
});

/** Drops undefined values, so that only what the file says is merged over the defaults. */
function defined(o: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as JsonObject;
}

function evseToOurs(f: z.output<typeof referenceEvse>): JsonObject {
  const e = f.evse ?? {};
  const configuration = defined({ id_din: e.evse_id_DIN, id_iso: e.evse_id_ISO, protocol: e.protocol, payment_method: e.payment_method, energy_transfer_mode: e.energy_transfer_mode });
  const section = defined({
    configuration,
    certificate_installation_support: e.certificate_installation_support,
    certificate_update_support: e.certificate_update_support,
    certs_folder: f.certs_folder,
    charger: f.charger ? defined(f.charger) : undefined,
    schedule: f.schedule as Json | undefined,
  });
  return defined({ mac: f.mac, evse: section });
}

function evToOurs(f: z.output<typeof referenceEv>): JsonObject {
  const e = f.ev ?? {};
  const configuration = defined({ id: e.evid, protocol: e.protocols, payment_method: e.payment_method, energy_transfer_mode: e.energy_transfer_mode });
  const b = defined({ ...(f.battery ?? {}), ...(e.battery_capacity !== undefined ? { capacity: e.battery_capacity } : {}) });
  return defined({ mac: f.mac, ev: defined({ configuration, battery: b }) });
}

export type ReferenceResult = { ok: true; file: JsonObject } | { ok: false; error: z.ZodError };

/** The reference file `entry` as a (partial) file of our layout, or the first problem with it. */
export function fromReference(layout: ReferenceLayout, entry: JsonObject): ReferenceResult {
  if (layout === 'reference-evse') {
    const r = referenceEvse.safeParse(entry, { reportInput: true });
    return r.success ? { ok: true, file: evseToOurs(r.data) } : { ok: false, error: r.error };
  }
  const r = referenceEv.safeParse(entry, { reportInput: true });
  return r.success ? { ok: true, file: evToOurs(r.data) } : { ok: false, error: r.error };
}

/**
 * `-c` without a file name: the reference's argparse `const` ("./ev.json" on master, where only
 * the EV reads a file; "./config.json" in the certificate era, a link to config_evse.json).
 */
export const REFERENCE_DEFAULT_FILES: Record<'EVSE' | 'EV', readonly string[]> = { EV: ['ev.json', 'config.json'], EVSE: ['config.json'] };
