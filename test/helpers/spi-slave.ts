/**
 * The simulated SPI slave now lives in sim/spi-slave.ts (the simulator serves modules over SPI
 * with it); this helper re-exports it and adds the test-only stepping clock.
 */
import type { SimSpiSlave } from '../../sim/spi-slave.js';
import { type SpiTransport, type SpiTransportOptions, clockDelayUs, createSpiTransport } from '../../transports/spi.js';
import { type Clock, type TimerId, VirtualClock } from '../../util/clock.js';

export { SimGpio, SimSpiSlave, type SpiSlaveOptions, type TransferRecord, serveOverSpi } from '../../sim/spi-slave.js';

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
