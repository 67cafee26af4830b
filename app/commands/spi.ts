/**
 * `freev2g spi -i spidev0.0 -r EVSE|EV`: drive a WHITE-beet over SPI (manual 9.2) from a
 * Raspberry Pi: spi-device and onoff, GPIO 22 RX_READY, 27 TX_PENDING, 24 chip select.
 */
import type { Command } from 'commander';
import type { OpenSpiOptions } from '../../transports/spi.js';
import type { Transport } from '../../transports/transport.js';
import type { Role } from '../config.js';
import type { RunResult } from '../run.js';
import { addRunOptions, roleOf } from './common.js';
import { type HardwareEnv, type HardwareFlags, runHardware } from './hardware.js';
import { NON_ETH_HOST_MAC } from './link.js';

/** Opens the SPI link; the seam where the real hardware (spi-device + onoff) comes in. */
export type SpiOpener = (options: OpenSpiOptions) => Promise<Transport>;

/** The real hardware, loaded only when used (the native modules are optional dependencies). */
export const openRealSpi: SpiOpener = async (options) => {
  const { openSpiTransport } = await import('../../transports/spi.js');
  return openSpiTransport(options);
};

export interface SpiEnv extends HardwareEnv {
  /** Default: the real hardware. Tests hand in a simulated slave here. */
  openSpi?: SpiOpener;
}

/** The command's work, after parsing: open the SPI link and run the station on it. */
export function runSpi(flags: HardwareFlags, role: Role, env: SpiEnv = {}): Promise<RunResult> {
  const openSpi = env.openSpi ?? openRealSpi;
  return runHardware(
    flags,
    role,
    async (station, clock) => ({ transport: await openSpi({ device: flags.interface, clock }), hostMac: NON_ETH_HOST_MAC, moduleMac: station.mac }),
    env,
  );
}

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
      await runSpi(flags, roleOf(flags.role));
    });
}
