/**
 * Overrides from the environment (and a .env file), validated like file values.
 *
 * Station keys: FREEV2G_<KEY>[__<KEY>...]=<value> sets that key path of our layout (case does not
 * matter; `__` separates levels), e.g. FREEV2G_MAC=00:01:01:63:77:40 or
 * FREEV2G_EVSE__CHARGER__MAX_POWER=11000; the station schema then checks it and an error names
 * the variable. CLI defaults (FREEV2G_SPEED, FREEV2G_LOG_FORMAT...) are checked by `cliEnv`.
 */
import { config as loadDotenv } from 'dotenv';
import { ConfigError, describeInput } from './errors.js';
import { FORBIDDEN_KEYS, type Json, type JsonObject, isObject } from './json.js';

export const ENV_PREFIX = 'FREEV2G_';
/** Top-level keys of a station file that environment variables may set. */
const STATION_KEYS = new Set(['mac', 'interface', 'portmirror', 'evse', 'ev']);

/** Reads .env from the working directory into process.env (existing variables win). */
export function loadDotenvOnce(): void {
  loadDotenv({ quiet: true });
}

function parseEnvValue(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

/**
 * Applies the station-key variables to `target` (our layout). Only paths under the file's
 * top-level keys are applied; a section override (FREEV2G_EVSE__...) only to stations of that
 * role. Returns the variable used per key path, for messages.
 */
export function applyEnv(target: JsonObject, env: NodeJS.ProcessEnv, cliKeys: ReadonlySet<string>): Map<string, string> {
  const used = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const rest = name.slice(ENV_PREFIX.length);
    if (cliKeys.has(rest)) continue;
    const parts = rest.split('__').map((p) => p.toLowerCase());
    const section = parts[0] as string;
    if (!STATION_KEYS.has(section)) continue;
    if ((section === 'evse' || section === 'ev') && !(section in target)) continue;
    const reserved = parts.find((p) => FORBIDDEN_KEYS.has(p));
    if (reserved !== undefined) throw new ConfigError(`environment ${name}: ${reserved}: key not allowed`);
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

/** Checks of the variables that set CLI defaults: undefined when fine, else what was expected. */
const CLI_ENV: Record<string, (v: string) => string | undefined> = {
  LOG_FORMAT: (v) => (v === 'human' || v === 'json' ? undefined : 'expected "human" or "json"'),
  SPEED: (v) => (v === 'max' || (Number(v) > 0 && Number.isFinite(Number(v)) && Number(v) <= 1e6) ? undefined : 'expected a number > 0 (at most 1000000) or "max"'),
  INSPECT: (v) => (v === '' || (/^\d+$/.test(v) && Number(v) <= 65535) ? undefined : 'expected a port 0-65535'),
  RECORDS: (v) => (v.length > 0 && v.length <= 4096 ? undefined : 'expected a file name'),
  CAPTURE: (v) => (v.length > 0 && v.length <= 4096 ? undefined : 'expected a file name'),
  CONFIG: (v) => (v.length > 0 && v.length <= 4096 ? undefined : 'expected a file name'),
};

/** Environment variables that set CLI defaults rather than station keys. */
export const CLI_ENV_KEYS: ReadonlySet<string> = new Set(Object.keys(CLI_ENV));

/**
 * The value of FREEV2G_<key> (a CLI default), checked like a file value: a bad one is a
 * ConfigError (exit 3) naming the variable, never silently used or ignored.
 */
export function cliEnv(key: keyof typeof CLI_ENV & string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = `${ENV_PREFIX}${key}`;
  const raw = env[name];
  if (raw === undefined) return undefined;
  const problem = CLI_ENV[key]?.(raw);
  if (problem !== undefined) throw new ConfigError(`environment ${name}: ${problem}, got ${describeInput(raw)}`);
  return raw;
}
