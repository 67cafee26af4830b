/**
 * HCI over SPI (manual 9.2). The host is the SPI master; every exchange is two transfers:
 * a size exchange (0xAA 0xAA + size, 9.2.4) in which both sides announce how many bytes they
 * want to send, then a data exchange (0x55 0x55 0x00 0x00 + data, 9.2.5) of the larger of both
 * sizes. The bytes received form the framing protocol's byte stream, cut into HCI frames by the
 * Deframer.
 *
 * Event-driven: an exchange starts when a frame is queued or TX_PENDING rises (9.2.2.2), never
 * from a polling loop; before every transfer the master waits for RX_READY high (9.2.2.1) and,
 * with a GPIO chip select, keeps tDelayChipSelect between select and first clock (9.2.6).
 *
 * A size-exchange answer without 0xAA 0xAA means the two sides lost step. The manual (9.2.3)
 * says the module must then be reset: with a reset line the transport pulses it; without one it
 * stays quiet for 200 ms (10.2) and probes with empty size exchanges until the module answers in
 * step again. Either way the link is down meanwhile, with TransportError 'outOfSync'.
 *
 * Real modules differ from the manual in a few ways (docs/transports.md "SPI quirks"); the
 * transport copes with each without losing a command:
 * - a module needing 40 µs from chip select to clock, not 20 (Sevenstax/FreeV2G#33): 40 µs is
 *   the default, and a size answer of zeros (a module not ready to clock) lengthens it by 20 µs
 *   steps up to `maxCsDelayUs`;
 * - a size frame answered with `55 55` (Sevenstax/FreeV2G#331): resynchronised as above, and the
 *   frames not yet clocked out stay queued (the module took none of their bytes);
 * - an idle module echoing our size in its size frame (Sevenstax/FreeV2G#185): with TX_PENDING
 *   low and no frame start in its bytes, they are filler and dropped;
 * - the Interface Up status read again in place of a response (Sevenstax/FreeV2G#355): an
 *   Interface status frame repeated while TX_PENDING stayed high is stale and dropped; reading
 *   goes on while TX_PENDING is high, so the response behind it still arrives.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import type { FramingError } from '../codec/frame.js';
import { decodeDataExchange, decodeSizeExchange, encodeDataExchange, encodeSizeExchange, negotiatedSize, DATA_EXCHANGE_HEADER_SIZE, SPI_MAX_PAYLOAD } from '../codec/link-headers.js';
import { bytesToHex } from '../codec/frame.js';
import { type Clock, RealClock } from '../util/clock.js';
import { FrameAssembler } from './assembler.js';
import type { Importer } from './native.js';
import { type GpioLine, type Level, openInputLine, openOutputLine, openSpiBus, SPI_DEFAULT_SPEED_HZ, type SpiBus } from './spi-hw.js';
import { SpiSendQueue } from './spi-queue.js';
import { CS_DELAY_US, RESYNC_PAUSE_MS, lengthenedCsDelayUs, spinDelayUs } from './spi-timing.js';
import { type LinkState, type Transport, TransportError } from './transport.js';

export { CS_DELAY_US, MAX_CS_DELAY_US, RESYNC_PAUSE_MS, clockDelayUs, spinDelayUs } from './spi-timing.js';

/** Interface status messages (module 0x05, 13.4): the stale repeat of #355. */
const INTERFACE_MOD_ID = 0x05;

export interface SpiTransportOptions {
  bus: SpiBus;
  rxReady: GpioLine;
  txPending: GpioLine;
  /** GPIO chip select (active low, needs write). Without it the SPI driver's own chip select is used. */
  chipSelect?: GpioLine;
  /** Module reset line (active low, needs write); the manual names none, so it is optional. */
  reset?: GpioLine;
  clock?: Clock;
  /** Delay from chip select to the first clock, in µs (default 40, see CS_DELAY_US). */
  csDelayUs?: number;
  /** Upper bound when lengthening the delay after zero answers (default 100 µs). */
  maxCsDelayUs?: number;
  /** How the chip-select delay is waited (default: a short busy wait, timers being too coarse). */
  delayUs?: (us: number) => Promise<void>;
  /** RX_READY low for longer than this takes the link down with 'timeout' (default 1000 ms). */
  readyTimeoutMs?: number;
  /** Silence after losing sync before probing again (default 200 ms, 10.2). */
  resyncPauseMs?: number;
  /** Length of the reset pulse (default 10 ms). */
  resetPulseMs?: number;
}

