/**
 * Station configuration (app/config/): our layout (config/evse.json, config/ev.json;
 * docs/service.md), the Python reference's layouts (reference.ts), environment overrides
 * (env.ts), read within limits (json.ts), validated (schema.ts) and mapped to our settings
 * (settings.ts) by the loader (load.ts). Every error names the file (or variable), the key and
 * what was expected; exit code EXIT.config.
 */
export { ConfigError } from './config/errors.js';
export { CLI_ENV_KEYS, ENV_PREFIX, applyEnv, cliEnv, loadDotenvOnce } from './config/env.js';
export { MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, deepMerge } from './config/json.js';
export { CONFIG_DIR, DEFAULT_MAC, type LoadOptions, type SelectOptions, configOption, defaultConfigFile, loadOcpp, loadStation, loadStations, selectStations } from './config/load.js';
export type { EvSettings, EvseSettings, Role, ScheduleSetting, StationSettings } from './config/settings.js';
export { type OcppFileSettings, checkCaFile } from './config/ocpp.js';
