/**
 * A simulated GPIO line (the GpioLine of transports/spi-hw.ts) whose level a test or the
 * simulated SPI slave (spi-slave.ts) drives: RX_READY and TX_PENDING as inputs of the host,
 * chip select and reset as its outputs.
 */
import type { GpioLine, Level } from '../transports/spi-hw.js';

/** An input or output line whose level the test (or the slave) sets. */
export class SimGpio implements GpioLine {
  private watchers = new Set<(level: Level) => void>();
  write?: (level: Level) => Promise<void>;

  constructor(
    private lvl: Level,
    onWrite?: (level: Level) => void,
  ) {
    if (onWrite) {
      this.write = (level) => {
        this.lvl = level;
        onWrite(level);
        return Promise.resolve();
      };
    }
  }

  get level(): Level {
    return this.lvl;
  }

  read(): Promise<Level> {
    return Promise.resolve(this.lvl);
  }

  watch(cb: (level: Level) => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Drives the line; watchers hear of an edge a microtask later, as from an interrupt. */
  set(level: Level): void {
    if (level === this.lvl) return;
    this.lvl = level;
    queueMicrotask(() => {
      for (const w of [...this.watchers]) w(level);
    });
  }
}
