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

export interface Transport {
  /** Complete HCI frames received from the other side. Completes when the transport closes. */
  readonly frames$: Observable<Uint8Array>;
  /** Current link state first, then every change. */
  readonly linkState$: Observable<LinkState>;
  send(frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
