/**
 * Options shared by the commands that run stations (sim, eth, spi): output format, capture,
 * records, dashboard, authorization prompt. Defaults can also come from the environment
 * (FREEV2G_LOG_FORMAT, FREEV2G_RECORDS, FREEV2G_CAPTURE, FREEV2G_INSPECT), read after .env.
 */
import { type Command, Option } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { checkCaFile, cliEnv, loadDotenvOnce, loadOcpp } from '../config.js';
import { DEFAULT_INSPECT_PORT } from '../state-paths.js';
import type { LogFormat } from '../output/reporter.js';
import { checkWritable } from '../output-files.js';
import { DEFAULT_RECORDS_FILE } from '../records.js';
import type { ControlSettings } from '../control/index.js';
import { type OcppSettings, splitOcppUrl } from '../ocpp/url.js';

export interface RunFlags {
  logFormat?: string;
  capture?: string;
  records?: string | false;
  inspect?: string | boolean;
  ask?: boolean;
  sessions?: string;
  verbose?: boolean;
  mqtt?: string;
  mqttPrefix?: string;
  externalAuth?: boolean;
  httpHost?: string;
  httpToken?: string;
  ocpp?: string;
  ocppPassword?: string;
  ocppQueue?: string;
  ocppCa?: string;
  powerStage?: string;
  powerStageOffTimeout?: string;
  evBattery?: string;
  evBatteryTimeout?: string;
}

export interface RunSettings {
  logFormat: LogFormat;
  capture?: string;
  records?: string;
  inspect?: number;
  /** The dashboard keeps serving after the stations ended, until SIGINT/SIGTERM (`--inspect`). */
  keepDashboard?: boolean;
  ask: boolean;
  sessions: number;
  /** Human log: every charge-loop message instead of the condensed loop. */
  verbose: boolean;
  control?: ControlSettings;
  httpHost?: string;
}

