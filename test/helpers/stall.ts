/**
 * A host process whose event loop stalls (GC, swap, a starved core) on the virtual clock: while
 * stalled, its timers and the frames its transport received wait; when the stall ends they run
 * late, in their order. The simulated module keeps the undelayed clock, as a real module (its
 * own hardware) keeps its deadlines while the host is stalled. Issue 12 target 5.
 */
import { Observable, concatMap, of } from 'rxjs';
import type { Transport } from '../../transports/transport.js';
import type { Clock, TimerId, VirtualClock } from '../../util/clock.js';

export function stallableHost(clock: VirtualClock, transport: Transport) {
  let until = Number.NEGATIVE_INFINITY;
  let nextId = 1;
  // Our timer id -> the clock's timer now standing for it (a deferred timer is set again).
  const inner = new Map<TimerId, TimerId>();
  const hostClock: Clock = {
    now: () => clock.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const fire = (): void => {
        if (clock.now() < until) {
          inner.set(id, clock.setTimeout(fire, until - clock.now()));
          return;
        }
        inner.delete(id);
        fn();
      };
      inner.set(id, clock.setTimeout(fire, ms));
      return id;
    },
    clearTimeout(id) {
      const t = inner.get(id);
      if (t !== undefined) clock.clearTimeout(t);
      inner.delete(id);
    },
  };
  const late = (frame: Uint8Array): Observable<Uint8Array> =>
    clock.now() >= until
      ? of(frame)
      : new Observable<Uint8Array>((sub) => {
          const t = clock.setTimeout(() => {
            sub.next(frame);
            sub.complete();
          }, until - clock.now());
          return () => clock.clearTimeout(t);
        });
  const hostTransport: Transport = {
    frames$: transport.frames$.pipe(concatMap(late)),
    linkState$: transport.linkState$,
    send: (frame) => transport.send(frame),
    close: () => transport.close(),
  };
  return {
    clock: hostClock,
    transport: hostTransport,
    /** The host runs nothing for `ms` from now. */
    stall(ms: number): void {
      until = Math.max(until, clock.now() + ms);
    },
  };
}
