/**
 * What `eth` and `spi` share: load the station of the requested role, open the transport, turn
 * transport failures into one-line errors with exit code 4, set the port mirror (13.3.10) when
 * asked, and run the station until its sessions are done or a signal stops it.
 */
import { NetworkConfiguration } from '../../codec/catalog.js';
import type { HciClient } from '../../machines/hci-types.js';
import { type Transport, TransportError } from '../../transports/transport.js';
import { type Clock, RealClock } from '../../util/clock.js';
import { CliError, EXIT } from '../cli.js';
import { type Role, type StationSettings, loadStation } from '../config.js';
import { type RunResult, runStations } from '../run.js';
import { type RunFlags, runSettings } from './common.js';

export interface HardwareFlags extends RunFlags {
  interface: string;
  role: string;
  config?: string;
  mac?: string;
  portmirror?: boolean;
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

export async function runHardware(
  flags: HardwareFlags,
  role: Role,
  open: (station: StationSettings, clock: Clock) => Promise<{ transport: Transport; hostMac: string; moduleMac: string }>,
  env: HardwareEnv = {},
): Promise<RunResult> {
  const settings = runSettings(flags, true);
  const station = loadStation(flags.config, role, flags.mac ? { mac: flags.mac } : {});
  // -m on the command line wins over the file's "mac" (the reference let the file win).
  if (flags.mac) station.mac = flags.mac;
  if (flags.portmirror) station.portMirror = true;
  const clock = env.clock ?? new RealClock();
  const out = env.out ?? process.stdout;
  let link: Awaited<ReturnType<typeof open>>;
  try {
    link = await open(station, clock);
  } catch (e) {
    throw transportError(e);
  }
  if (settings.logFormat === 'human') out.write(`Welcome to freev2g ${role} (${flags.interface}, module ${station.mac})\n`);
  const result = await runStations({
    stations: [{ settings: station, transport: link.transport, hostMac: link.hostMac, moduleMac: link.moduleMac }],
    clock,
    out,
    ...settings,
    ...(station.ev ? { targetSocPercent: station.ev.targetSocPercent } : {}),
    ...(station.portMirror ? { beforeStart: (client: HciClient) => setPortMirror(client, true) } : {}),
  });
  if (settings.logFormat === 'human') out.write('Goodbye!\n');
  process.exitCode = result.exitCode;
  return result;
}

/** 13.3.10 Set Port Mirror State, as the reference does before its loop. */
async function setPortMirror(client: HciClient, on: boolean): Promise<void> {
  await client.request(NetworkConfiguration.SetPortMirrorState, { state: on ? 1 : 0 });
}
