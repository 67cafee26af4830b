/**
 * Our station file layout (config/evse.json, config/ev.json, docs/service.md), validated with
 * zod. The sections the reference's layouts share with ours (charger, schedule, battery) are
 * exported for app/config/reference.ts, so both layouts check the same ranges.
 *
 * Ranges are those the codec can encode: values sent as the manual's exponential (sint16 x
 * 10^sint8, 18.1) must have such a form (25001 has none, 1e300 neither), schedule times are
 * uint32, at most 3 schedule tuples of 20 entries (18.10.13), EVSE IDs within the string fields
 * of Set Configuration (18.10.1). A value refused here would otherwise fail mid-session.
 */
import * as z from 'zod';
import { numberToExp } from '../../codec/schema.js';
import { certificateProviderSchema } from '../pnc/config.js';

export const mac = z.string().regex(/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, 'expected a MAC address like 00:01:01:63:77:33');

/** Whether the codec can send `n` as an exponential (18.1). */
export function encodableExponential(n: number): boolean {
  try {
    const { exponent } = numberToExp(n);
    return exponent >= -0x80 && exponent <= 0x7f;
  } catch {
    return false;
  }
}

const EXP_MESSAGE = 'expected a value the module can encode (a sint16 x 10^n: at most 32767 before trailing zeros, e.g. 25000, 250000 or 0.05)';
/** A number sent to the module as an exponential, >= `min`. */
const expNumber = (min: number, inclusive = true) => (inclusive ? z.number().min(min) : z.number().gt(min)).refine(encodableExponential, { message: EXP_MESSAGE, abort: true });
export const nonNegExp = expNumber(0);
export const positiveExp = expNumber(0, false);
const percent = z.number().min(0).max(100);
const u32 = z.number().int().min(0).max(0xffff_ffff);

export const PROTOCOL_NAMES = { din: 0, iso: 1 } as const;
export const PAYMENT_NAMES = { eim: 0, pnc: 1 } as const;
export const ETM_NAMES = { dc_core: 0, dc_extended: 1, dc_combo_core: 2, dc_unique: 3, ac_single_phase: 4, ac_three_phase: 5 } as const;

/** A list of names (ours) or of the manual's numbers (the reference's). */
export function namesOrNumbers<T extends Record<string, number>>(names: T) {
  const keys = Object.keys(names) as [string, ...string[]];
  const max = Math.max(...Object.values(names));
  return z
    .array(z.union([z.enum(keys), z.number().int().min(0).max(max)]))
    .min(1)
    .max(keys.length)
    .transform((list) => list.map((v) => (typeof v === 'number' ? v : (names[v] as number))));
}

export const protocolList = namesOrNumbers(PROTOCOL_NAMES);
export const paymentList = namesOrNumbers(PAYMENT_NAMES);
export const etmList = namesOrNumbers(ETM_NAMES);

export const charger = z.strictObject({
  min_voltage: nonNegExp,
  min_current: nonNegExp,
  max_voltage: positiveExp,
  max_current: positiveExp,
  max_power: positiveExp,
  /** Ramp rates of the charger model (V and A per ms); not sent to the module. */
  delta_u: z.number().min(0).max(1e6),
  delta_i: z.number().min(0).max(1e6),
});

const scheduleEntry = z.strictObject({ start: u32, interval: u32, power: nonNegExp });
export const schedule = z.strictObject({
  /** Result code of Set Schedules (18.10.13): 0 OK, 1 unable to deliver schedules. */
  code: z.number().int().min(0).max(1).default(0),
  schedule_tuples: z
    .array(z.strictObject({ schedule_tuple_id: z.number().int().min(1).max(255), schedules: z.array(scheduleEntry).min(1).max(20) }))
    .min(1)
    .max(3),
});

export const battery = z.strictObject({
  /** Step of the battery model (ms): how often it reports SOC and energy while charging. */
  timestep: z.number().int().min(1).max(3_600_000),
  capacity: positiveExp,
  level: z.number().min(0),
  full_soc: percent,
  bulk_soc: percent,
  max_current: positiveExp,
  max_power: positiveExp,
  max_voltage: positiveExp,
  target_current: nonNegExp,
  target_voltage: nonNegExp,
  target_voltage_delta: nonNegExp,
  max_current_AC: nonNegExp,
  max_voltage_AC: nonNegExp,
  min_current_AC: nonNegExp,
});

const authorization = z.strictObject({
  /** What to answer without a TTY (and with --no-ask): accept all, deny all, or the allow-list. */
  policy: z.enum(['accept', 'deny', 'allow_list']).default('accept'),
  /** EVCC IDs (hex, case and ':' ignored) accepted by the allow_list policy. */
  allow: z.array(z.string().max(64)).max(10_000).default([]),
  /** Plug & Charge contract EMAIDs accepted by the allow_list policy (separators and case ignored). */
  allow_emaid: z.array(z.string().max(64)).max(10_000).default([]),
});

/** Set Configuration's string fields (18.10.1): DIN EVSE ID up to 32, ISO up to 37 characters. */
export const evseIdDin = z.string().min(1).max(32);
export const evseIdIso = z.string().min(1).max(37);

const evseSection = z.strictObject({
  configuration: z.strictObject({ id_din: evseIdDin, id_iso: evseIdIso, protocol: protocolList, payment_method: paymentList, energy_transfer_mode: etmList }),
  certificate_installation_support: z.boolean().default(false),
  certificate_update_support: z.boolean().default(false),
  /** Default folder of `freev2g certs install -c FILE` (the reference's "Inject certificates"). */
  certs_folder: z.string().min(1).default('.'),
  charger,
  schedule,
  authorization: authorization.default({ policy: 'accept', allow: [], allow_emaid: [] }),
  /** Plug & Charge certificate installation/update responses (docs/pnc.md); absent: refused. */
  certificate_provider: certificateProviderSchema.optional(),
  /** Ask the EV to sign a metering receipt once charging starts (Set Meter Receipt Request, 18.10.19). */
  metering_receipt: z.boolean().default(false),
  /** Set the module's clock to the host's UTC time at start (Time module, 12.3.1). */
  set_module_time: z.boolean().default(false),
});

const evSection = z.strictObject({
  configuration: z.strictObject({ id: mac, protocol: protocolList, payment_method: paymentList, energy_transfer_mode: etmList }),
  battery,
  /** Ours: the EV stops charging at this state of charge (default: the battery's full_soc). */
  target_soc: percent.optional(),
  set_module_time: z.boolean().default(false),
});

export const stationFile = z
  .strictObject({
    mac: mac.optional(),
    interface: z.strictObject({ type: z.enum(['eth', 'spi']), name: z.string().min(1).max(256) }).optional(),
    portmirror: z.boolean().default(false),
    evse: evseSection.optional(),
    ev: evSection.optional(),
  })
  .refine((s) => (s.evse === undefined) !== (s.ev === undefined), { message: 'expected exactly one of the sections "evse" and "ev"' });

export type StationFile = z.output<typeof stationFile>;
