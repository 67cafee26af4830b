/**
 * Station configuration: the reference application's JSON files (config_evse.json,
 * config_ev.json: same keys), our defaults in config/evse.json and config/ev.json, and overrides
 * from the environment (and a .env file). Validated with zod; every message names the file (or
 * variable), the key and what was expected. The result is in our units and names (maxVoltageV,
 * timeoutMs...), one `StationSettings` per module; machines-adapter.ts maps it onto the station
 * machines' own config type.
 *
 * A file holds one module (the reference layout) or several: `{ "stations": [ {...}, {...} ] }`,
 * each with its own "mac" and either an "evse" or an "ev" section.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import type { EvConfig } from '../machines/config.js';
import { CliError, EXIT } from './exit.js';
import { type CertificateProviderSetting, certificateProviderSchema } from './pnc/config.js';

export type Role = 'EVSE' | 'EV';

/** The reference's default WHITE-beet MAC (Application.py). */
export const DEFAULT_MAC = '00:01:01:63:77:33';
export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'config');
export const defaultConfigFile = (role: Role): string => join(CONFIG_DIR, role === 'EVSE' ? 'evse.json' : 'ev.json');

// ---- file schema (the reference's keys) -------------------------------------------------------

const mac = z.string().regex(/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, 'expected a MAC address like 00:01:01:63:77:33');
const nonNeg = z.number().min(0);
const PROTOCOL_NAMES = { din: 0, iso: 1 } as const;
const PAYMENT_NAMES = { eim: 0, pnc: 1 } as const;
const ETM_NAMES = { dc_core: 0, dc_extended: 1, dc_combo_core: 2, dc_unique: 3, ac_single_phase: 4, ac_three_phase: 5 } as const;

/** A list of names (the reference's) or of the manual's numbers. */
function namesOrNumbers<T extends Record<string, number>>(names: T) {
  const keys = Object.keys(names) as [string, ...string[]];
  const max = Math.max(...Object.values(names));
  return z
    .array(z.union([z.enum(keys), z.number().int().min(0).max(max)]))
    .min(1)
    .transform((list) => list.map((v) => (typeof v === 'number' ? v : (names[v] as number))));
}

const commonConfiguration = {
  protocol: namesOrNumbers(PROTOCOL_NAMES),
  payment_method: namesOrNumbers(PAYMENT_NAMES),
  energy_transfer_mode: namesOrNumbers(ETM_NAMES),
};

const scheduleEntry = z.strictObject({ start: z.number().int().min(0), interval: z.number().int().min(0), power: nonNeg });
const schedule = z.strictObject({
  code: z.number().int().min(0).max(255).default(0),
  schedule_tuples: z
    .array(z.strictObject({ schedule_tuple_id: z.number().int().min(0).max(255), schedules: z.array(scheduleEntry).min(1) }))
    .min(1),
});

const authorization = z.strictObject({
  /** What to answer without a TTY (and with --no-ask): accept all, deny all, or the allow-list. */
  policy: z.enum(['accept', 'deny', 'allow_list']).default('accept'),
  /** EVCC IDs (hex, case and ':' ignored) accepted by the allow_list policy. */
  allow: z.array(z.string()).default([]),
  /** Plug & Charge contract EMAIDs accepted by the allow_list policy (separators and case ignored). */
  allow_emaid: z.array(z.string()).default([]),
});

const evseSection = z.strictObject({
  configuration: z.strictObject({ id_din: z.string().min(1).max(37), id_iso: z.string().min(1).max(37), ...commonConfiguration }),
  certificate_installation_support: z.boolean().default(false),
  certificate_update_support: z.boolean().default(false),
  certs_folder: z.string().default('.'),
  charger: z.strictObject({
    min_voltage: nonNeg,
    min_current: nonNeg,
    max_voltage: z.number().positive(),
    max_current: z.number().positive(),
    max_power: z.number().positive(),
    delta_u: nonNeg,
    delta_i: nonNeg,
  }),
  schedule,
  authorization: authorization.default({ policy: 'accept', allow: [], allow_emaid: [] }),
  /** Plug & Charge certificate installation/update responses (docs/pnc.md); absent: refused. */
  certificate_provider: certificateProviderSchema.optional(),
});

const evSection = z.strictObject({
  configuration: z.strictObject({ id: mac, ...commonConfiguration }),
  battery: z.strictObject({
    timestep: z.number().int().positive(),
    capacity: z.number().positive(),
    level: nonNeg,
    full_soc: z.number().min(0).max(100),
    bulk_soc: z.number().min(0).max(100),
    max_current: z.number().positive(),
    max_power: z.number().positive(),
    max_voltage: z.number().positive(),
    target_current: nonNeg,
    target_voltage: nonNeg,
    target_voltage_delta: nonNeg,
    max_current_AC: nonNeg,
    max_voltage_AC: nonNeg,
    min_current_AC: nonNeg,
  }),
  /** Ours: the EV stops charging at this state of charge (default: the battery's full_soc). */
  target_soc: z.number().min(0).max(100).optional(),
});

