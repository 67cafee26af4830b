/**
 * The transport contract: transports move complete HCI frames (bytes from 0xC0 to 0xC1) and know
 * nothing of their meaning. Received frames come as an RxJS stream; `send` resolves when the frame
 * was handed to the medium and rejects with a `TransportError`.
 */
import type { Observable } from 'rxjs';

export type TransportErrorKind = 'notPermitted' | 'noSuchInterface' | 'interfaceDown' | 'libraryMissing' | 'openFailed' | 'closed' | 'sendFailed' | 'outOfSync' | 'timeout';

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export type LinkState = { up: true } | { up: false; reason: string; error?: TransportError };

/** A direct receiver of a transport's frames (`Transport.listen`). */
export interface FrameListener {
  /** A complete HCI frame from the other side. */
  frame(bytes: Uint8Array): void;
  /** The transport closed: no more frames. */
  end(): void;
}

export interface Transport {
  /** Complete HCI frames received from the other side. Completes when the transport closes. */
  readonly frames$: Observable<Uint8Array>;
  /**
   * Optional: the same frames by a plain call, before `frames$`'s subscribers get them (the HCI
   * client's path from a status to its answer; transports/frame-outlet.ts). Returns the removal.
   * Transports without it are read through `frames$`.
   */
  listen?(listener: FrameListener): () => void;
  /** Current link state first, then every change. */
  readonly linkState$: Observable<LinkState>;
  send(frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
