/**
 * What `eth` and `spi` share: select the stations of the configuration (all of a multi-station
 * file, those of -r, or the one of -m), open one transport per station, turn transport failures
 * into one-line errors with exit code 4, set the port mirror (13.3.10) when asked, and run the
 * stations in this process until their sessions are done or a signal stops them. One station is
 * the one-element case of the same path.
 */
import { NetworkConfiguration } from '../../codec/catalog.js';
import type { HciClient } from '../../machines/hci-types.js';
import { type Transport, TransportError } from '../../transports/transport.js';
import { type Clock, RealClock } from '../../util/clock.js';
import { CliError, EXIT } from '../exit.js';
import { ConfigError, type Role, type StationSettings, configOption, selectStations } from '../config.js';
import { type RunResult, type RunStation, runStations } from '../run.js';
import { type RunFlags, runSettings } from './common.js';

/** The flags every hardware command has (-r is optional for `eth`: it filters the file's stations). */
export interface HardwareBaseFlags extends RunFlags {
  interface: string;
  /** `true`: -c without a file name (the reference's default file, see configOption). */
  config?: string | true;
  mac?: string;
  portmirror?: boolean;
}

export interface HardwareFlags extends HardwareBaseFlags {
  role: string;
}

export function transportError(e: unknown): CliError {
  if (e instanceof TransportError) return new CliError(`${e.message}${hint(e)}`, EXIT.transport);
  return new CliError(e instanceof Error ? e.message : String(e), EXIT.transport);
}

function hint(e: TransportError): string {
  switch (e.kind) {
    case 'notPermitted':
      return ' (raw sockets need root or CAP_NET_RAW: sudo setcap cap_net_raw,cap_net_admin+eip $(which node))';
    case 'libraryMissing':
      return ' (install the optional dependency and its system library, see docs/service.md)';
    default:
      return '';
  }
}

/** What a test may put in place of the real surroundings (production passes nothing). */
export interface HardwareEnv {
  /** Default: the wall clock. A VirtualClock is driven by runStations (tests with fake hardware). */
  clock?: Clock;
  /** Where the log goes (default stdout). */
  out?: NodeJS.WriteStream;
}

/** What the command's link can carry: `eth` one module per MAC on one interface, `spi` one. */
export interface HardwareLimits {
  manyModules?: boolean;
}

export type OpenLink = (station: StationSettings, clock: Clock) => Promise<{ transport: Transport; hostMac: string; moduleMac: string }>;

/** "EVSE 00:01:01:63:77:33": the station's log prefix (several stations) and its name in messages. */
export const stationLabel = (s: StationSettings): string => `${s.role} ${s.mac}`;

export async function runHardware(flags: HardwareBaseFlags, role: Role | undefined, open: OpenLink, env: HardwareEnv = {}, limits: HardwareLimits = {}): Promise<RunResult> {
  const file = configOption(flags.config, role, (text) => (env.out ?? process.stdout).write(`${text}\n`));
  const settings = runSettings(flags, true, file !== undefined ? [file] : []);
  const stations = selectStations(file, { ...(role ? { role } : {}), ...(flags.mac ? { mac: flags.mac } : {}) });
  if (stations.length > 1 && !limits.manyModules) {
    throw new ConfigError(`${file}: ${stations.length} stations, but ${flags.interface} drives one module: pick one with -m`);
  }
  if (flags.portmirror) for (const s of stations) s.portMirror = true;
  const clock = env.clock ?? new RealClock();
  const out = env.out ?? process.stdout;
  const links: RunStation[] = [];
  try {
    for (const station of stations) {
      const link = await open(station, clock);
      links.push({ settings: station, ...link, label: stationLabel(station) });
    }
  } catch (e) {
    for (const l of links) await l.transport.close().catch(() => undefined);
    throw transportError(e);
  }
  if (settings.logFormat === 'human') for (const s of stations) out.write(`Welcome to freev2g ${s.role} (${flags.interface}, module ${s.mac})\n`);
  // The EV's target SOC drives the status line's progress bar (with one EV in the run).
  const evs = stations.filter((s) => s.ev);
  const result = await runStations({
    stations: links,
    clock,
    out,
    ...settings,
    // Independent modules: one that fails is reported and stopped, the others go on.
    independent: true,
    // The codec of the role runs once while the station waits for a car (target 1's p99).
    warmUp: true,
    ...(evs.length === 1 && evs[0]?.ev ? { targetSocPercent: evs[0].ev.targetSocPercent } : {}),
    beforeStart: (client: HciClient, st: RunStation) => (st.settings.portMirror ? setPortMirror(client, true) : Promise.resolve()),
  });
  if (settings.logFormat === 'human') out.write('Goodbye!\n');
  process.exitCode = result.exitCode;
  return result;
}

/** 13.3.10 Set Port Mirror State, as the reference does before its loop. */
async function setPortMirror(client: HciClient, on: boolean): Promise<void> {
  await client.request(NetworkConfiguration.SetPortMirrorState, { state: on ? 1 : 0 });
}
