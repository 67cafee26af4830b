/**
 * A tick every period on the injected clock: the timer loop behind the children that sample or
 * update while a state lasts (the charger's and the battery's samples, the EVSE's parameter
 * updates, the EV's charge loop, the simulated devices of sim-ticker.ts). Written once so that
 * they keep the same rules: the first tick `periodMs` after the start, the next one armed after
 * the tick's own work (its instants do not drift by what the tick costs on the clock: none on a
 * virtual clock), and none after the stop, also when the tick itself stopped the loop (a tick's
 * event that made the owner leave the state).
 */
import type { Clock } from '../util/clock.js';

/** Calls `tick` every `periodMs` until the function returned is called. */
export function everyPeriod(clock: Clock, periodMs: number, tick: () => void): () => void {
  let stopped = false;
  const fire = (): void => {
    tick();
    if (!stopped) timer = clock.setTimeout(fire, periodMs);
  };
  let timer = clock.setTimeout(fire, periodMs);
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
