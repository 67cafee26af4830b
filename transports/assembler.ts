/**
 * Turns the framing byte stream that a link delivers in pieces (SPI data exchanges, Ethernet
 * control frames) into complete HCI frames. A frame left unfinished for 100 ms is dropped, as the
 * module itself does (10.3.1, Sub-ID 0xF0), so one lost piece cannot swallow the next frame.
 */
import { Deframer, type FramingError, encodeFrame, isWholeFrame } from '../codec/frame.js';
import type { Subject } from 'rxjs';
import type { Clock, TimerId } from '../util/clock.js';

/** Manual 10.3.1 (0xF0): a pause longer than 100 ms inside a frame is an RX timeout. */
export const RX_TIMEOUT_MS = 100;

export class FrameAssembler {
  private readonly deframer = new Deframer();
  private timer: TimerId | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly onError: (error: FramingError) => void,
    private readonly timeoutMs = RX_TIMEOUT_MS,
  ) {}

  /** Feeds bytes; `bytes` may be reused by the caller afterwards. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.stopTimer();
    // One whole frame and nothing pending (one Ethernet frame, one SPI exchange of a short frame):
    // the deframer would find exactly it and `rebuild` give the same bytes; one copy instead.
    if (this.deframer.pending === 0 && isWholeFrame(bytes)) {
      this.onFrame(bytes.slice());
      return;
    }
    for (const item of this.deframer.push(new Uint8Array(bytes))) {
      if ('frame' in item) {
        // Re-encode keeps the received checksum byte (0x00 = not computed) exactly as sent.
        this.onFrame(rebuild(item.frame.modId, item.frame.subId, item.frame.reqId, item.frame.payload, item.frame.checksum));
      } else {
        this.onError(item.error);
      }
    }
    if (this.deframer.pending > 0) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        const err = this.deframer.timeout();
        if (err) this.onError(err);
      }, this.timeoutMs);
    }
  }

  /** No partial frame waiting for more bytes. */
  get idle(): boolean {
    return this.deframer.pending === 0;
  }

  /** Drops a partial frame without reporting it (the link was resynchronised). */
  reset(): void {
    this.stopTimer();
    this.deframer.timeout();
  }

  dispose(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function rebuild(modId: number, subId: number, reqId: number, payload: Uint8Array, checksum: number | undefined): Uint8Array {
  const out = encodeFrame({ modId, subId, reqId, payload }, { checksum: false });
  out[out.length - 2] = checksum ?? 0;
  return out;
}

/** The parts of a transport an assembler reports into (eth.ts, spi.ts). */
export interface AssemblerSink {
  readonly counters: { received: number; framingErrors: number };
  /** Where whole frames go (the transport's listeners, then its `frames$`). */
  readonly received: { next(frame: Uint8Array): void };
  readonly framingErrors$: Subject<FramingError>;
}

/** An assembler that counts frames and framing errors and passes them on to the transport's subjects. */
export function sinkAssembler(clock: Clock, sink: AssemblerSink): FrameAssembler {
  return new FrameAssembler(
    clock,
    (frame) => {
      sink.counters.received++;
      sink.received.next(frame);
    },
    (err) => {
      sink.counters.framingErrors++;
      sink.framingErrors$.next(err);
    },
  );
}
