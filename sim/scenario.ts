/**
 * Scenarios: JSON files that script the simulated car and station (sim/scenarios/*.json),
 * validated with zod. Everything has a default, so `{}` is the plain DC session.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { ENERGY_TRANSFER_MODES, PROTOCOLS } from '../codec/modules/v2g/common.js';
import { quirksSchema } from './module-quirks.js';
import { SESSION_PHASES } from './phases.js';

const phase = z.enum(SESSION_PHASES);
const ms = z.number().int().min(0);

/** The car's battery: the sim integrates the energy the EVSE reports delivering. */
const battery = z.strictObject({
  capacityWh: z.number().positive().default(40_000),
  /** SOC at plug-in; when absent the EV host's socPercent (Set DC Charging Parameters) is used. */
  socStartPercent: z.number().min(0).max(100).optional(),
  /** SOC at which the car reports charging complete; default: the EV host's full SOC. */
  socTargetPercent: z.number().min(0).max(100).optional(),
});

/** An error code the car (DC_EVErrorCode, 18.12.6) reports from a phase on. */
const evErrorAt = z.strictObject({ phase, evErrorCode: z.number().int().min(1).max(7) });

/** The station fails a phase: the EVSE answers FAILED; both hosts get Session Error. */
const stationErrorAt = z.strictObject({
  phase,
  /** 18.12.14 code for the EVSE host. */
  evseSessionError: z.number().int().min(0).max(23).default(0),
  /** 18.11.14 code for the EV host. */
  evSessionError: z.number().int().min(1).max(8).default(8),
});

/**
 * A car that pays by contract (Plug & Charge) when the station offers it: optionally asks for a
 * certificate installation or update first (opaque EXI at message level), then sends its
 * contract (Payment Details) with the EMAID and chain below.
 */
const pnc = z.strictObject({
  emaid: z.string().min(14).max(15),
  /** Contract certificate, MO Sub-CA 2, MO Sub-CA 1: base64 DER (up to 800 bytes each). */
  contractCertificateChain: z.array(z.string().base64()).min(1).max(3),
  certificateRequest: z.enum(['none', 'installation', 'update']).default('none'),
});

const ev = z.strictObject({
  /** Preferred protocol when both sides support it (else ISO 15118-2, else DIN 70121). */
  protocol: z.enum(PROTOCOLS).optional(),
  /** Preferred energy transfer mode when both sides support it (else the first common one). */
  energyTransferMode: z.enum(ENERGY_TRANSFER_MODES).optional(),
  battery: battery.default({ capacityWh: 40_000 }),
  /** Besides the SOC target: report charging complete after this long in the charge loop. */
  stopAfterChargingMs: ms.optional(),
  /** Interval of repeated requests (cable check, pre-charge, charge loop, welding detection). */
  loopIntervalMs: ms.default(220),
  /** Pre-charge is done when |present - target| <= this (V). */
  preChargeToleranceV: z.number().min(0).default(20),
  /** Minimum pre-charge duration: a slow car (big capacitors). */
  preChargeMs: ms.default(0),
  /** The car gives up pre-charge after this long (DIN 70121 V2G_SECC_PreCharge_Timeout 7 s). */
  preChargeTimeoutMs: ms.default(7_000),
  /** Duration of one SLAC matching attempt (parameter exchange, sounding, match). */
  slacMatchMs: ms.default(1_500),
  /** An attempt fails when the EVSE is not in its matching window within this time. */
  slacWaitMs: ms.default(2_000),
  /** The first N matching attempts fail (SlacFailed on the EV side), then matching succeeds. */
  slacFailures: z.number().int().min(0).default(0),
  errors: z.array(evErrorAt).default([]),
  pnc: pnc.optional(),
  /**
   * The car pauses once per plug-in (ISO 15118-2 SessionStopReq ChargingSession=Pause, after
   * PowerDelivery stop): `afterChargingMs` into its charge loop; it resumes `resumeAfterMs` after
   * the pause with a SessionSetupReq carrying the paused Session ID, once its host starts a
   * session again (18.9.10). See docs/simulator.md.
   */
  pause: z.strictObject({ afterChargingMs: ms, resumeAfterMs: ms.default(10_000) }).optional(),
  /** The car reports EVReady=false before this phase (an ID.4 does in Charge Parameter Discovery, Sevenstax/FreeV2G#58). */
  readyFromPhase: phase.default('idle'),
  /**
   * The session ID (16 hex digits) the car puts into SessionSetupReq; default: zero in its first
   * session, the previous one's after. A Skoda CitiGo sent a non-zero one (Sevenstax/FreeV2G#14).
   */
  setupSessionId: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/)
    .optional(),
  /**
   * From this phase on, in its first `sessions` sessions, the car sends requests with another
   * session ID than SessionSetupRes gave it (Sevenstax/FreeV2G#14, a Skoda CitiGo); later
   * sessions use the right one, as the CitiGo did again "for no particular reason".
   */
  changesSessionId: z.strictObject({ phase, sessions: z.number().int().min(1).default(1) }).optional(),
});