const stationFile = z
  .strictObject({
    mac: mac.optional(),
    interface: z.strictObject({ type: z.enum(['eth', 'spi']), name: z.string().min(1) }).optional(),
    portmirror: z.boolean().default(false),
    evse: evseSection.optional(),
    ev: evSection.optional(),
  })
  .refine((s) => (s.evse === undefined) !== (s.ev === undefined), { message: 'expected exactly one of the sections "evse" and "ev"' });

type StationFile = z.output<typeof stationFile>;

// ---- our settings (units in names) ------------------------------------------------------------

export interface ScheduleSetting {
  scheduleTupleId: number;
  entries: Array<{ startS: number; intervalS: number; powerW: number }>;
}

export interface EvseSettings {
  evseIdDin: string;
  evseIdIso: string;
  protocols: number[];
  paymentMethods: number[];
  energyTransferModes: number[];
  certificateInstallationSupport: boolean;
  certificateUpdateSupport: boolean;
  certsFolder: string;
  charger: {
    minVoltageV: number;
    minCurrentA: number;
    maxVoltageV: number;
    maxCurrentA: number;
    maxPowerW: number;
    deltaVoltageV: number;
    deltaCurrentA: number;
  };
  scheduleCode: number;
  schedule: ScheduleSetting[];
  authorization: { policy: 'accept' | 'deny' | 'allowList'; allow: string[]; allowEmaid?: string[] };
  certificateProvider?: CertificateProviderSetting;
}

/** What an EV section of the file sets: the EV station's own config fields, not re-declared. */
export type EvSettings = Pick<EvConfig, 'evccId' | 'protocols' | 'paymentMethods' | 'energyTransferModes' | 'battery' | 'targetSocPercent'>;

export interface StationSettings {
  role: Role;
  /** The module's MAC (Ethernet host interface). */
  mac: string;
  interface?: { type: 'eth' | 'spi'; name: string };
  portMirror: boolean;
  evse?: EvseSettings;
  ev?: EvSettings;
  /** Where these settings came from (for messages). */
  source: string;
}

function toSettings(f: StationFile, source: string, fallbackMac: string): StationSettings {
  const base = { mac: f.mac ?? fallbackMac, portMirror: f.portmirror, source, ...(f.interface ? { interface: f.interface } : {}) };
  if (f.evse) {
    const e = f.evse;
    return {
      ...base,
      role: 'EVSE',
      evse: {
        evseIdDin: e.configuration.id_din,
        evseIdIso: e.configuration.id_iso,
        protocols: e.configuration.protocol,
        paymentMethods: e.configuration.payment_method,
        energyTransferModes: e.configuration.energy_transfer_mode,
        certificateInstallationSupport: e.certificate_installation_support,
        certificateUpdateSupport: e.certificate_update_support,
        certsFolder: e.certs_folder,
        charger: {
          minVoltageV: e.charger.min_voltage,
          minCurrentA: e.charger.min_current,
          maxVoltageV: e.charger.max_voltage,
          maxCurrentA: e.charger.max_current,
          maxPowerW: e.charger.max_power,
          deltaVoltageV: e.charger.delta_u,
          deltaCurrentA: e.charger.delta_i,
        },
        scheduleCode: e.schedule.code,
        schedule: e.schedule.schedule_tuples.map((t) => ({
          scheduleTupleId: t.schedule_tuple_id,
          entries: t.schedules.map((s) => ({ startS: s.start, intervalS: s.interval, powerW: s.power })),
        })),
        authorization: { policy: e.authorization.policy === 'allow_list' ? 'allowList' : e.authorization.policy, allow: e.authorization.allow, allowEmaid: e.authorization.allow_emaid },
        ...(e.certificate_provider ? { certificateProvider: e.certificate_provider } : {}),
      },
    };
  }
  const v = f.ev as NonNullable<StationFile['ev']>;
  const b = v.battery;
  return {
    ...base,
    role: 'EV',
    ev: {
      evccId: v.configuration.id,
      protocols: v.configuration.protocol,
      paymentMethods: v.configuration.payment_method,
      energyTransferModes: v.configuration.energy_transfer_mode,
      battery: {
        timestepMs: b.timestep,
        capacityWh: b.capacity,
        levelWh: b.level,
        fullSocPercent: b.full_soc,
        bulkSocPercent: b.bulk_soc,
        maxCurrentA: b.max_current,
        maxPowerW: b.max_power,
        maxVoltageV: b.max_voltage,
        targetCurrentA: b.target_current,
        targetVoltageV: b.target_voltage,
        targetVoltageDeltaV: b.target_voltage_delta,
        maxCurrentAcA: b.max_current_AC,
        maxVoltageAcV: b.max_voltage_AC,
        minCurrentAcA: b.min_current_AC,
      },
      targetSocPercent: v.target_soc ?? b.full_soc,
    },
  };
}

