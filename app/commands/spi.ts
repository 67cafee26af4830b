/**
 * `freev2g spi -i spidev0.0 -r EVSE|EV`: drive a WHITE-beet over SPI (manual 9.2) from a
 * Raspberry Pi: spi-device and onoff, GPIO 22 RX_READY, 27 TX_PENDING, 24 chip select.
 */
import type { Command } from 'commander';
import { addRunOptions, roleOf } from './common.js';
import { type HardwareFlags, runHardware } from './hardware.js';
import { NON_ETH_HOST_MAC } from './link.js';

export function register(program: Command): void {
  const cmd = program
    .command('spi')
    .description('Run an EVSE or EV station on a WHITE-beet connected over SPI (Raspberry Pi)')
    .requiredOption('-i, --interface <device>', 'SPI device, e.g. spidev0.0')
    .requiredOption('-r, --role <role>', 'EVSE or EV')
    .option('-c, --config <file>', 'station configuration (reference JSON layout; default config/evse.json or config/ev.json)')
    .option('-m, --mac <mac>', 'module MAC, only used to label captures');
  addRunOptions(cmd, true)
    .addHelpText(
      'after',
      '\nExit codes: 0 done (or stopped by SIGINT/SIGTERM), 2 usage, 3 configuration, 4 SPI/GPIO device or library,\n' +
        '5 a session ended on an error, 130 second signal.',
    )
    .action(async (flags: HardwareFlags) => {
      const role = roleOf(flags.role);
      await runHardware(flags, role, async (station, clock) => {
        const { openSpiTransport } = await import('../../transports/spi.js');
        const transport = await openSpiTransport({ device: flags.interface, clock });
        return { transport, hostMac: NON_ETH_HOST_MAC, moduleMac: station.mac };
      });
    });
}
