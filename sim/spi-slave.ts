/**
 * A simulated WHITE-beet SPI slave following manual 9.2, on any Clock. It offers the bus,
 * the RX_READY and TX_PENDING inputs, and chip-select and reset outputs as the hardware
 * interfaces of transports/spi-hw.ts, and it checks the master's conduct:
 * - no transfer while RX_READY is low (9.2.2.1),
 * - tDelayChipSelect (20 µs) between chip select and the first clock (9.2.6),
 * - a size exchange (4 bytes, 0xAA 0xAA) followed by a data exchange of exactly 4 + the larger of
 *   both sizes (9.2.4, 9.2.5).
 * Breaches are recorded in `violations` (and reported to `onViolation`); protocol breaches also
 * put the slave out of step. Options make it behave like real modules do where they differ from
 * the manual (each from the field, see docs/transports.md "SPI quirks"):
 * - `minCsDelayUs` 40: a module needing 40 µs after chip select, not 20 (Sevenstax/FreeV2G#33);
 *   a quicker master clocks in nothing and reads zeros,
 * - `echoSize`: an idle module echoing the master's size in its size frame and clocking filler
 *   in the data exchange (Sevenstax/FreeV2G#185),
 * - `desync()`: a module a step ahead that answers a size exchange with `55 55`
 *   (Sevenstax/FreeV2G#331),
 * - `staleInterfaceUp` n: after its Interface Up status the module clocks out that same frame
 *   again for the next n reads, in place of what it has queued (Sevenstax/FreeV2G#355).
 * `serveOverSpi` puts a simulated module (or any HCI endpoint behind a Transport) behind such a
 * slave, so the host's SPI transport can drive the simulator. Its lines are SimGpio (sim-gpio.ts).
 */
import { Deframer } from '../codec/frame.js';
import { decodeDataExchange, decodeSizeExchange, encodeDataExchange, encodeSizeExchange, DATA_EXCHANGE_HEADER_SIZE, SIZE_EXCHANGE_LENGTH, SPI_MAX_PAYLOAD } from '../codec/link-headers.js';
import type { Clock } from '../util/clock.js';
import type { Level, SpiBus } from '../transports/spi-hw.js';
import type { Transport } from '../transports/transport.js';
import { SimGpio } from './sim-gpio.js';

export interface TransferRecord {
  at: number;
  tx: Uint8Array;
  rx: Uint8Array;
  /** `ignored`: clocked too soon after chip select for a `minCsDelayUs` slave (nothing taken). */
  kind: 'size' | 'data' | 'bad' | 'ignored';
}

export interface SpiSlaveOptions {
  /** SPI clock used to time transfers on the virtual clock (default 8 MHz). */
  speedHz?: number;
  /** RX_READY stays low this long after a transfer (the module works on it), in µs. */
  busyUs?: number;
  /** Time from releasing reset until RX_READY rises, in ms. */
  bootMs?: number;
  /**
   * After a protocol breach, fall back to expecting a size exchange (true) or stay out of step
   * until reset (false, what the manual warns of in 9.2.3).
   */
  selfResync?: boolean;
  /** Whether a chip-select line is wired; without it the delay is not checked. */
  withChipSelect?: boolean;
  /** Called with each breach as it happens (a test can fail at once). */
  onViolation?: (violation: string) => void;
  /** Called with each complete frame received from the master (the module's HCI input). */
  onFrame?: (frame: Uint8Array) => void;
  /** Keep every transfer and received frame in `transfers`/`received` (default true). */
  record?: boolean;
  /**
   * Chip-select-to-clock delay this module needs, in µs (default 20, the manual's). A transfer
   * clocked sooner (but not sooner than 20 µs, a breach) is not taken: MISO stays 0x00
   * (Sevenstax/FreeV2G#33: a module needed 40 µs).
   */
  minCsDelayUs?: number;
  /** Idle, answer the size exchange with the master's own size and clock 0x00 filler (Sevenstax/FreeV2G#185). */
  echoSize?: boolean;
  /** Re-send the Interface Up status this many times in place of the next reads (Sevenstax/FreeV2G#355). */
  staleInterfaceUp?: number;
}

/** Interface Up (13.4.2, module 0x05, Sub-ID 0x81): the frame the module sends after boot. */
const INTERFACE_MOD_ID = 0x05;
const INTERFACE_UP_SUB_ID = 0x81;