export interface SpiCounters {
  /** Complete HCI frames received. */
  received: number;
  /** HCI frames completely sent. */
  sent: number;
  /** Size + data exchange pairs completed. */
  exchanges: number;
  outOfSync: number;
  resets: number;
  framingErrors: number;
  /** Size frames echoing our size from an idle module (#185), whose filler was dropped. */
  echoes: number;
  /** Interface status frames read again in place of the next frame (#355), dropped. */
  staleRepeats: number;
  /** Chip-select delay in use, µs: the option, lengthened after zero answers (#33). */
  csDelayUs: number;
}

export interface SpiTransport extends Transport {
  readonly counters: Readonly<SpiCounters>;
  readonly framingErrors$: Subject<FramingError>;
}

export function createSpiTransport(options: SpiTransportOptions): SpiTransport {
  return new SpiTransportImpl(options);
}

class SpiTransportImpl implements SpiTransport {
  readonly frames$ = new Subject<Uint8Array>();
  readonly linkState$ = new BehaviorSubject<LinkState>({ up: true });
  readonly framingErrors$ = new Subject<FramingError>();
  readonly counters: SpiCounters;

  private readonly clock: Clock;
  private readonly assembler: FrameAssembler;
  private readonly queue = new SpiSendQueue();
  private readonly unwatch: (() => void)[] = [];
  private readyWaiters: (() => void)[] = [];
  private running = false;
  private wanted = false;
  /** TX_PENDING was high but the last exchange brought nothing: wait for the next edge. */
  private idleWhilePending = false;
  /** After losing sync: exchange even with nothing to send, to find the step again. */
  private probing = false;
  private closed = false;
  /** The last Interface status frame delivered, while TX_PENDING has not fallen since (#355). */
  private lastInterface: Uint8Array | undefined;