// ---- loading ----------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` on top of `base`: objects merge key by key, everything else (arrays too) replaces. */
export function deepMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k] as Json, v) : v;
  return out;
}

export const ENV_PREFIX = 'FREEV2G_';
/** Top-level keys of a station file that environment variables may set. */
const STATION_KEYS = new Set(['mac', 'interface', 'portmirror', 'evse', 'ev']);

/**
 * Overrides from the environment: FREEV2G_<KEY>[__<KEY>...]=<value> sets that key path (case
 * does not matter; `__` separates levels), e.g. FREEV2G_MAC=00:01:01:63:77:40 or
 * FREEV2G_EVSE__CHARGER__MAX_POWER=11000. Values are read as JSON when they parse, else as text.
 * Only paths under the file's top-level keys (mac, interface, portmirror, evse, ev) are applied;
 * FREEV2G_LOG_FORMAT, FREEV2G_RECORDS and the like are CLI defaults, read elsewhere. Returns the variables used per key path, for messages.
 */
export function applyEnv(target: JsonObject, env: NodeJS.ProcessEnv, cliKeys: ReadonlySet<string>): Map<string, string> {
  const used = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const rest = name.slice(ENV_PREFIX.length);
    if (cliKeys.has(rest)) continue;
    const parts = rest.split('__').map((p) => p.toLowerCase());
    const section = parts[0] as string;
    // Only the station file's own top-level keys; other FREEV2G_* variables are not ours.
    if (!STATION_KEYS.has(section)) continue;
    // A section override (FREEV2G_EVSE__...) only applies to stations of that role.
    if ((section === 'evse' || section === 'ev') && !(section in target)) continue;
    let node: JsonObject = target;
    const path: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const want = parts[i] as string;
      const key = Object.keys(node).find((k) => k.toLowerCase() === want) ?? want;
      path.push(key);
      if (i === parts.length - 1) node[key] = parseEnvValue(raw);
      else {
        if (!isObject(node[key])) node[key] = {};
        node = node[key] as JsonObject;
      }
    }
    used.set(path.join('.'), name);
  }
  return used;
}