type StandIn = { kind: 'stale'; frame: Uint8Array } | { kind: 'echo' };

export class SimSpiSlave {
  readonly rxReady = new SimGpio(1);
  readonly txPending = new SimGpio(0);
  readonly chipSelect: SimGpio;
  readonly reset: SimGpio;
  readonly bus: SpiBus;
  readonly violations: string[] = [];
  private readonly violated = (v: string): void => {
    this.violations.push(v);
    this.o.onViolation?.(v);
  };
  readonly transfers: TransferRecord[] = [];
  /** Frames the slave received from the master, in order. */
  readonly received: Uint8Array[] = [];
  resets = 0;

  private phase: 'size' | 'data' | 'lost' = 'size';
  private masterSize = 0;
  private slaveSize = 0;
  private outgoing = new Uint8Array(0);
  private deframer = new Deframer();
  private csLowAt: number | undefined;
  private inReset = false;
  private holding = false;
  /** What this size exchange promised instead of the queue: a stale frame, or echo filler. */
  private stand: StandIn | undefined;
  private staleFrame: Uint8Array | undefined;
  private staleLeft = 0;
  /** Transfers a quirk shaped (ignored, echoed, stale), by quirk. */
  readonly quirkHits = { ignored: 0, echoed: 0, stale: 0 };
  private readonly o: Required<Omit<SpiSlaveOptions, 'onViolation' | 'onFrame'>> & Pick<SpiSlaveOptions, 'onViolation' | 'onFrame'>;

  constructor(
    private readonly clock: Clock,
    options: SpiSlaveOptions = {},
  ) {
    this.o = {
      speedHz: 8_000_000,
      busyUs: 30,
      bootMs: 50,
      selfResync: true,
      withChipSelect: true,
      record: true,
      minCsDelayUs: 20,
      echoSize: false,
      staleInterfaceUp: 0,
      ...options,
    };
    this.chipSelect = new SimGpio(1, (level) => this.onChipSelect(level));
    this.reset = new SimGpio(1, (level) => this.onReset(level));
    this.bus = { transfer: (tx) => this.onTransfer(tx) };
  }

  /** Queues a frame for the master and raises TX_PENDING (9.2.2.2). */
  queue(frame: Uint8Array): void {
    const merged = new Uint8Array(this.outgoing.length + frame.length);
    merged.set(this.outgoing);
    merged.set(frame, this.outgoing.length);
    this.outgoing = merged;
    if (!this.inReset) this.txPending.set(1);
  }

  /** Bytes still waiting to go to the master. */
  get pendingBytes(): number {
    return this.outgoing.length;
  }

  /** Holds RX_READY low (module busy) until `release()`. */
  hold(): void {
    this.holding = true;
    this.rxReady.set(0);
  }

  release(): void {
    this.holding = false;
    if (!this.inReset) this.rxReady.set(1);
  }

  /** Loses step with the master: the slave now takes the next transfer for a data exchange. */
  desync(): void {
    this.phase = 'data';
    this.masterSize = 0;
    this.slaveSize = 0;
  }

  get inStep(): boolean {
    return this.phase !== 'lost';
  }

  private onChipSelect(level: Level): void {
    if (level === 0) {
      this.csLowAt = this.clock.now();
      if (this.rxReady.level === 0) this.violated(`chip select at ${this.clock.now()} ms while RX_READY low`);
      // The module drops RX_READY as soon as it is selected (figure 16).
      this.rxReady.set(0);
    } else {
      this.csLowAt = undefined;
      this.readyAfterBusy();
    }
  }

  /** Busy with what it got, then ready for the next transfer (figure 16). */
  private readyAfterBusy(): void {
    this.clock.setTimeout(() => {
      if (!this.holding && !this.inReset) this.rxReady.set(1);
    }, this.o.busyUs / 1000);
  }

  private onReset(level: Level): void {
    if (level === 0) {
      this.inReset = true;
      this.resets++;
      this.stand = undefined;
      this.staleLeft = 0;
      this.phase = 'size';
      this.outgoing = new Uint8Array(0);
      this.deframer = new Deframer();
      this.rxReady.set(0);
      this.txPending.set(0);
    } else if (this.inReset) {
      this.clock.setTimeout(() => {
        this.inReset = false;
        if (!this.holding) this.rxReady.set(1);
      }, this.o.bootMs);
    }
  }

