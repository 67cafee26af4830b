/**
 * In-process transport pair for the simulator and tests. Frames written on one end arrive on the
 * other asynchronously (a microtask later, or after a fault's delay on the injected clock), so
 * callers never rely on re-entrancy that real media do not have.
 */
import { BehaviorSubject } from 'rxjs';
import type { Clock } from '../util/clock.js';
import { type LinkState, type Transport, TransportError } from './transport.js';
import { LeanSubject } from '../util/lean-subject.js';

export type EndName = 'a' | 'b';

const settled = Promise.resolve();

/** What happens to one frame on the wire: deliver these (possibly altered) copies, each after a delay. */
export type Delivery = { frame: Uint8Array; delayMs?: number };

/** Fault hook: return [] to drop, a changed copy to corrupt, two entries to duplicate. */
export type FaultHook = (frame: Uint8Array, from: EndName) => Delivery[];

export interface MemoryPairOptions {
  clock?: Clock;
  fault?: FaultHook;
}

class MemoryEnd implements Transport {
  readonly frames$ = new LeanSubject<Uint8Array>();
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
    const fault = this.options.fault;
    if (fault) for (const d of fault(copy, this.name)) this.deliver(d.frame, d.delayMs);
    else this.deliver(copy, undefined);
    // One settled promise for every send: a caller's then/catch on it runs as on a fresh one.
    return settled;
  }

  /**
   * Delayed frames of this direction not yet delivered, and when the last of them is due. A delay
   * holds back the frames behind it too: the media this pair stands for (a UART, SPI, a
   * point-to-point Ethernet cable) are FIFOs that can stall, drop or garble a frame but never let a
   * later frame overtake an earlier one. An injector that did reordered a stale notification behind
   * a newer one (fuzz seed 200451: the EV's 100 % duty cycle delayed past its 5 %), a fault the
   * host cannot meet on a real link (docs/reliability.md, "sessions stuck on one lost frame").
   */
  private delayed = 0;
  private lastDueAt = Number.NEGATIVE_INFINITY;

  private deliver(frame: Uint8Array, delay: number | undefined): void {
    const peer = this.peer;
    const clock = this.options.clock;
    const delayMs = delay && delay > 0 && clock ? delay : 0;
    if (!clock || (delayMs === 0 && this.delayed === 0)) {
      // A reaction on a settled promise: the same place in the microtask queue as queueMicrotask,
      // without Node's wrapper around it (an AsyncResource and a bound function per frame).
      settled.then(() => {
        if (!peer.closed) peer.frames$.next(frame);
      });
      return;
    }
    // Equal due times keep their order: the virtual clock runs such timers first come, first served.
    const now = clock.now();
    const dueAt = Math.max(now + delayMs, this.lastDueAt);
    this.lastDueAt = dueAt;
    this.delayed++;
    clock.setTimeout(() => {
      this.delayed--;
      if (!peer.closed) peer.frames$.next(frame);
    }, dueAt - now);
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