function parseEnvValue(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

/** Environment variables that set CLI defaults rather than station keys. */
export const CLI_ENV_KEYS = new Set(['LOG_FORMAT', 'RECORDS', 'SPEED', 'CAPTURE', 'INSPECT', 'CONFIG']);

function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describeInput(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeInput(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'too_small': {
      const op = issue.origin === 'array' || issue.origin === 'string' ? 'at least' : issue.inclusive ? '>=' : '>';
      const unit = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : '';
      return `expected ${op} ${String(issue.minimum)}${unit}, got ${describeInput(issue.input)}`;
    }
    case 'too_big': {
      const op = issue.origin === 'array' || issue.origin === 'string' ? 'at most' : issue.inclusive ? '<=' : '<';
      const unit = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : '';
      return `expected ${op} ${String(issue.maximum)}${unit}, got ${describeInput(issue.input)}`;
    }
    case 'invalid_union':
      return `expected one of the allowed names or numbers, got ${describeInput(issue.input)}`;
    default:
      return `${issue.message}${issue.input !== undefined ? `, got ${describeInput(issue.input)}` : ''}`;
  }
}

/** A configuration error: `<file>: <key>: <what was expected>`; exit code EXIT.config. */
export class ConfigError extends CliError {
  constructor(message: string) {
    super(message, EXIT.config);
    this.name = 'ConfigError';
  }
}

function parseJsonFile(path: string): Json {
  if (!existsSync(path)) throw new ConfigError(`${path}: file not found`);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

function validate(raw: JsonObject, where: string, envUsed: Map<string, string>, keyPrefix: string): StationFile {
  const r = stationFile.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const key = issue.path.map(String).join('.');
  const variable = envUsed.get(key);
  const origin = variable ? `environment ${variable}` : where;
  throw new ConfigError(`${origin}: ${keyPrefix}${key || '(top level)'}: ${issueText(issue)}`);
}

export interface LoadOptions {
  /** Role wanted when the file does not say (single-module files); also picks the defaults file. */
  role?: Role;
  /** -m on the command line: used when the file has no "mac". */
  mac?: string;
  /** Per-role fallback MAC (sim: distinct modules) when neither the file nor -m gives one. */
  macFor?: (role: Role) => string;
  env?: NodeJS.ProcessEnv;
}

/** Reads .env from the working directory into process.env (existing variables win). */
export function loadDotenvOnce(): void {
  loadDotenv({ quiet: true });
}

/**
 * The stations a configuration file describes, each merged over the defaults of its role and
 * the environment. Without a file, the default file of `options.role`.
 */
export function loadStations(file: string | undefined, options: LoadOptions = {}): StationSettings[] {
  const env = options.env ?? process.env;
  const raw = file === undefined ? undefined : parseJsonFile(file);
  const where = file ?? defaultConfigFile(options.role ?? 'EVSE');
  let entries: Json[];
  let multi = false;
  if (raw === undefined) entries = [{}];
  else if (isObject(raw) && Array.isArray(raw.stations)) [entries, multi] = [raw.stations, true];
  else if (isObject(raw)) entries = [raw];
  else throw new ConfigError(`${where}: (top level): expected an object, got ${describeInput(raw)}`);
  return entries.map((entry, i) => {
    const prefix = multi ? `stations.${i}.` : '';
    if (!isObject(entry)) throw new ConfigError(`${where}: ${prefix || '(top level)'}: expected an object, got ${describeInput(entry)}`);
    const role: Role = 'evse' in entry ? 'EVSE' : 'ev' in entry ? 'EV' : (options.role ?? 'EVSE');
    const defaults = parseJsonFile(defaultConfigFile(role));
    const merged = structuredClone(deepMerge(defaults, entry)) as JsonObject;
    // A file that names its role must not get the other role's section from the defaults.
    const envUsed = applyEnv(merged, env, CLI_ENV_KEYS);
    const parsed = validate(merged, where, envUsed, prefix);
    return toSettings(parsed, where, options.mac ?? options.macFor?.(role) ?? DEFAULT_MAC);
  });
}

/** The single station of `role` a command drives (eth/spi: the one whose role matches). */
export function loadStation(file: string | undefined, role: Role, options: Omit<LoadOptions, 'role'> = {}): StationSettings {
  const stations = loadStations(file, { ...options, role });
  const match = stations.filter((s) => s.role === role);
  if (match.length === 0) throw new ConfigError(`${file ?? defaultConfigFile(role)}: no "${role.toLowerCase()}" section for role ${role}`);
  if (match.length > 1 && options.mac !== undefined) {
    const byMac = match.find((s) => s.mac.toLowerCase() === options.mac?.toLowerCase());
    if (byMac) return byMac;
  }
  return match[0] as StationSettings;
}

export interface SelectOptions extends Omit<LoadOptions, 'role' | 'mac'> {
  /** -r: only stations of this role (required without a file: it picks the defaults file). */
  role?: Role;
  /** -m: the one station with this MAC; a single-station file takes it as its module MAC. */
  mac?: string;
}

const sameMac = (a: string, b: string): boolean => a.toLowerCase().replace(/-/g, ':') === b.toLowerCase().replace(/-/g, ':');

/**
 * The stations `eth` runs: every station of the file, or those of role -r, or the one with MAC
 * -m. A single-station file (or none) is the one-element case; there -m sets the module's MAC
 * (the command line wins over the file's "mac"; the reference let the file win). Two selected
 * stations may not share a MAC: each transport filters its module's frames by it.
 */
export function selectStations(file: string | undefined, options: SelectOptions = {}): StationSettings[] {
  const { role, mac, ...rest } = options;
  const all = loadStations(file, { ...rest, ...(role ? { role } : {}), ...(mac ? { mac } : {}) });
  const where = file ?? defaultConfigFile(role ?? 'EVSE');
  const ofRole = role ? all.filter((s) => s.role === role) : all;
  if (ofRole.length === 0) throw new ConfigError(`${where}: no "${(role ?? 'EVSE').toLowerCase()}" section for role ${role ?? 'EVSE'}`);
  let chosen = ofRole;
  if (mac !== undefined) {
    const byMac = ofRole.filter((s) => sameMac(s.mac, mac));
    if (byMac.length > 0) chosen = byMac.slice(0, 1);
    else if (ofRole.length === 1) chosen = [{ ...(ofRole[0] as StationSettings), mac }];
    else throw new ConfigError(`${where}: no station${role ? ` of role ${role}` : ''} with MAC ${mac} (has ${ofRole.map((s) => s.mac).join(', ')})`);
  }
  const seen = new Set<string>();
  for (const s of chosen) {
    const key = s.mac.toLowerCase().replace(/-/g, ':');
    if (seen.has(key)) throw new ConfigError(`${where}: two stations with MAC ${s.mac}: give each station its module's "mac"`);
    seen.add(key);
  }
  return chosen;
}
