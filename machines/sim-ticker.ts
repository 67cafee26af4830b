/**
 * The clock-driven skeleton of the simulated devices behind the charger's contracts (the power
 * stage of power-stage-sim.ts, the EV battery of ev-battery-sim.ts): every `periodMs` on the
 * injected clock a tick makes the device's next report, which goes to each listener.
 */
import type { Clock } from '../util/clock.js';
import { everyPeriod } from './every-period.js';

export interface SimTicker<T> {
  /** Starts ticking; a no-op while it ticks. */
  start(): void;
  /** Adds a listener of the reports; the function returned removes it. */
  listen(listener: (report: T) => void): () => void;
  /** Stops ticking and forgets the listeners. */
  close(): void;
}

/** `tick` advances the device by one period and returns its report, or undefined to say nothing this time. */
export function simTicker<T>(clock: Clock, periodMs: number, tick: () => T | undefined): SimTicker<T> {
  const listeners = new Set<(report: T) => void>();
  let stop: (() => void) | undefined;
  const run = (): void => {
    const report = tick();
    if (report !== undefined) for (const l of listeners) l(report);
  };
  return {
    start() {
      stop ??= everyPeriod(clock, periodMs, run);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      stop?.();
      stop = undefined;
      listeners.clear();
    },
  };
}