export function addRunOptions(cmd: Command, askDefault: boolean): Command {
  return cmd
    .addOption(new Option('--log-format <format>', 'human (default) or json (one JSON object per line)').choices(['human', 'json']))
    .option('--capture <file.pcap>', 'write every HCI frame sent and received to a pcap file (ethertype 0x6003)')
    .option('--records <file>', `append one JSON line per finished session (default ./${DEFAULT_RECORDS_FILE})`)
    .option('--no-records', 'do not write session records')
    .option('--inspect [port]', `serve the live dashboard on 127.0.0.1 (default port ${DEFAULT_INSPECT_PORT}; 0 = any free port); after the run it serves on until Ctrl-C`)
    .option(askDefault ? '--no-ask' : '--ask', askDefault ? 'never prompt for authorization; use the configured policy' : 'prompt for authorization on a TTY (countdown from the module timeout)')
    .option('--sessions <n>', 'stop after this many sessions per station (0: run until SIGINT/SIGTERM)', '1')
    .option('-v, --verbose', 'human log: print every charge-loop message (default: the first in full, then a progress line every 5 % SOC or 60 s)')
    .option('--mqtt <url>', 'control and telemetry API over MQTT: a broker URL (mqtt://host:1883) or "embedded[:port]" for a broker in this process (docs/integration.md)')
    .option('--mqtt-prefix <prefix>', 'MQTT topic prefix (default freev2g)')
    .option('--external-auth', 'ask the API (MQTT/HTTP) to authorize each vehicle; the configured policy decides when no answer comes 1 s before the module times out')
    .option('--http-host <address>', 'address the dashboard and API listen on (default 127.0.0.1; any other needs --http-token)')
    .option('--http-token <token>', 'token every API and /metrics request must carry (Authorization: Bearer <token>); env FREEV2G_HTTP_TOKEN')
    .option('--ocpp <url>', 'connect the EVSE stations to an OCPP 1.6J central system as one charge point: ws(s)://csms/path/<chargePointId> (docs/ocpp.md)')
    .option('--ocpp-password <password>', 'OCPP security profile 1/2: HTTP basic auth password (better: env FREEV2G_OCPP_PASSWORD); never logged')
    .option('--ocpp-ca <file>', "OCPP security profile 2: PEM file of the CA the wss:// central system's certificate must chain to (default: the system's CAs)")
    .option('--ocpp-queue <file>', 'journal of OCPP transaction messages waiting for the central system (default ./ocpp-queue.jsonl)')
    .addOption(
      new Option('--power-stage <kind>', 'EVSE output: sim (the built-in simulation, default) or mqtt (external power electronics on the --mqtt broker, docs/integration.md)').choices(['sim', 'mqtt']),
    )
    .option('--power-stage-off-timeout <ms>', 'external power stage: time it has to confirm 0 A after a disable before that is a fault (default 1000)')
    .addOption(new Option('--ev-battery <kind>', "EV battery: sim (the built-in simulation, default) or mqtt (the car's battery on the --mqtt broker, docs/integration.md)").choices(['sim', 'mqtt']))
    .option('--ev-battery-timeout <ms>', 'external EV battery: how long it may report nothing before that is a fault that stops charging (default 2000)');
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The control plane's settings from flags and environment, or undefined when none is asked for. */
function controlSettings(flags: RunFlags, env: NodeJS.ProcessEnv, files: readonly string[]): { control?: ControlSettings; httpHost?: string } {
  const mqtt = flags.mqtt ?? env.FREEV2G_MQTT;
  const mqttPrefix = flags.mqttPrefix ?? env.FREEV2G_MQTT_PREFIX;
  const httpToken = flags.httpToken ?? env.FREEV2G_HTTP_TOKEN;
  const httpHost = flags.httpHost ?? env.FREEV2G_HTTP_HOST;
  const externalAuth = flags.externalAuth === true || env.FREEV2G_EXTERNAL_AUTH === '1';
  const ocpp = ocppSettings(flags, env, files);
  if (mqtt !== undefined && !/^(embedded(:\d{1,5})?|(mqtts?|wss?):\/\/.+)$/.test(mqtt)) {
    throw new CliError(`--mqtt must be a broker URL (mqtt://, mqtts://, ws://, wss://) or "embedded[:port]", got "${mqtt}"`, EXIT.usage);
  }
  if (mqttPrefix !== undefined && !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(mqttPrefix)) {
    throw new CliError(`--mqtt-prefix must be topic levels of letters, digits, _ and - separated by /, got "${mqttPrefix}"`, EXIT.usage);
  }
  if (httpHost !== undefined && !LOOPBACK.has(httpHost) && !httpToken) {
    throw new CliError(`--http-host ${httpHost} would let other machines control the stations: set --http-token (or FREEV2G_HTTP_TOKEN) too`, EXIT.usage);
  }
  const powerStage = powerStageSettings(flags, env, mqtt);
  const battery = evBatterySettings(flags, env, mqtt);
  const control: ControlSettings = {
    ...powerStage,
    ...battery,
    ...(mqtt !== undefined ? { mqtt } : {}),
    ...(mqttPrefix !== undefined ? { mqttPrefix } : {}),
    ...(externalAuth ? { externalAuth } : {}),
    ...(httpToken ? { httpToken } : {}),
    ...(ocpp ? { ocpp } : {}),
  };
  // The API on the dashboard server (and /metrics) comes with --inspect; MQTT and external
  // authorization need the plane even without it.
  const wanted =
    powerStage.powerStage !== undefined ||
    battery.evBattery !== undefined ||
    ocpp !== undefined ||
    mqtt !== undefined ||
    externalAuth ||
    httpToken !== undefined ||
    flags.inspect !== undefined ||
    env.FREEV2G_INSPECT !== undefined;
  return { ...(wanted ? { control } : {}), ...(httpHost !== undefined ? { httpHost } : {}) };
}

/**
 * The OCPP link: each setting from the command line, else the environment, else the
 * configuration file's `ocpp` key (app/config/ocpp.ts); undefined when no URL is given anywhere.
 */
function ocppSettings(flags: RunFlags, env: NodeJS.ProcessEnv, files: readonly string[]): OcppSettings | undefined {
  const file = loadOcpp(files);
  const url = flags.ocpp ?? env.FREEV2G_OCPP ?? file?.url;
  if (url === undefined) return undefined;
  try {
    splitOcppUrl(url);
  } catch (e) {
    throw new CliError(e instanceof TypeError ? `--ocpp must be a ws:// or wss:// URL, got "${url}"` : (e as Error).message, EXIT.usage);
  }
  const password = flags.ocppPassword ?? env.FREEV2G_OCPP_PASSWORD ?? file?.password;
  const caFlag = flags.ocppCa ?? env.FREEV2G_OCPP_CA;
  if (caFlag !== undefined) checkCaFile(caFlag, flags.ocppCa !== undefined ? '--ocpp-ca' : 'environment FREEV2G_OCPP_CA');
  const caFile = caFlag ?? file?.caFile;
  const queueFile = flags.ocppQueue ?? env.FREEV2G_OCPP_QUEUE ?? file?.queueFile ?? 'ocpp-queue.jsonl';
  return {
    url,
    queueFile,
    ...(password ? { password } : {}),
    ...(caFile ? { caFile } : {}),
    ...(file?.meterValuesIntervalS !== undefined ? { meterValuesIntervalS: file.meterValuesIntervalS } : {}),
  };
}

/** `--power-stage mqtt` needs the broker of `--mqtt`; `sim` is the default and needs nothing. */
function powerStageSettings(flags: RunFlags, env: NodeJS.ProcessEnv, mqtt: string | undefined): Pick<ControlSettings, 'powerStage' | 'powerStageOffTimeoutMs'> {
  const kind = flags.powerStage ?? env.FREEV2G_POWER_STAGE ?? 'sim';
  if (kind !== 'sim' && kind !== 'mqtt') throw new CliError(`--power-stage must be sim or mqtt, got "${kind}"`, EXIT.usage);
  if (kind === 'sim') return {};
  if (mqtt === undefined) throw new CliError('--power-stage mqtt needs a broker: set --mqtt <url> (or FREEV2G_MQTT) too', EXIT.usage);
  const raw = flags.powerStageOffTimeout ?? env.FREEV2G_POWER_STAGE_OFF_TIMEOUT;
  const ms = raw === undefined ? undefined : Number(raw);
  if (ms !== undefined && (!Number.isInteger(ms) || ms < 1)) throw new CliError(`--power-stage-off-timeout must be a whole number of ms >= 1, got "${raw}"`, EXIT.usage);
  return { powerStage: 'mqtt', ...(ms !== undefined ? { powerStageOffTimeoutMs: ms } : {}) };
}

/** `--ev-battery mqtt` needs the broker of `--mqtt`, like `--power-stage mqtt`. */
function evBatterySettings(flags: RunFlags, env: NodeJS.ProcessEnv, mqtt: string | undefined): Pick<ControlSettings, 'evBattery' | 'evBatterySilenceTimeoutMs'> {
  const kind = flags.evBattery ?? env.FREEV2G_EV_BATTERY ?? 'sim';
  if (kind !== 'sim' && kind !== 'mqtt') throw new CliError(`--ev-battery must be sim or mqtt, got "${kind}"`, EXIT.usage);
  if (kind === 'sim') return {};
  if (mqtt === undefined) throw new CliError('--ev-battery mqtt needs a broker: set --mqtt <url> (or FREEV2G_MQTT) too', EXIT.usage);
  const raw = flags.evBatteryTimeout ?? env.FREEV2G_EV_BATTERY_TIMEOUT;
  const ms = raw === undefined ? undefined : Number(raw);
  if (ms !== undefined && (!Number.isInteger(ms) || ms < 1)) throw new CliError(`--ev-battery-timeout must be a whole number of ms >= 1, got "${raw}"`, EXIT.usage);
  return { evBattery: 'mqtt', ...(ms !== undefined ? { evBatterySilenceTimeoutMs: ms } : {}) };
}

/** `files`: the run's configuration files (their `ocpp` key). */
export function runSettings(flags: RunFlags, askDefault: boolean, files: readonly string[] = []): RunSettings {
  loadDotenvOnce();
  const env = process.env;
  const logFormat = flags.logFormat ?? cliEnv('LOG_FORMAT', env) ?? 'human';
  if (logFormat !== 'human' && logFormat !== 'json') throw new CliError(`--log-format must be human or json, got "${logFormat}"`, EXIT.usage);
  const sessions = Number(flags.sessions ?? '1');
  if (!Number.isInteger(sessions) || sessions < 0) throw new CliError(`--sessions must be a whole number >= 0, got "${flags.sessions}"`, EXIT.usage);
  const records = flags.records === false ? undefined : (flags.records ?? cliEnv('RECORDS', env) ?? DEFAULT_RECORDS_FILE);
  const capture = flags.capture ?? cliEnv('CAPTURE', env);
  // Refused now, in one line, rather than after a session (records) or mid-run (capture).
  if (records) checkWritable(records, 'session records');
  if (capture) checkWritable(capture, 'capture');
  const inspectRaw = flags.inspect ?? cliEnv('INSPECT', env);
  let inspect: number | undefined;
  if (inspectRaw === true) inspect = DEFAULT_INSPECT_PORT;
  else if (typeof inspectRaw === 'string' && inspectRaw !== '') {
    inspect = Number(inspectRaw);
    if (!Number.isInteger(inspect) || inspect < 0 || inspect > 65535) throw new CliError(`--inspect port must be 0-65535, got "${inspectRaw}"`, EXIT.usage);
  }
  return {
    ...controlSettings(flags, env, files),
    logFormat,
    ask: flags.ask ?? askDefault,
    sessions,
    verbose: flags.verbose === true,
    ...(records ? { records } : {}),
    ...(capture ? { capture } : {}),
    ...(inspect !== undefined ? { inspect, keepDashboard: true } : {}),
  };
}

export const ROLE_CHOICES = ['EVSE', 'EV'] as const;

export function roleOf(value: string): 'EVSE' | 'EV' {
  const v = value.toUpperCase();
  if (v === 'EVSE' || v === 'EV') return v;
  throw new CliError(`-r must be EVSE or EV, got "${value}"`, EXIT.usage);
}
