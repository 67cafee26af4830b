/**
 * Typed station configurations with defaults taken from the Python reference (FreeV2G
 * config_evse.json / config_ev.json / ev.json and its README's console transcript). The app maps
 * JSON files onto these with `evseConfig(partial)` / `evConfig(partial)`.
 *
 * Enumerations are the module's numbers (V2g PROTOCOLS, PAYMENT_METHODS, ENERGY_TRANSFER_MODES).
 */
import type { ScheduleTuple } from './station-events.js';

export interface ChargerConfig {
  minVoltageV: number;
  minCurrentA: number;
  maxVoltageV: number;
  maxCurrentA: number;
  maxPowerW: number;
  /** Voltage ramp rate (V per ms); reference delta_u. */
  voltageRampVPerMs: number;
  /** Current ramp rate (A per ms); reference delta_i. */
  currentRampAPerMs: number;
  /** Peak current ripple reported to the EV (A). */
  peakCurrentRippleA: number;
  /** How often the charger model advances and samples while it moves (ms). */
  tickMs: number;
}

export interface SlacTiming {
  /** Wait after Start SLAC before matching (the reference waits 2 s for the module). */
  startDelayMs: number;
  /** How long one matching attempt may take before it counts as failed (module answers in 50 s). */
  matchTimeoutMs: number;
  /** Matching attempts before the station gives up on this plug-in. */
  attempts: number;
  /** EV only: wait after seeing 5 % before matching (the reference waits 5 s). */
  evMatchDelayMs: number;
}

export type AuthorizationMode = 'acceptAll' | 'denyAll' | 'allowList' | 'interactive';

export interface EvseConfig {
  /** ISO 15118-2 EVSE ID. */
  evseId: string;
  /** DIN 70121 EVSE ID. */
  evseIdDin: string;
  protocols: number[];
  paymentMethods: number[];
  energyTransferModes: number[];
  certificateInstallationSupport: boolean;
  certificateUpdateSupport: boolean;
  /** Where certificates live (app concern; carried for the app helper). */
  certsFolder: string;
  charger: ChargerConfig;
  /** Schedules offered when the module asks (18.10.13); entries are trimmed to the EV's max. */
  schedule: ScheduleTuple[];
  /** allowList: EVCC IDs, and EMAIDs of Plug & Charge contracts (either matches). */
  authorization: { mode: AuthorizationMode; allowList: string[]; allowEmaids?: string[] };
  /** Period of EvseUpdateDcChargingParameters while energy flows; the module ends the session
   * with error 23 after 500 ms without one (18.10.4), so it must stay well below that. */
  updateIntervalMs: number;
  /** Metering receipt requested from the EV (18.10.19) when set. */
  meterReceipt: boolean;
  /** Set Schedules result code (18.10.13): 0 OK, 1 unable to deliver schedules. */
  scheduleCode: number;
  /** Set the module's clock (Time module, 12.3.1) to the host clock's UTC time at start. */
  setModuleTime: boolean;
  slac: SlacTiming;
  /** Refuse to run on firmware outside the known table (false: warn and go on). */
  strictFirmware: boolean;
}

export interface BatteryConfig {
  /** Step of the battery model (ms): how often it reports SOC and energy while charging
   * (the reference's Battery.timestep; its own default is 1000). */
  timestepMs: number;
  capacityWh: number;
  levelWh: number;
  fullSocPercent: number;
  bulkSocPercent: number;
  maxCurrentA: number;
  maxPowerW: number;
  maxVoltageV: number;
  targetCurrentA: number;
  targetVoltageV: number;
  targetVoltageDeltaV: number;
  maxCurrentAcA: number;
  maxVoltageAcV: number;
  minCurrentAcA: number;
}

export interface EvConfig {
  /** EVCC ID: the EV's MAC address. */
  evccId: string;
  protocols: number[];
  paymentMethods: number[];
  energyTransferModes: number[];
  battery: BatteryConfig;
  /** Stop charging at this SOC (defaults to the battery's full SOC). */
  targetSocPercent: number;
  /** How often the EV updates its charging parameters while charging (ms). */
  updateIntervalMs: number;
  /** Set the module's clock (Time module, 12.3.1) to the host clock's UTC time at start. */
  setModuleTime: boolean;
  slac: SlacTiming;
  strictFirmware: boolean;
}