  private onTransfer(tx: Uint8Array): Promise<Uint8Array> {
    const now = this.clock.now();
    let tooSoon = false;
    if (this.o.withChipSelect) {
      const delayUs = this.csLowAt === undefined ? 0 : (now - this.csLowAt) * 1000;
      if (this.csLowAt === undefined) this.violated(`transfer at ${now} ms without chip select`);
      else if (delayUs < 20 - roundingUs(now)) this.violated(`chip-select delay ${delayUs.toFixed(1)} µs < 20 µs`);
      else tooSoon = delayUs < this.o.minCsDelayUs - roundingUs(now);
    } else {
      if (this.rxReady.level === 0) this.violated(`transfer at ${now} ms while RX_READY low`);
      this.rxReady.set(0);
    }
    if (this.inReset) this.violated(`transfer at ${now} ms during reset`);
    const { rx, kind } = tooSoon ? this.ignore(tx) : this.answer(tx);
    if (this.o.record) this.transfers.push({ at: now, tx: tx.slice(), rx: rx.slice(), kind });
    const durationMs = (tx.length * 8 * 1000) / this.o.speedHz;
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        resolve(rx);
        // With a chip select, deselecting starts the busy time instead.
        if (!this.o.withChipSelect) this.readyAfterBusy();
      }, durationMs);
    });
  }

  /** Not ready yet (#33): the module's SPI peripheral clocks out zeros and takes nothing. */
  private ignore(tx: Uint8Array): { rx: Uint8Array; kind: TransferRecord['kind'] } {
    this.quirkHits.ignored++;
    return { rx: new Uint8Array(tx.length), kind: 'ignored' };
  }

  private answer(tx: Uint8Array): { rx: Uint8Array; kind: TransferRecord['kind'] } {
    switch (this.phase) {
      case 'size':
        return this.sizeExchange(tx);
      case 'data':
        return this.dataExchange(tx);
      case 'lost':
        // Out of step: whatever it clocks out is not a size-exchange frame.
        return { rx: new Uint8Array(tx.length).fill(0xff), kind: 'bad' };
    }
  }

  private sizeExchange(tx: Uint8Array): { rx: Uint8Array; kind: TransferRecord['kind'] } {
    const size = decodeSizeExchange(tx);
    if (tx.length !== SIZE_EXCHANGE_LENGTH || size === undefined || size > SPI_MAX_PAYLOAD) {
      return this.breach(tx, `expected a size exchange, got ${tx.length} byte(s)`);
    }
    this.masterSize = size;
    this.stand = this.standIn(size);
    const stand = this.stand;
    if (stand?.kind === 'stale') this.slaveSize = stand.frame.length;
    else if (stand?.kind === 'echo') this.slaveSize = size;
    else this.slaveSize = Math.min(this.outgoing.length, SPI_MAX_PAYLOAD);
    this.phase = 'data';
    return { rx: encodeSizeExchange(this.slaveSize), kind: 'size' };
  }

  /** What a quirky module sends this time in place of its queue, if anything. */
  private standIn(masterSize: number): StandIn | undefined {
    if (this.staleLeft > 0 && this.staleFrame) {
      this.staleLeft--;
      this.quirkHits.stale++;
      return { kind: 'stale', frame: this.staleFrame };
    }
    if (this.o.echoSize && this.outgoing.length === 0 && masterSize > 0) {
      this.quirkHits.echoed++;
      return { kind: 'echo' };
    }
    return undefined;
  }

  private dataExchange(tx: Uint8Array): { rx: Uint8Array; kind: TransferRecord['kind'] } {
    const expected = DATA_EXCHANGE_HEADER_SIZE + Math.max(this.masterSize, this.slaveSize);
    const data = decodeDataExchange(tx);
    if (tx.length !== expected || !data) {
      // What a slave in the data phase clocks out: its data-exchange identifier.
      const rx = new Uint8Array(tx.length);
      rx.set(encodeDataExchange(new Uint8Array(0)).subarray(0, Math.min(4, tx.length)));
      this.breach(tx, `expected a data exchange of ${expected} bytes, got ${tx.length}`);
      return { rx, kind: 'bad' };
    }
    for (const item of this.deframer.push(data.slice(0, this.masterSize))) {
      if ('frame' in item) this.frameIn(rebuild(item.frame));
      else this.violated(`framing error in master data: ${item.error.detail}`);
    }
    const stand = this.stand;
    this.stand = undefined;
    this.phase = 'size';
    if (stand?.kind === 'stale') {
      if (this.staleLeft === 0 && this.outgoing.length === 0) this.txPending.set(0);
      return { rx: encodeDataExchange(stand.frame, expected - DATA_EXCHANGE_HEADER_SIZE), kind: 'data' };
    }
    // Echo filler: the announced bytes are not data (0x00 is never a frame start).
    if (stand?.kind === 'echo') return { rx: encodeDataExchange(new Uint8Array(0), expected - DATA_EXCHANGE_HEADER_SIZE), kind: 'data' };
    const mine = this.outgoing.subarray(0, this.slaveSize);
    const rx = encodeDataExchange(mine, expected - DATA_EXCHANGE_HEADER_SIZE);
    this.noteInterfaceUp(mine);
    this.outgoing = this.outgoing.slice(this.slaveSize);
    if (this.outgoing.length === 0 && this.staleLeft === 0) this.txPending.set(0);
    return { rx, kind: 'data' };
  }

  /** An Interface Up frame just went out whole: a `staleInterfaceUp` module repeats it. */
  private noteInterfaceUp(sent: Uint8Array): void {
    if (this.o.staleInterfaceUp <= 0 || sent[0] !== 0xc0 || sent[1] !== INTERFACE_MOD_ID || sent[2] !== INTERFACE_UP_SUB_ID) return;
    const size = ((sent[4] as number) << 8) | (sent[5] as number);
    if (sent.length < size + 8) return;
    this.staleFrame = sent.slice(0, size + 8);
    // It has something to send again (the stale frame), so TX_PENDING stays up.
    this.staleLeft = this.o.staleInterfaceUp;
  }

  private breach(tx: Uint8Array, why: string): { rx: Uint8Array; kind: TransferRecord['kind'] } {
    this.violated(`protocol: ${why}`);
    this.phase = this.o.selfResync ? 'size' : 'lost';
    return { rx: new Uint8Array(tx.length).fill(0xff), kind: 'bad' };
  }

  private frameIn(frame: Uint8Array): void {
    if (this.o.record) this.received.push(frame);
    this.o.onFrame?.(frame);
  }

  /** Forgets recorded violations of a deliberate fault, keeping the others. */
  takeViolations(): string[] {
    return this.violations.splice(0);
  }
}

