/**
 * The simulated SPI slave now lives in sim/spi-slave.ts (the simulator serves modules over SPI
 * with it); this helper re-exports it and adds the test-only stepping clock.
 */
import { expect } from 'vitest';
import { bytesToHex } from '../../codec/frame.js';
import type { SimSpiSlave } from '../../sim/spi-slave.js';
import { type SpiTransport, type SpiTransportOptions, clockDelayUs, createSpiTransport } from '../../transports/spi.js';
import { type Clock, type TimerId, VirtualClock } from '../../util/clock.js';

export { SimGpio } from '../../sim/sim-gpio.js';
export { SimSpiSlave, type SpiSlaveOptions, type TransferRecord, serveOverSpi } from '../../sim/spi-slave.js';

/**
 * A virtual clock that knows when its next timer is due, so a test can run the SPI exchange
 * timer by timer, letting every promise chain settle (setImmediate) in between.
 */
export class SteppingClock extends VirtualClock {
  private readonly due = new Map<TimerId, number>();

  override setTimeout(fn: () => void, ms: number): TimerId {
    const id = super.setTimeout(() => {
      this.due.delete(id);
      fn();
    }, ms);
    this.due.set(id, this.now() + Math.max(0, ms));
    return id;
  }

  override clearTimeout(id: TimerId): void {
    this.due.delete(id);
    super.clearTimeout(id);
  }

  nextDue(): number | undefined {
    let best: number | undefined;
    for (const at of this.due.values()) if (best === undefined || at < best) best = at;
    return best;
  }

  /** Runs timers in order until `done()` holds; false when nothing is left to run or `maxMs` passed. */
  async drive(done: () => boolean, maxMs = 10_000): Promise<boolean> {
    const end = this.now() + maxMs;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done()) return true;
      const next = this.nextDue();
      if (next === undefined || next > end) return false;
      this.advance(Math.max(0, next - this.now()));
    }
  }
}

/**
 * The SPI transport on a simulated slave's bus and GPIO lines, the 20 µs chip-select delay on
 * the virtual clock (the default busy-waits in wall time); `options` override any of it.
 */
export function spiOnSlave(slave: SimSpiSlave, clock: Clock, options: Partial<SpiTransportOptions> = {}): SpiTransport {
  return createSpiTransport({
    bus: slave.bus,
    rxReady: slave.rxReady,
    txPending: slave.txPending,
    chipSelect: slave.chipSelect,
    clock,
    delayUs: clockDelayUs(clock),
    ...options,
  });
}

export interface SpiRig {
  clock: SteppingClock;
  slave: SimSpiSlave;
  t: SpiTransport;
  /** Frames the transport delivered, as hex. */
  got: string[];
  /** Link states in order: 'up' or 'down:<error kind or reason>'. */
  links: string[];
}

/** The SPI transport on `slave`, recording what it delivers and its link states. */
export function spiRig(clock: SteppingClock, slave: SimSpiSlave, options: Partial<SpiTransportOptions> = {}): SpiRig {
  const t = spiOnSlave(slave, clock, options);
  const got: string[] = [];
  const links: string[] = [];
  t.frames$.subscribe((f) => got.push(bytesToHex(f)));
  t.linkState$.subscribe((s) => links.push(s.up ? 'up' : `down:${s.error?.kind ?? s.reason}`));
  return { clock, slave, t, got, links };
}

/** Sends the frames and runs the clock until every send settled. */
export async function sendAll(r: SpiRig, frames: Uint8Array[]): Promise<PromiseSettledResult<void>[]> {
  let settled = false;
  const all = Promise.allSettled(frames.map((f) => r.t.send(f))).then((x) => {
    settled = true;
    return x;
  });
  expect(await r.clock.drive(() => settled)).toBe(true);
  return all;
}