export const DEFAULT_SLAC: SlacTiming = { startDelayMs: 2000, matchTimeoutMs: 50_000, attempts: 3, evMatchDelayMs: 5000 };

export const DEFAULT_EVSE_CONFIG: EvseConfig = {
  evseId: 'DE*ABC*E*00001*01',
  evseIdDin: '+49*123*456*789',
  protocols: [0, 1],
  paymentMethods: [0],
  energyTransferModes: [0, 1, 2, 3, 4, 5],
  certificateInstallationSupport: false,
  certificateUpdateSupport: false,
  certsFolder: '.',
  charger: {
    minVoltageV: 0,
    minCurrentA: 0,
    maxVoltageV: 400,
    maxCurrentA: 100,
    maxPowerW: 25000,
    voltageRampVPerMs: 0.5,
    currentRampAPerMs: 0.05,
    peakCurrentRippleA: 0,
    tickMs: 100,
  },
  // The reference transcript prints "[(0, 65535, 25000), (1, 65535, 25000)]": two consecutive
  // entries of 65535 s at 25 kW (older API without a start field), here as one tuple.
  schedule: [
    {
      scheduleTupleId: 1,
      entries: [
        { startS: 0, intervalS: 65535, powerW: 25000 },
        { startS: 65535, intervalS: 65535, powerW: 25000 },
      ],
    },
  ],
  authorization: { mode: 'acceptAll', allowList: [] },
  updateIntervalMs: 200,
  meterReceipt: false,
  scheduleCode: 0,
  setModuleTime: false,
  slac: DEFAULT_SLAC,
  strictFirmware: false,
};

export const DEFAULT_BATTERY: BatteryConfig = {
  timestepMs: 1000,
  capacityWh: 50_000,
  levelWh: 49_000,
  fullSocPercent: 100,
  bulkSocPercent: 80,
  maxCurrentA: 100,
  maxPowerW: 12_000,
  maxVoltageV: 300,
  targetCurrentA: 40,
  targetVoltageV: 200,
  targetVoltageDeltaV: 10,
  // config_ev.json has 0 here, which makes AC charging impossible; ev.json's values are used.
  maxCurrentAcA: 150,
  maxVoltageAcV: 400,
  minCurrentAcA: 0,
};

export const DEFAULT_EV_CONFIG: EvConfig = {
  evccId: '00:01:01:63:77:31',
  protocols: [0, 1],
  paymentMethods: [0],
  energyTransferModes: [0, 1, 2, 3, 4, 5],
  battery: DEFAULT_BATTERY,
  targetSocPercent: 100,
  updateIntervalMs: 1000,
  setModuleTime: false,
  slac: DEFAULT_SLAC,
  strictFirmware: false,
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Defaults overlaid with what was given (nested objects merged, arrays replaced). */
export function evseConfig(partial: DeepPartial<EvseConfig> = {}): EvseConfig {
  return merge(DEFAULT_EVSE_CONFIG, partial);
}

export function evConfig(partial: DeepPartial<EvConfig> = {}): EvConfig {
  const c = merge(DEFAULT_EV_CONFIG, partial);
  if (partial.targetSocPercent === undefined) c.targetSocPercent = c.battery.fullSocPercent;
  return c;
}

export type { DeepPartial };

function merge<T>(base: T, over: unknown): T {
  if (over === undefined) return structuredClone(base);
  if (Array.isArray(base) || typeof base !== 'object' || base === null) return structuredClone(over as T);
  const out: Record<string, unknown> = { ...(structuredClone(base) as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = merge((base as Record<string, unknown>)[k], v);
  }
  return out as T;
}

/** "00:01:01:63:77:31" -> bytes (EVCC ID as the module wants it). */
export function macToBytes(mac: string): Uint8Array {
  const hex = mac.replace(/[^0-9a-f]/gi, '');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHexId(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
