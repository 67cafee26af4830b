/**
 * Lazy loading of the native packages (pcap, spi-device, onoff). They are optional dependencies:
 * a machine without libpcap or without SPI/GPIO must still install and import everything, so
 * nothing here is imported at module load. Loading failures become a TransportError
 * 'libraryMissing' that names what to install.
 *
 * Only the small part of each package's API that the transports use is typed here, so the code
 * also type-checks when a package is absent.
 */
import { TransportError } from './transport.js';

// --- pcap ------------------------------------------------------------------------------------

export interface PcapPacket {
  /** Shared capture buffer: valid only during the 'packet' event. */
  buf: Buffer;
  /** tv_sec, tv_usec, caplen, len as 32-bit little-endian words. */
  header: Buffer;
}

export interface PcapSessionLike {
  on(event: 'packet', listener: (packet: PcapPacket) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  inject(data: Buffer): void;
  close(): void;
}

export interface PcapSessionOptions {
  filter?: string;
  /** 0 selects libpcap's immediate mode: every packet is handed over at once. */
  buffer_timeout?: number;
  buffer_size?: number;
  snap_length?: number;
  promiscuous?: boolean;
}

export interface PcapModule {
  createSession(device: string, options?: PcapSessionOptions): PcapSessionLike;
  /** Called with libpcap warnings such as "eth0: no IPv4 address assigned". */
  warningHandler: (text: string) => void;
}

// --- spi-device ------------------------------------------------------------------------------

export interface SpiMessageLike {
  byteLength: number;
  sendBuffer?: Buffer;
  receiveBuffer?: Buffer;
  speedHz?: number;
}

export interface SpiDeviceLike {
  transfer(message: SpiMessageLike[], cb: (err: Error | null | undefined, message: SpiMessageLike[]) => void): unknown;
  close(cb: (err: Error | null | undefined) => void): void;
}

export interface SpiDeviceModule {
  open(bus: number, device: number, options: { mode?: number; maxSpeedHz?: number; noChipSelect?: boolean }, cb: (err: Error | null | undefined) => void): SpiDeviceLike;
}

// --- onoff -----------------------------------------------------------------------------------

export type BinaryValue = 0 | 1;

export interface OnoffGpio {
  read(): Promise<BinaryValue>;
  write(value: BinaryValue): Promise<void>;
  watch(cb: (err: Error | null | undefined, value: BinaryValue) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

export interface OnoffModule {
  Gpio: new (
    gpio: number,
    direction: 'in' | 'out' | 'high' | 'low',
    edge?: 'none' | 'rising' | 'falling' | 'both',
    options?: { debounceTimeout?: number; activeLow?: boolean; reconfigureDirection?: boolean },
  ) => OnoffGpio;
}

// --- loader ----------------------------------------------------------------------------------

export type NativePackage = 'pcap' | 'spi-device' | 'onoff';

/** What to install when a package cannot be loaded (Debian package names). */
export const INSTALL_HINTS: Record<NativePackage, string> = {
  pcap: 'install the Debian package libpcap-dev (and build-essential, python3), then run `npm install pcap` or `npm rebuild pcap`',
  'spi-device': 'run `npm install spi-device` (building needs build-essential and python3) and enable the kernel spidev driver (/dev/spidevB.D)',
  onoff: 'run `npm install onoff` (its epoll dependency needs build-essential and python3) on a kernel with sysfs GPIO',
};

export type Importer = (name: string) => Promise<unknown>;

const defaultImporter: Importer = (name) => import(name);

/** Turns an import failure into a TransportError naming what is missing. */
export function libraryMissingError(name: NativePackage, cause: unknown): TransportError {
  const text = cause instanceof Error ? cause.message : String(cause);
  let what = `the npm package "${name}" could not be loaded`;
  if (/cannot find (package|module)|ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/i.test(text) && text.includes(name)) {
    what = `the npm package "${name}" is not installed`;
  } else if (/libpcap\.so/i.test(text)) {
    what = 'the libpcap shared library is missing (Debian: libpcap0.8, or libpcap-dev to build)';
  } else if (/bindings|\.node\b|NODE_MODULE_VERSION/i.test(text)) {
    what = `the native part of "${name}" is not built for this Node.js`;
  }
  return new TransportError('libraryMissing', `${what}: ${INSTALL_HINTS[name]} (${text.split('\n')[0]})`, cause);
}

/** CommonJS packages arrive as { default: module.exports } through dynamic import. */
function unwrap(mod: unknown): unknown {
  if (typeof mod === 'object' && mod !== null && 'default' in mod) {
    const d = (mod as { default: unknown }).default;
    if (d !== undefined && d !== null) return d;
  }
  return mod;
}

function hasFunction(obj: unknown, key: string): boolean {
  return typeof obj === 'object' && obj !== null && typeof (obj as Record<string, unknown>)[key] === 'function';
}

async function load(name: NativePackage, importer: Importer, check: string): Promise<unknown> {
  let mod: unknown;
  try {
    mod = unwrap(await importer(name));
  } catch (e) {
    throw libraryMissingError(name, e);
  }
  if (!hasFunction(mod, check)) throw libraryMissingError(name, new Error(`"${name}" has no ${check}()`));
  return mod;
}

const cache = new Map<NativePackage, Promise<unknown>>();

function cached(name: NativePackage, importer: Importer | undefined, check: string): Promise<unknown> {
  // A custom importer (tests) bypasses the cache so each test sees its own outcome.
  if (importer) return load(name, importer, check);
  let p = cache.get(name);
  if (!p) {
    p = load(name, defaultImporter, check);
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

export async function loadPcap(importer?: Importer): Promise<PcapModule> {
  return (await cached('pcap', importer, 'createSession')) as PcapModule;
}

export async function loadSpiDevice(importer?: Importer): Promise<SpiDeviceModule> {
  return (await cached('spi-device', importer, 'open')) as SpiDeviceModule;
}

export async function loadOnoff(importer?: Importer): Promise<OnoffModule> {
  return (await cached('onoff', importer, 'Gpio')) as OnoffModule;
}
