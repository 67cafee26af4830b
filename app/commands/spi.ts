/**
 * `freev2g spi -i spidev0.0 -r EVSE|EV`: drive a WHITE-beet over SPI (manual 9.2) from a
 * Raspberry Pi: spi-device and onoff, GPIO 22 RX_READY, 27 TX_PENDING, 24 chip select.
 */
import { type Command, InvalidArgumentError } from 'commander';
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

/**
 * Wiring and clock options of the spi command (defaults: the reference's Raspberry Pi wiring),
 * as openSpiTransport takes them; `--cs-gpio native` gives csGpio null.
 */
export type SpiFlags = HardwareFlags & Pick<OpenSpiOptions, 'speedHz' | 'rxReadyGpio' | 'txPendingGpio' | 'csGpio' | 'resetGpio' | 'gpioOffset' | 'csDelayUs'>;

/** The OpenSpiOptions a command line asks for (only what was given; the transport has the defaults). */
export function spiWiring(flags: SpiFlags): Omit<OpenSpiOptions, 'clock'> {
  const { speedHz, rxReadyGpio, txPendingGpio, csGpio, resetGpio, gpioOffset, csDelayUs } = flags;
  const given = { speedHz, rxReadyGpio, txPendingGpio, csGpio, resetGpio, gpioOffset, csDelayUs };
  return { device: flags.interface, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
}

const gpioNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a GPIO number (0 or more)');
  return n;
};

export interface SpiEnv extends HardwareEnv {
  /** Default: the real hardware. Tests hand in a simulated slave here. */
  openSpi?: SpiOpener;
}

/** The command's work, after parsing: open the SPI link and run the station on it. */
export function runSpi(flags: SpiFlags, role: Role, env: SpiEnv = {}): Promise<RunResult> {
  const openSpi = env.openSpi ?? openRealSpi;
  return runHardware(flags, role, async (station, clock) => ({ transport: await openSpi({ ...spiWiring(flags), clock }), hostMac: NON_ETH_HOST_MAC, moduleMac: station.mac }), env);
}

export function register(program: Command): void {
  const cmd = program
    .command('spi')
    .description('Run an EVSE or EV station on a WHITE-beet connected over SPI (Raspberry Pi)')
    .requiredOption('-i, --interface <device>', 'SPI device, e.g. spidev0.0')
    .requiredOption('-r, --role <role>', 'EVSE or EV')
    .option('-c, --config [file]', 'station configuration: ours or a reference layout (default config/evse.json or config/ev.json; -c alone: ./ev.json or ./config.json as the reference)')
    .option('-m, --mac <mac>', 'module MAC, only used to label captures')
    .option('--speed-hz <hz>', 'SPI clock in Hz, at most 12 MHz (manual 9.2.6; default 8 MHz)', (v: string) => {
      const n = Number(v);
      if (!(Number.isInteger(n) && n > 0 && n <= 12_000_000)) throw new InvalidArgumentError('expected 1..12000000 Hz');
      return n;
    })
    .option('--rx-ready-gpio <n>', 'BCM GPIO of SPI_RX_READY (default 22)', gpioNumber)
    .option('--tx-pending-gpio <n>', 'BCM GPIO of SPI_TX_PENDING (default 27)', gpioNumber)
    .option('--cs-gpio <n|native>', 'GPIO used as chip select (default 24), or "native" for the SPI driver\'s own', (v: string) => (v === 'native' ? null : gpioNumber(v)))
    .option('--cs-delay-us <us>', 'chip select to first clock, µs (default 40: modules needed it, Sevenstax/FreeV2G#33; manual 20)', (v: string) => {
      const n = Number(v);
      if (!(n >= 20 && n <= 1000)) throw new InvalidArgumentError('expected 20..1000 µs');
      return n;
    })
    .option('--reset-gpio <n>', 'GPIO wired to the module reset (active low), used to recover from loss of sync', gpioNumber)
    .option('--gpio-offset <n>', 'added to every GPIO number for sysfs (e.g. 512 on newer Raspberry Pi kernels)', gpioNumber);
  addRunOptions(cmd, true)
    .addHelpText('after', '\nExit codes: 0 done (or stopped by SIGINT/SIGTERM), 2 usage, 3 configuration, 4 SPI/GPIO device or library,\n' + '5 a session ended on an error, 130 second signal.')
    .action(async (flags: SpiFlags) => {
      await runSpi(flags, roleOf(flags.role));
    });
}