/**
 * What float rounding of millisecond timestamps can take off a measured delay, in µs: 1 ns near
 * zero, about 1.5 µs on a clock counting from the Unix epoch (1.7e12 ms).
 */
function roundingUs(nowMs: number): number {
  return Math.max(1e-3, Math.abs(nowMs) * 4 * Number.EPSILON * 1000);
}

function rebuild(f: { modId: number; subId: number; reqId: number; payload: Uint8Array; checksum?: number }): Uint8Array {
  const out = new Uint8Array(f.payload.length + 8);
  out.set([0xc0, f.modId, f.subId, f.reqId, f.payload.length >>> 8, f.payload.length & 0xff]);
  out.set(f.payload, 6);
  out[out.length - 2] = f.checksum ?? 0;
  out[out.length - 1] = 0xc1;
  return out;
}

/**
 * Serves `moduleEnd` over SPI: frames the master writes go to `moduleEnd.send` (its peer is the
 * module), frames arriving on `moduleEnd` are queued for the master behind TX_PENDING. With a
 * memory pair, give the slave one end and the simulated module the other:
 *   const [spiSide, moduleSide] = createMemoryPair({ clock });
 *   createSimulatedModule({ role: 'EVSE', clock, transport: moduleSide });
 *   const slave = serveOverSpi(spiSide, clock);   // slave.bus, slave.rxReady, ... to the host
 */
export function serveOverSpi(moduleEnd: Transport, clock: Clock, options: SpiSlaveOptions = {}): SimSpiSlave {
  const slave = new SimSpiSlave(clock, {
    ...options,
    onFrame: (frame) => {
      options.onFrame?.(frame);
      // A closed module end drops the frame, as a powered-off module would.
      moduleEnd.send(frame).catch(() => undefined);
    },
  });
  moduleEnd.frames$.subscribe((frame) => slave.queue(frame));
  return slave;
}
