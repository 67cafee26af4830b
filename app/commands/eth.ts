/**
 * `freev2g eth -i eth0 -r EVSE|EV`: drive a real WHITE-beet over its Ethernet host interface
 * (manual 9.1, ethertype 0x6003). Needs libpcap and raw-socket rights (root or CAP_NET_RAW).
 */
import type { Command } from 'commander';
import { DEFAULT_MAC } from '../config.js';
import { addRunOptions, roleOf } from './common.js';
import { type HardwareFlags, runHardware } from './hardware.js';

export function register(program: Command): void {
  const cmd = program
    .command('eth')
    .description('Run an EVSE or EV station on a WHITE-beet connected over Ethernet')
    .requiredOption('-i, --interface <name>', 'network interface the module is connected to, e.g. eth0')
    .requiredOption('-r, --role <role>', 'EVSE or EV')
    .option('-m, --mac <mac>', `MAC address of the module's Ethernet interface (default ${DEFAULT_MAC}, or the config's "mac")`)
    .option('-c, --config <file>', 'station configuration (reference JSON layout; default config/evse.json or config/ev.json)')
    .option('-p, --portmirror', 'enable the module port mirror (13.3.10)');
  addRunOptions(cmd, true)
    .addHelpText(
      'after',
      '\nExit codes: 0 done (or stopped by SIGINT/SIGTERM), 2 usage, 3 configuration, 4 interface/permissions/libpcap,\n' +
        '5 a session ended on an error, 130 second signal.',
    )
    .action(async (flags: HardwareFlags) => {
      const role = roleOf(flags.role);
      await runHardware(flags, role, async (station, clock) => {
        const { createEthTransport } = await import('../../transports/eth.js');
        const transport = await createEthTransport({ iface: flags.interface, peerMac: station.mac, role: 'host', clock });
        return { transport, hostMac: transport.ownMac, moduleMac: station.mac };
      });
    });
}
