/**
 * The two pieces of hardware the SPI transport needs, as tiny interfaces so that the transport
 * runs unchanged against a simulated slave: an SPI bus (full-duplex transfer) and GPIO lines
 * (read, edge watch, optional write). The real implementations use `spi-device` (Linux spidev)
 * and `onoff` (sysfs GPIO), loaded lazily.
 */
import { type Importer, loadOnoff, loadSpiDevice, type OnoffGpio, type SpiDeviceLike } from './native.js';
import { TransportError } from './transport.js';

export type Level = 0 | 1;

export interface SpiBus {
  /** Clocks `tx` out and returns the bytes clocked in at the same time (same length). */
  transfer(tx: Uint8Array): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export interface GpioLine {
  read(): Promise<Level>;
  /** Calls `cb` with the new level on every edge; returns a function that stops watching. */
  watch(cb: (level: Level) => void): () => void;
  /** Output lines only (chip select, reset). */
  write?(level: Level): Promise<void>;
  close?(): Promise<void>;
}

/** "spidev0.0" (or "/dev/spidev0.0") -> bus 0, device 0. */
export function parseSpiDeviceName(name: string): { bus: number; device: number } {
  const m = /^(?:\/dev\/)?spidev(\d+)\.(\d+)$/.exec(name.trim());
  if (!m) throw new TransportError('noSuchInterface', `"${name}" is not an SPI device name like spidev0.0`);
  return { bus: Number(m[1]), device: Number(m[2]) };
}

/** 9.2.6: at most 12 MHz (9.2.1 states 8 MHz; the lower figure is the default). */
export const SPI_MAX_SPEED_HZ = 12_000_000;
export const SPI_DEFAULT_SPEED_HZ = 8_000_000;

export interface SpiBusOptions {
  device?: string;
  speedHz?: number;
  /** Let the kernel leave the native chip select alone (when a GPIO chip select is used). */
  noChipSelect?: boolean;
  importer?: Importer;
}

function osError(what: string, e: unknown): TransportError {
  const code = (e as { code?: string } | undefined)?.code ?? '';
  const text = e instanceof Error ? e.message : String(e);
  if (code === 'EACCES' || code === 'EPERM') return new TransportError('notPermitted', `${what}: permission denied (${text})`, e);
  if (code === 'ENOENT' || code === 'ENODEV') return new TransportError('noSuchInterface', `${what}: not present (${text})`, e);
  return new TransportError('openFailed', `${what}: ${text}`, e);
}

/** Opens /dev/spidevB.D in SPI mode 0 (9.2.1). */
export async function openSpiBus(options: SpiBusOptions = {}): Promise<SpiBus> {
  const name = options.device ?? 'spidev0.0';
  const { bus, device } = parseSpiDeviceName(name);
  const speedHz = options.speedHz ?? SPI_DEFAULT_SPEED_HZ;
  if (!(speedHz > 0 && speedHz <= SPI_MAX_SPEED_HZ)) throw new RangeError(`SPI clock ${speedHz} Hz outside 1..${SPI_MAX_SPEED_HZ} (9.2.6)`);
  const spi = await loadSpiDevice(options.importer);
  const dev = await new Promise<SpiDeviceLike>((resolve, reject) => {
    const d = spi.open(bus, device, { mode: 0, maxSpeedHz: speedHz, noChipSelect: options.noChipSelect ?? false }, (err) =>
      err ? reject(osError(`/dev/${name} (enable SPI, e.g. dtparam=spi=on)`, err)) : resolve(d),
    );
  });
  return {
    transfer: (tx) =>
      new Promise((resolve, reject) => {
        const receiveBuffer = Buffer.alloc(tx.length);
        const sendBuffer = Buffer.from(tx.buffer, tx.byteOffset, tx.byteLength);
        dev.transfer([{ byteLength: tx.length, sendBuffer, receiveBuffer, speedHz }], (err) =>
          err ? reject(new TransportError('sendFailed', `SPI transfer failed: ${err.message}`, err)) : resolve(new Uint8Array(receiveBuffer)),
        );
      }),
    close: () => new Promise((resolve) => dev.close(() => resolve())),
  };
}

export interface GpioOptions {
  /**
   * Added to the BCM number: sysfs GPIO numbers are offset on newer Raspberry Pi kernels (e.g.
   * 512 on 6.6); see /sys/class/gpio/gpiochip*\/base.
   */
  offset?: number;
  importer?: Importer;
}

function wrapGpio(g: OnoffGpio, output: boolean): GpioLine {
  const line: GpioLine = {
    read: () => g.read(),
    watch: (cb) => {
      let on = true;
      g.watch((err, value) => {
        if (on && !err) cb(value);
      });
      // onoff can only drop all watchers of a line; the flag keeps this one quiet meanwhile.
      return () => {
        on = false;
      };
    },
    close: async () => {
      g.unwatchAll();
      g.unexport();
    },
  };
  if (output) line.write = (level) => g.write(level);
  return line;
}

/** An input line reporting both edges (RX_READY, TX_PENDING). */
export async function openInputLine(gpio: number, options: GpioOptions = {}): Promise<GpioLine> {
  const { Gpio } = await loadOnoff(options.importer);
  try {
    return wrapGpio(new Gpio(gpio + (options.offset ?? 0), 'in', 'both'), false);
  } catch (e) {
    throw osError(`GPIO ${gpio}`, e);
  }
}

/** An output line starting at `initial` (chip select starts high = deselected). */
export async function openOutputLine(gpio: number, initial: Level, options: GpioOptions = {}): Promise<GpioLine> {
  const { Gpio } = await loadOnoff(options.importer);
  try {
    return wrapGpio(new Gpio(gpio + (options.offset ?? 0), initial ? 'high' : 'low'), true);
  } catch (e) {
    throw osError(`GPIO ${gpio}`, e);
  }
}