  constructor(private readonly o: SpiTransportOptions) {
    this.clock = o.clock ?? new RealClock();
    this.counters = { received: 0, sent: 0, exchanges: 0, outOfSync: 0, resets: 0, framingErrors: 0, echoes: 0, staleRepeats: 0, csDelayUs: o.csDelayUs ?? CS_DELAY_US };
    // Frames pass the stale-repeat filter (#355) on their way out; errors are counted as usual.
    this.assembler = new FrameAssembler(
      this.clock,
      (frame) => this.deliver(frame),
      (err) => {
        this.counters.framingErrors++;
        this.framingErrors$.next(err);
      },
    );
    this.unwatch.push(
      o.txPending.watch((level) => {
        if (level === 0) this.lastInterface = undefined;
        if (level === 1) {
          this.idleWhilePending = false;
          this.pump();
        }
      }),
      o.rxReady.watch((level) => {
        if (level === 1) this.releaseReadyWaiters();
      }),
    );
    // The module may already hold data when we start.
    this.pump();
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'SPI transport is closed'));
    const link = this.linkState$.value;
    if (!link.up) return Promise.reject(link.error ?? new TransportError('sendFailed', `SPI link is down: ${link.reason}`));
    const sent = this.queue.push(frame);
    this.pump();
    return sent;
  }

  /** Passes a frame on, unless it is the stale repeat of an Interface status frame (#355). */
  private deliver(frame: Uint8Array): void {
    const last = this.lastInterface;
    if (last && frame.length === last.length && frame.every((b, i) => b === last[i])) {
      this.counters.staleRepeats++;
      return;
    }
    this.lastInterface = frame[1] === INTERFACE_MOD_ID ? frame : undefined;
    this.counters.received++;
    this.frames$.next(frame);
  }

  /** Starts the exchange loop unless it runs; a call while it runs makes it look once more. */
  private pump(): void {
    this.wanted = true;
    if (!this.running && !this.closed) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.wanted && !this.closed) {
        this.wanted = false;
        while (!this.closed && (await this.hasWork())) await this.exchangeSafely();
      }
    } catch (e) {
      // Reading TX_PENDING failed: the GPIO is gone; nothing sensible is left to retry.
      const err = new TransportError('sendFailed', `SPI lines unusable: ${String(e)}`, e);
      this.queue.failAll(err);
      this.setLink({ up: false, reason: err.message, error: err });
    } finally {
      this.running = false;
    }
  }

  private async hasWork(): Promise<boolean> {
    if (this.queue.length > 0 || this.probing) return true;
    if (this.idleWhilePending) return false;
    return (await this.o.txPending.read()) === 1;
  }

  private async exchangeSafely(): Promise<void> {
    try {
      await this.exchange();
    } catch (e) {
      if (this.closed) return;
      const err = e instanceof TransportError ? e : new TransportError('sendFailed', `SPI transfer failed: ${String(e)}`, e);
      this.queue.failAll(err);
      this.setLink({ up: false, reason: err.message, error: err });
      await this.sleep(this.o.resyncPauseMs ?? RESYNC_PAUSE_MS);
      this.probing = !this.closed;
    }
  }

  /** One size exchange and one data exchange (9.2.3 steps 1 and 2). */
  private async exchange(): Promise<void> {
    const out = this.queue.nextChunk();
    // Only needed to tell an echoed size (#185) from a frame of the same size.
    const pendingBefore = out.length > 0 ? await this.o.txPending.read() : 1;
    const sizeAnswer = await this.transfer(encodeSizeExchange(out.length));
    const slaveSize = decodeSizeExchange(sizeAnswer);
    if (slaveSize === undefined || slaveSize > SPI_MAX_PAYLOAD) {
      // A module that answered zeros was not ready to clock: give it more time after chip select (#33).
      if (sizeAnswer.every((b) => b === 0)) this.counters.csDelayUs = lengthenedCsDelayUs(this.counters.csDelayUs, this.o.maxCsDelayUs);
      // Nothing of the queue was clocked out: it waits for the resync (#331).
      return this.lostSync(`size-exchange answer ${bytesToHex(sizeAnswer.subarray(0, 4), ' ')} is not 0xAA 0xAA + size`, true);
    }
    const size = negotiatedSize(out.length, slaveSize);
    const dataAnswer = await this.transfer(encodeDataExchange(out, size));
    const data = decodeDataExchange(dataAnswer);
    if (!data || dataAnswer.length !== DATA_EXCHANGE_HEADER_SIZE + size) {
      return this.lostSync(`data-exchange answer ${bytesToHex(dataAnswer.subarray(0, 4), ' ')} is not 0x55 0x55 0x00 0x00`);
    }
    this.counters.exchanges++;
    this.counters.sent += this.queue.consume(out.length);
    if (this.probing || !this.linkState$.value.up) {
      this.probing = false;
      this.setLink({ up: true });
    }
    this.idleWhilePending = out.length === 0 && slaveSize === 0;
    if (slaveSize === 0) this.lastInterface = undefined;
    // An idle module echoing our size (#185) clocks filler, not a frame: drop it.
    const echoed = slaveSize > 0 && slaveSize === out.length && pendingBefore === 0 && data[0] !== 0xc0 && this.assembler.idle;
    if (echoed) this.counters.echoes++;
    // Only the slave's announced bytes are data; the rest is padding for our longer part.
    else this.assembler.push(data.subarray(0, slaveSize));
  }

  /** Select, wait tDelayChipSelect, clock, deselect; only when RX_READY is high. */
  private async transfer(tx: Uint8Array): Promise<Uint8Array> {
    await this.waitReady();
    const cs = this.o.chipSelect;
    if (cs?.write) {
      await cs.write(0);
      await (this.o.delayUs ?? spinDelayUs)(this.counters.csDelayUs);
    }
    try {
      return await this.o.bus.transfer(tx);
    } finally {
      if (cs?.write) await cs.write(1);
    }
  }

  /** Resolves when RX_READY is high; the link goes down if it stays low too long. */
  private async waitReady(): Promise<void> {
    // Register for the edge before reading, so an edge between the two is not lost.
    const edge = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    if ((await this.o.rxReady.read()) === 1) {
      this.releaseReadyWaiters();
      return;
    }
    const limit = this.o.readyTimeoutMs ?? 1000;
    const timer = this.clock.setTimeout(() => {
      const err = new TransportError('timeout', `RX_READY stayed low for ${limit} ms`);
      this.setLink({ up: false, reason: err.message, error: err });
    }, limit);
    await edge;
    this.clock.clearTimeout(timer);
    if (this.closed) throw new TransportError('closed', 'SPI transport is closed');
    const link = this.linkState$.value;
    if (!link.up && link.error?.kind === 'timeout') this.setLink({ up: true });
  }

  private releaseReadyWaiters(): void {
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of w) resolve();
  }

  /**
   * `keepUnsent`: the queue's frames not yet begun stay queued for after the resync (no byte of
   * them reached the module); a frame cut in the middle is lost either way.
   */
  private async lostSync(detail: string, keepUnsent = false): Promise<void> {
    this.counters.outOfSync++;
    const err = new TransportError('outOfSync', `SPI out of sync: ${detail}`);
    if (keepUnsent) this.queue.failStarted(err);
    else this.queue.failAll(err);
    this.setLink({ up: false, reason: err.message, error: err });
    const reset = this.o.reset;
    if (reset?.write) {
      this.counters.resets++;
      await reset.write(0);
      await this.sleep(this.o.resetPulseMs ?? 10);
      await reset.write(1);
    }
    // Whatever part of a frame arrived before is worthless now.
    this.assembler.reset();
    await this.sleep(this.o.resyncPauseMs ?? RESYNC_PAUSE_MS);
    this.probing = !this.closed;
  }

  private setLink(s: LinkState): void {
    if (this.closed) return;
    const cur = this.linkState$.value;
    if (cur.up === s.up && (s.up || (!cur.up && cur.error?.kind === s.error?.kind))) return;
    this.linkState$.next(s);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unwatch) u();
    this.queue.failAll(new TransportError('closed', 'SPI transport is closed'));
    this.releaseReadyWaiters();
    this.assembler.dispose();
    this.linkState$.next({ up: false, reason: 'closed' });
    this.frames$.complete();
    this.framingErrors$.complete();
    this.linkState$.complete();
    const o = this.o;
    for (const c of [o.bus.close, o.rxReady.close, o.txPending.close, o.chipSelect?.close, o.reset?.close]) {
      // Closing is best effort: a line may already be unexported.
      await c?.call(undefined)?.catch(() => undefined);
    }
  }
}

