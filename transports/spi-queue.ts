/**
 * The SPI transport's send queue: HCI frames waiting to go out, clocked out in chunks of up to
 * 1500 bytes (9.2.1) that may end in the middle of a frame. A frame's promise settles once its
 * last byte went out, or when the queue fails it.
 */
import { SPI_MAX_PAYLOAD } from '../codec/link-headers.js';
import type { TransportError } from './transport.js';

interface Pending {
  bytes: Uint8Array;
  /** Bytes of this frame already sent. */
  done: number;
  resolve: () => void;
  reject: (e: TransportError) => void;
}

export class SpiSendQueue {
  private readonly queue: Pending[] = [];

  get length(): number {
    return this.queue.length;
  }

  /** Queues a copy of `frame`; the promise settles when it is sent or failed. */
  push(frame: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes: frame.slice(), done: 0, resolve, reject });
    });
  }

  /** Up to 1500 bytes (9.2.1) from the front of the queue, frames back to back. */
  nextChunk(): Uint8Array {
    let n = 0;
    for (const p of this.queue) n += p.bytes.length - p.done;
    const out = new Uint8Array(Math.min(n, SPI_MAX_PAYLOAD));
    let at = 0;
    for (const p of this.queue) {
      if (at >= out.length) break;
      const part = p.bytes.subarray(p.done, p.done + (out.length - at));
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Marks `n` queued bytes as sent, settling the frames that are now complete; returns how many. */
  consume(n: number): number {
    let completed = 0;
    while (n > 0) {
      const p = this.queue[0];
      if (!p) break;
      const take = Math.min(n, p.bytes.length - p.done);
      p.done += take;
      n -= take;
      if (p.done === p.bytes.length) {
        this.queue.shift();
        completed++;
        p.resolve();
      }
    }
    return completed;
  }

  /** Fails the frames already begun (a frame cut in the middle is lost); the rest stay queued. */
  failStarted(err: TransportError): void {
    while (this.queue[0] && this.queue[0].done > 0) this.queue.shift()?.reject(err);
  }

  failAll(err: TransportError): void {
    const q = this.queue.splice(0);
    for (const p of q) p.reject(err);
  }
}