/** Timeouts the EVSE module puts into its status messages (18.12.3, .5, .8, .10, .11). */
const timeouts = z.strictObject({
  authorizationMs: ms.default(60_000),
  schedulesMs: ms.default(5_000),
  cableCheckMs: ms.default(38_000),
  startChargingMs: ms.default(5_000),
  stopChargingMs: ms.default(5_000),
  /** Charge loop: longest gap between Update DC/AC Charging Parameters (18.10.4, error 23). */
  chargeParameterMs: ms.default(500),
  /** Certificate Installation/Update Requested (18.12.15/16; 4500 ms in the manual's example). */
  certificateMs: ms.default(4_500),
});

const station = z.strictObject({
  /** Minimum cable check duration: a slow isolation monitor. */
  cableCheckMs: ms.default(0),
  timeouts: timeouts.default({
    authorizationMs: 60_000,
    schedulesMs: 5_000,
    cableCheckMs: 38_000,
    startChargingMs: 5_000,
    stopChargingMs: 5_000,
    chargeParameterMs: 500,
    certificateMs: 4_500,
  }),
  errors: z.array(stationErrorAt).default([]),
});

const cable = z.strictObject({
  /** Plug in this long after the pair is created; null: only by `cable.plug()`. */
  plugInAfterMs: ms.nullable().default(1_000),
  /** Unplug this long after a session ended (stopped or failed); null: stay plugged. */
  unplugAfterSessionMs: ms.nullable().default(null),
  /** Plug in again this long after an unplug; null: stay unplugged. */
  replugAfterMs: ms.nullable().default(null),
  /** Unplug when the session reaches this phase (after `afterMs` in it). */
  unplugIn: z.strictObject({ phase, afterMs: ms.default(0) }).optional(),
});

/**
 * `operator`: what the station hosts are asked to do during a session (the CLI sends the station events,
 * docs/machines.md): `afterChargingMs` after the station's `charging` phase began, once per
 * session. Renegotiation may come from either side; limits change on the EVSE only.
 */
const hostAction = z.discriminatedUnion('do', [
  z.strictObject({ do: z.literal('renegotiate'), station: z.enum(['EVSE', 'EV']), afterChargingMs: ms }),
  z.strictObject({ do: z.literal('stopCharging'), station: z.enum(['EVSE', 'EV']), afterChargingMs: ms }),
  z.strictObject({
    do: z.literal('setLimits'),
    station: z.literal('EVSE'),
    afterChargingMs: ms,
    maxPowerW: z.number().positive().optional(),
    maxCurrentA: z.number().positive().optional(),
  }),
]);
export type HostAction = z.infer<typeof hostAction>;

export const scenarioSchema = z.strictObject({
  name: z.string().default('unnamed'),
  description: z.string().optional(),
  /**
   * Station configuration files `freev2g sim` uses for this scenario unless -c names one for
   * that role (relative to the scenario file): e.g. an EVSE that offers Plug & Charge.
   */
  hosts: z.strictObject({ evse: z.string().min(1).optional(), ev: z.string().min(1).optional() }).optional(),
  ev: ev.default(ev.parse({})),
  station: station.default(station.parse({})),
  cable: cable.default(cable.parse({})),
  /** Real firmware's departures from the manual, per module (sim/module-quirks.ts). */
  quirks: quirksSchema.default(quirksSchema.parse({})),
  /** Firmware versions the simulated modules emulate (firmware/profiles.ts), e.g. { "evse": "V02_00_01" }. */
  firmware: z.strictObject({ evse: z.string().optional(), ev: z.string().optional() }).optional(),
  operator: z.array(hostAction).default([]),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Validates (and fills defaults of) a scenario object; throws a readable error. */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: ${issues}`);
  }
  return r.data;
}

export async function loadScenario(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseScenario(json, path);
}

/** The scenarios shipped in sim/scenarios, by file name without `.json`. */
export const SCENARIO_DIR = new URL('../sim/scenarios/', import.meta.url);

export function builtinScenarioPath(name: string): string {
  return new URL(`${name}.json`, SCENARIO_DIR).pathname;
}