export interface OpenSpiOptions extends Omit<SpiTransportOptions, 'bus' | 'rxReady' | 'txPending' | 'chipSelect' | 'reset'> {
  /** SPI device name, default 'spidev0.0'. */
  device?: string;
  /** SPI clock, default 8 MHz, at most 12 MHz (9.2.1, 9.2.6). */
  speedHz?: number;
  /** BCM GPIO numbers; defaults as wired for the reference adapter (22, 27, 24). */
  rxReadyGpio?: number;
  txPendingGpio?: number;
  /** GPIO chip select, or null for the SPI driver's own chip select (then no 20 µs delay). */
  csGpio?: number | null;
  resetGpio?: number;
  /** Offset of sysfs GPIO numbers (see spi-hw.ts). */
  gpioOffset?: number;
  importer?: Importer;
}

/** Opens the real hardware (spi-device + onoff) and starts the transport on it. */
export async function openSpiTransport(options: OpenSpiOptions = {}): Promise<SpiTransport> {
  const gpio = { offset: options.gpioOffset ?? 0, importer: options.importer };
  const csGpio = options.csGpio === undefined ? 24 : options.csGpio;
  const opened: { close?(): Promise<void> }[] = [];
  const keep = <T extends { close?(): Promise<void> }>(x: T): T => {
    opened.push(x);
    return x;
  };
  try {
    const bus = keep(await openSpiBus({ device: options.device, speedHz: options.speedHz ?? SPI_DEFAULT_SPEED_HZ, importer: options.importer }));
    const rxReady = keep(await openInputLine(options.rxReadyGpio ?? 22, gpio));
    const txPending = keep(await openInputLine(options.txPendingGpio ?? 27, gpio));
    const chipSelect = csGpio === null ? undefined : keep(await openOutputLine(csGpio, 1 as Level, gpio));
    const reset = options.resetGpio === undefined ? undefined : keep(await openOutputLine(options.resetGpio, 1, gpio));
    return createSpiTransport({ ...options, bus, rxReady, txPending, chipSelect, reset });
  } catch (e) {
    // Give back what was opened before the failure (exported GPIOs, the spidev handle).
    for (const x of opened.reverse()) await x.close?.().catch(() => undefined);
    throw e;
  }
}
