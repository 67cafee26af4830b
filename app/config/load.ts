/**
 * Loading stations: a file (ours, a reference layout, or `{ "stations": [...] }` of those),
 * each station merged over the defaults file of its role, then the environment, then validated.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, describeInput, throwFirstIssue } from './errors.js';
import { CLI_ENV_KEYS, applyEnv } from './env.js';
import { type Json, type JsonObject, deepMerge, isObject, parseJsonFile } from './json.js';
import { type OcppFileSettings, ocppOfFile } from './ocpp.js';
import { REFERENCE_DEFAULT_FILES, fromReference, referenceLayout } from './reference.js';
import { type StationFile, stationFile } from './schema.js';
import { type Role, type StationSettings, toSettings } from './settings.js';

/** The reference's default WHITE-beet MAC (Application.py). */
export const DEFAULT_MAC = '00:01:01:63:77:33';
/**
 * The default configs beside the code: `../../config` from app/config/ (sources, dist/app/config/),
 * `../config` from a bundle chunk in dist/cli/ (scripts/build.mjs copies config/ to dist/config).
 */
export const CONFIG_DIR = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', '..', 'config'), resolve(here, '..', 'config')];
  return candidates.find((d) => existsSync(join(d, 'evse.json'))) ?? (candidates[0] as string);
})();
export const defaultConfigFile = (role: Role): string => join(CONFIG_DIR, role === 'EVSE' ? 'evse.json' : 'ev.json');

export interface LoadOptions {
  /** Role wanted when the file does not say (single-module files); also picks the defaults file. */
  role?: Role;
  /** -m on the command line: used when the file has no "mac". */
  mac?: string;
  /** Per-role fallback MAC (sim: distinct modules) when neither the file nor -m gives one. */
  macFor?: (role: Role) => string;
  env?: NodeJS.ProcessEnv;
}

function validate(raw: JsonObject, where: string, envUsed: Map<string, string>, keyPrefix: string): StationFile {
  const r = stationFile.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  throwFirstIssue(r.error, (key) => (envUsed.has(key) ? `environment ${envUsed.get(key)}` : where), keyPrefix);
}

/** One station entry of a file: its role and its keys in our layout (a reference file mapped). */
function ourLayout(entry: JsonObject, where: string, prefix: string, fallbackRole: Role): { role: Role; file: JsonObject; reference?: boolean } {
  const layout = referenceLayout(entry);
  if (layout === undefined) return { role: 'evse' in entry ? 'EVSE' : 'ev' in entry ? 'EV' : fallbackRole, file: entry };
  const r = fromReference(layout, entry);
  if (!r.ok) throwFirstIssue(r.error, () => where, prefix);
  return { role: layout === 'reference-evse' ? 'EVSE' : 'EV', file: r.file, reference: true };
}

/** The reference EV charges to its battery's full_soc: our target_soc default does not apply. */
function withoutOwnDefaults(merged: JsonObject, reference: boolean): JsonObject {
  if (reference && isObject(merged.ev)) delete merged.ev.target_soc;
  return merged;
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
  else if (isObject(raw) && Array.isArray(raw.stations)) {
    const extra = Object.keys(raw).find((k) => k !== 'stations' && k !== 'ocpp');
    if (extra !== undefined) throw new ConfigError(`${where}: ${extra}: unknown key (a multi-station file has "stations" and "ocpp")`);
    [entries, multi] = [raw.stations, true];
  } else if (isObject(raw)) {
    // The backend link is the process's, not the station's (ocpp.ts reads it).
    const { ocpp: _link, ...station } = raw;
    entries = [station];
  } else throw new ConfigError(`${where}: (top level): expected an object, got ${describeInput(raw)}`);
  return entries.map((entry, i) => {
    const prefix = multi ? `stations.${i}.` : '';
    if (!isObject(entry)) throw new ConfigError(`${where}: ${prefix || '(top level)'}: expected an object, got ${describeInput(entry)}`);
    const { role, file: ours, reference = false } = ourLayout(entry, where, prefix, options.role ?? 'EVSE');
    const defaults = parseJsonFile(defaultConfigFile(role));
    const merged = withoutOwnDefaults(structuredClone(deepMerge(defaults, ours)) as JsonObject, reference);
    const envUsed = applyEnv(merged, env, CLI_ENV_KEYS);
    const parsed = validate(merged, where, envUsed, prefix);
    return toSettings(parsed, where, options.mac ?? options.macFor?.(role) ?? DEFAULT_MAC);
  });
}

/**
 * The `ocpp` key of the configuration files of a run (the last file that has one), checked;
 * undefined when none has it.
 */
export function loadOcpp(files: readonly string[]): OcppFileSettings | undefined {
  let found: OcppFileSettings | undefined;
  for (const file of files) found = ocppOfFile(parseJsonFile(file), file) ?? found;
  return found;
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

/**
 * The file `-c` names. `-c` alone (commander gives `true`) does what the reference's argparse
 * `const` does: the reference's file name in the working directory, and when it is not there
 * "Configuration file ... not found. Use default configuration." and the defaults.
 */
export function configOption(value: string | boolean | undefined, role: Role | undefined, notice: (text: string) => void, cwd = process.cwd()): string | undefined {
  if (value !== true) return typeof value === 'string' ? value : undefined;
  const names = REFERENCE_DEFAULT_FILES[role ?? 'EVSE'];
  const found = names.map((n) => join(cwd, n)).find((p) => existsSync(p));
  if (found === undefined) notice(`Configuration file ./${names[0]} not found. Use default configuration.`);
  return found;
}
