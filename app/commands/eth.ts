/**
 * `freev2g eth -i eth0 -r EVSE|EV`: drive a real WHITE-beet over its Ethernet host interface
 * (manual 9.1, ethertype 0x6003). Needs libpcap and raw-socket rights (root or CAP_NET_RAW).
 * With a multi-station file (`{ "stations": [...] }`) every module on the interface runs in this
 * process, each over its own transport filtered by its MAC; -r and -m narrow the selection.
 */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { DEFAULT_MAC } from '../config.js';
import { addRunOptions, roleOf } from './common.js';
import { type HardwareBaseFlags, type OpenLink, runHardware } from './hardware.js';

export function register(program: Command): void {
  const cmd = program
    .command('eth')
    .description('Run EVSE and/or EV stations on WHITE-beets connected over Ethernet (one per module MAC)')
    .requiredOption('-i, --interface <name>', 'network interface the modules are connected to, e.g. eth0')
    .option('-r, --role <role>', 'EVSE or EV: only the stations of this role (required without -c)')
    .option('-m, --mac <mac>', `MAC address of the module: picks that station of a multi-station file (default ${DEFAULT_MAC}, or the config's "mac")`)
    .option(
      '-c, --config [file]',
      'station configuration: ours, a reference layout, or { "stations": [...] } (default config/evse.json or config/ev.json; -c alone: ./ev.json or ./config.json as the reference)',
    )
    .option('-p, --portmirror', 'enable the module port mirror (13.3.10)');
  addRunOptions(cmd, true)
    .addHelpText(
      'after',
      '\nExit codes: 0 done (or stopped by SIGINT/SIGTERM), 2 usage, 3 configuration, 4 interface/permissions/libpcap,\n' +
        '5 a session ended on an error or a station stopped on its own, 130 second signal.',
    )
    .action(async (flags: HardwareBaseFlags & { role?: string }) => {
      if (flags.role === undefined && flags.config === undefined) throw new CliError('-r (EVSE or EV) is required without -c', EXIT.usage);
      const role = flags.role === undefined ? undefined : roleOf(flags.role);
      // One host transport per module: the same interface, frames filtered by the module's MAC.
      const open: OpenLink = async (station, clock) => {
        const { createEthTransport } = await import('../../transports/eth.js');
        const transport = await createEthTransport({ iface: flags.interface, peerMac: station.mac, role: 'host', clock });
        return { transport, hostMac: transport.ownMac, moduleMac: station.mac };
      };
      await runHardware(flags, role, open, {}, { manyModules: true });
    });
}
