/**
 * The HCI client's traffic line (machines/hci-client.ts): the records of the frames sent and
 * received, in the wire's order, and the receive listeners. One object the client owns, so a
 * client wrapped with `Object.create` (the tests' lossy links) reaches the same listeners and
 * records as the client the frames reach.
 */
import type { TrafficRecord } from './hci-client-types.js';
import { LeanSubject } from '../util/lean-subject.js';

export class TrafficLine {
  readonly traffic$ = new LeanSubject<TrafficRecord>();
  /** Replaced, never changed: a listener that unsubscribes during the loop does not skip another. */
  private listeners: ((at: number) => void)[] = [];
  /** While a status is delivered: its record, then those of frames sent meanwhile (`deliverStatus`). */
  private heldTx: TrafficRecord[] | undefined;

  onReceive(listener: (at: number) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** A frame from the module: its record, then the receive listeners (after every `traffic$` subscriber). */
  recordRx(t: TrafficRecord): void {
    this.record(t);
    this.received(t.at);
  }

  /**
   * A status: the receive listeners (plain calls: the commanders' and the liveness watch's), the
   * status itself (to `status$`), and only then its record, followed by the records of the frames
   * sent while it was handled (its answer), which are held till then: the answer leaves without
   * waiting for the record's subscribers (capture, dashboard, figures; docs/performance.md,
   * target 1, eighth round), and `traffic$` keeps the wire's order, status before answer. Nothing
   * else comes in meanwhile: no transport delivers a frame within `send`.
   */
  deliverStatus<E>(t: TrafficRecord, status$: { next(e: E): void }, e: E): void {
    this.received(t.at);
    if (this.heldTx) {
      // Delivered while another is (no transport does that today): one list keeps the order.
      this.heldTx.push(t);
      status$.next(e);
      return;
    }
    const held: TrafficRecord[] = [t];
    this.heldTx = held;
    try {
      status$.next(e);
    } finally {
      this.heldTx = undefined;
      this.flush(held);
    }
  }

  /** A record to `traffic$`, or to the records held while a status is delivered. */
  record(t: TrafficRecord): void {
    if (this.heldTx) this.heldTx.push(t);
    else this.traffic$.next(t);
  }

  /** Closed while a status is delivered: its record and its answers' are still the traffic's. */
  close(): void {
    if (this.heldTx) this.flush(this.heldTx);
    this.traffic$.complete();
    this.listeners = [];
  }

  /** Emits held records in order and empties the list. */
  private flush(held: TrafficRecord[]): void {
    for (const r of held.splice(0)) this.traffic$.next(r);
  }

  private received(at: number): void {
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) (listeners[i] as (at: number) => void)(at);
  }
}
