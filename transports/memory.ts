/**
 * In-process transport pair for the simulator and tests. Frames written on one end arrive on the
 * other asynchronously (a microtask later, or after a fault's delay on the injected clock), so
 * callers never rely on re-entrancy that real media do not have.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import type { Clock } from '../util/clock.js';
import { type LinkState, type Transport, TransportError } from './transport.js';

export type EndName = 'a' | 'b';

/** What happens to one frame on the wire: deliver these (possibly altered) copies, each after a delay. */
export type Delivery = { frame: Uint8Array; delayMs?: number };

/** Fault hook: return [] to drop, a changed copy to corrupt, two entries to duplicate. */
export type FaultHook = (frame: Uint8Array, from: EndName) => Delivery[];

export interface MemoryPairOptions {
  clock?: Clock;
  fault?: FaultHook;
}

class MemoryEnd implements Transport {
  readonly frames$ = new Subject<Uint8Array>();
  readonly linkState$ = new BehaviorSubject<LinkState>({ up: true });
  peer!: MemoryEnd;
  closed = false;

  constructor(
    readonly name: EndName,
    private readonly options: MemoryPairOptions,
  ) {}

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('closed', `memory transport ${this.name} is closed`));
    const copy = frame.slice();
    const deliveries = this.options.fault ? this.options.fault(copy, this.name) : [{ frame: copy }];
    for (const d of deliveries) this.deliver(d);
    return Promise.resolve();
  }

  private deliver(d: Delivery): void {
    const peer = this.peer;
    const go = (): void => {
      if (!peer.closed) peer.frames$.next(d.frame);
    };
    if (d.delayMs && d.delayMs > 0 && this.options.clock) this.options.clock.setTimeout(go, d.delayMs);
    else queueMicrotask(go);
  }

  /** Takes the link down (e.g. a simulated cable fault) without closing the transport. */
  setLink(state: LinkState): void {
    this.linkState$.next(state);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.linkState$.next({ up: false, reason: 'closed' });
      this.frames$.complete();
      this.linkState$.complete();
    }
    return Promise.resolve();
  }
}

export type MemoryTransport = MemoryEnd;

/** Two joined ends: what `a` sends, `b` receives, and the other way round. */
export function createMemoryPair(options: MemoryPairOptions = {}): [MemoryTransport, MemoryTransport] {
  const a = new MemoryEnd('a', options);
  const b = new MemoryEnd('b', options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
