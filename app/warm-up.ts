/**
 * The host's warm-up while it waits for a vehicle (`eth`, `spi`): the codec of every message its
 * role may meet runs once (codec/warm.ts), so that an answer the host gives once a session (Set
 * Schedules, Set Cable Check Finished, Set Authorization Status, ...) does not build and run its
 * codec for the first time between the status and the answer on the wire (issue 12 target 1,
 * the p99; docs/performance.md, ninth round). It starts once the station first reports
 * `waitingForVehicle` (the module is set up, no session runs) and goes in slices, one event-loop
 * turn each, so a frame that arrives meanwhile waits for one slice at most. Nothing it does is
 * seen: no frame, no log line, no state but the codec's caches.
 */
import { definitionsFor, warmMessage } from '../codec/warm.js';
import type { Role } from '../codec/message.js';
import type { StationEmitted } from '../machines/station-events.js';

/** Messages per slice: about 0.1-0.3 ms of a cold codec each, so a slice stays near a millisecond. */
export const WARM_SLICE = 8;

/** Runs the warm-up of `role` in slices; `next` schedules a slice (default: `setImmediate`). */
export function warmUp(role: Role, next: (slice: () => void) => void = (f) => void setImmediate(f)): Promise<number> {
  const defs = definitionsFor(role);
  let at = 0;
  let ran = 0;
  return new Promise((resolve) => {
    const slice = (): void => {
      for (const end = Math.min(defs.length, at + WARM_SLICE); at < end; at++) if (warmMessage(defs[at] as (typeof defs)[number])) ran++;
      if (at < defs.length) next(slice);
      else resolve(ran);
    };
    next(slice);
  });
}

/** A station's event listener that starts the warm-up at its first `waitingForVehicle`. */
export function warmUpWhenWaiting(role: Role, start: (role: Role) => void = (r) => void warmUp(r)): (ev: StationEmitted) => void {
  let started = false;
  return (ev) => {
    if (started || ev.type !== 'phase' || ev.phase !== 'waitingForVehicle') return;
    started = true;
    start(role);
  };
}
