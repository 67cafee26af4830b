/**
 * Where a transport hands its received frames over: first to its direct listeners (plain calls;
 * the HCI client is one), then to `frames$`, the RxJS stream for everyone else (taps, tests, the
 * simulator). The direct call takes the Subject and its subscriber chain off the path from a
 * status arriving to the answer leaving (docs/performance.md, issue 12 target 1, ninth round);
 * `frames$` is only fed when someone subscribed to it. Frames only: no meaning is read here.
 */
import { Subject } from 'rxjs';
import type { FrameListener } from './transport.js';

export class FrameOutlet {
  readonly frames$ = new Subject<Uint8Array>();
  private listeners: FrameListener[] = [];
  private ended = false;

  /** Adds a direct listener; the returned function removes it. A listener added after the end is told at once. */
  listen(listener: FrameListener): () => void {
    if (this.ended) {
      listener.end();
      return () => {};
    }
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** One frame: the direct listeners in the order they were added, then `frames$`. */
  next(frame: Uint8Array): void {
    // A copy-on-write array: a listener that removes itself (or adds one) during the call does
    // not change who gets this frame.
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as FrameListener).frame(frame);
    if (this.frames$.observed) this.frames$.next(frame);
  }

  /** The transport closed: the listeners first (as they got the frames first), then `frames$` completes. */
  complete(): void {
    if (this.ended) return;
    this.ended = true;
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l.end();
    this.frames$.complete();
  }
}
