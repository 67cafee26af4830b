/**
 * The framing module's Ping and Ping Reply (manual 10.3.2) beside the client's general request
 * path. An idle host pings every 1.7 s (machines/liveness.ts), and at rest that round trip is all
 * it does (docs/performance.md, issue 12 target 2): it runs once per 1.7 s, cold and
 * unoptimised, so every parse, decode and object on it costs. Here a Ping's traffic record is
 * made from a message decoded once, and a Ping Reply is recognised on its eight bytes before any
 * parse. The records are the ones the general path gives (same fields, same order).
 */
import { type DecodedMessage, decodeMessage } from '../codec/catalog.js';
import { OVERHEAD, START, encodeFrame, isWholeFrame, parseFrame } from '../codec/frame.js';
import { HciError } from './hci-types.js';
import type { Clock } from '../util/clock.js';

/** Module ID of the framing module, whose Ping needs no set-up (10.3). */
export const FRAMING_MOD_ID = 0x0e;
export const PING_SUB_ID = 0x00;
export const PING_REPLY_SUB_ID = 0x01;

const NO_PAYLOAD = new Uint8Array(0);

/** The Ping's frame and the decoded messages of a Ping and its reply, from templates decoded once. */
export class PingTemplates {
  private request: DecodedMessage | undefined;
  private reply: DecodedMessage | undefined;

  /** A Ping frame (built per Ping: frames handed on are never shared). */
  frame(reqId: number): Uint8Array {
    return encodeFrame({ modId: FRAMING_MOD_ID, subId: PING_SUB_ID, reqId, payload: NO_PAYLOAD });
  }

  /** The Ping as `decodeMessage(..., { direction: 'toModule' })` gives it. */
  requestMessage(reqId: number): DecodedMessage | undefined {
    this.request ??= decodeTemplate(PING_SUB_ID, 'toModule');
    return this.request && withReqId(this.request, reqId);
  }

  /**
   * Whether `bytes` are a whole Ping Reply without payload (start, header, end marker, checksum:
   * what `parseFrame` accepts), told from its header bytes before anything is parsed.
   */
  isReply(bytes: Uint8Array): boolean {
    return bytes.length === OVERHEAD && bytes[0] === START && bytes[1] === FRAMING_MOD_ID && bytes[2] === PING_REPLY_SUB_ID && isWholeFrame(bytes);
  }

  /** The reply (`isReply(bytes)`) as `decodeMessage(..., { direction: 'toHost' })` gives it. */
  replyMessage(bytes: Uint8Array): DecodedMessage | undefined {
    this.reply ??= decodeTemplate(PING_REPLY_SUB_ID, 'toHost');
    return this.reply && withReqId(this.reply, bytes[3] as number);
  }
}

function decodeTemplate(subId: number, direction: 'toModule' | 'toHost'): DecodedMessage | undefined {
  const parsed = parseFrame(encodeFrame({ modId: FRAMING_MOD_ID, subId, reqId: 0, payload: NO_PAYLOAD }));
  if ('error' in parsed) return undefined;
  const r = decodeMessage(parsed.frame, { direction });
  if (!r.ok) return undefined;
  // Shared by every record made from it: an empty payload, nothing in it to change.
  Object.freeze(r.message.fields);
  return r.message;
}

/** The template with another request ID, its properties in `decodeMessage`'s order. */
function withReqId(t: DecodedMessage, reqId: number): DecodedMessage {
  return { def: t.def, module: t.module, message: t.message, modId: t.modId, subId: t.subId, reqId, direction: t.direction, fields: t.fields };
}

/** Liveness Pings out, each waiting for any Ping Reply (any reply proves the module is there). */
export class PingWaiters {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** A promise that resolves at the next `answered()` and rejects after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const answered = (): void => {
        this.clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(answered);
        reject(new HciError('timeout', 'Framing.Ping', `Framing.Ping: no Ping Reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(answered);
    });
  }

  answered(): void {
    if (this.waiters.size === 0) return;
    const all = [...this.waiters];
    this.waiters.clear();
    for (const answered of all) answered();
  }
}
