/**
 * HCI framing (manual chapter 10): C0 | ModID | SubID | ReqID | size(16, BE) | payload | checksum | C1.
 * Pure functions and a streaming deframer that survives any chunking.
 */

export const START = 0xc0;
export const END = 0xc1;
export const HEADER_SIZE = 6;
/** Start + header + checksum + end. */
export const OVERHEAD = 8;
/** Manual 10.3.1 (0xF5): the total frame size must not exceed 4096 bytes. */
export const MAX_FRAME_SIZE = 4096;
export const MAX_PAYLOAD_SIZE = MAX_FRAME_SIZE - OVERHEAD;
/** Request ID the module uses for messages not tied to a host request (10.1.3). */
export const STATUS_REQ_ID = 0xff;

export interface Frame {
  modId: number;
  subId: number;
  reqId: number;
  payload: Uint8Array;
  /** The checksum byte as received (0 = not computed). Absent on frames built by the host. */
  checksum?: number;
}

/**
 * The checksum of 10.1.4 over `bytes[from, to)`, the checksum byte itself counted as 0:
 * ones' complement of the ones' complement sum; a result of 0 is sent as 0xFF.
 */
export function computeChecksum(bytes: Uint8Array, from = 0, to = bytes.length, skip = -1): number {
  let sum = 0;
  for (let i = from; i < to; i++) if (i !== skip) sum += bytes[i] as number;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xff) + (sum >>> 8);
  sum = (sum & 0xff) + (sum >>> 8);
  return sum === 0xff ? 0xff : ~sum & 0xff;
}

export interface EncodeFrameOptions {
  /** Compute the checksum (default) or send 0x00, "not computed". */
  checksum?: boolean;
}

export function encodeFrame(frame: Frame, options: EncodeFrameOptions = {}): Uint8Array {
  const n = frame.payload.length;
  if (n > MAX_PAYLOAD_SIZE) throw new RangeError(`payload of ${n} bytes exceeds ${MAX_PAYLOAD_SIZE}`);
  const out = new Uint8Array(n + OVERHEAD);
  out.set(frame.payload, HEADER_SIZE);
  frameAround(out, frame, n, options.checksum ?? true);
  return out;
}

/**
 * Writes the header, checksum and end byte (10.1) around an `n`-byte payload already at
 * `HEADER_SIZE` in `out`; without `checksum` the byte is 0x00, "not computed".
 */
export function frameAround(out: Uint8Array, head: Pick<Frame, 'modId' | 'subId' | 'reqId'>, n: number, checksum: boolean): void {
  out[0] = START;
  out[1] = head.modId;
  out[2] = head.subId;
  out[3] = head.reqId;
  out[4] = n >>> 8;
  out[5] = n & 0xff;
  out[n + 7] = END;
  out[n + 6] = checksum ? computeChecksum(out, 0, n + OVERHEAD, n + 6) : 0;
}

/** Errors the deframer reports; names follow the framing module's status Sub-IDs (10.3.1). */
export type FramingErrorKind = 'missingStart' | 'checksum' | 'missingEnd' | 'lengthMismatch' | 'oversize' | 'rxTimeout';

export interface FramingError {
  kind: FramingErrorKind;
  /** Bytes discarded because of this error. */
  discarded: number;
  detail: string;
}

export type DeframeItem = { frame: Frame } | { error: FramingError };

/** The framing module Sub-ID (module 0xFF status frame) that reports each error kind. */
export const FRAMING_ERROR_SUB_ID: Record<FramingErrorKind, number> = {
  rxTimeout: 0xf0,
  missingStart: 0xf1,
  checksum: 0xf2,
  missingEnd: 0xf3,
  lengthMismatch: 0xf3,
  oversize: 0xf5,
};

/** Validates one complete frame held in `bytes` (exactly one frame, no trailing bytes). */
export function parseFrame(bytes: Uint8Array): DeframeItem {
  if (bytes.length < OVERHEAD || bytes[0] !== START) {
    return { error: { kind: 'missingStart', discarded: bytes.length, detail: 'frame does not begin with 0xC0' } };
  }
  const size = ((bytes[4] as number) << 8) | (bytes[5] as number);
  if (size + OVERHEAD !== bytes.length) {
    return {
      error: { kind: 'lengthMismatch', discarded: bytes.length, detail: `size field says ${size} payload bytes, frame holds ${bytes.length - OVERHEAD}` },
    };
  }
  return checkBody(bytes, 0, size) ?? { frame: frameAt(bytes, 0, size) };
}

/**
 * Whether `bytes` hold exactly one whole, valid frame (start, size, end marker, checksum), the
 * common case of one read: the assembler then passes them on without deframing and re-encoding.
 */
export function isWholeFrame(bytes: Uint8Array): boolean {
  if (bytes.length < OVERHEAD || bytes[0] !== START) return false;
  const size = ((bytes[4] as number) << 8) | (bytes[5] as number);
  return size <= MAX_PAYLOAD_SIZE && size + OVERHEAD === bytes.length && checkBody(bytes, 0, size) === undefined;
}

/**
 * The frame at `at`. `owned`: `buf` belongs to the deframer and is never written again, so the
 * payload can be a view into it (no ArrayBuffer per frame); otherwise the payload is copied.
 */
function frameAt(buf: Uint8Array, at: number, size: number, owned = false): Frame {
  const from = at + HEADER_SIZE;
  return {
    modId: buf[at + 1] as number,
    subId: buf[at + 2] as number,
    reqId: buf[at + 3] as number,
    payload: owned ? buf.subarray(from, from + size) : buf.slice(from, from + size),
    checksum: buf[at + HEADER_SIZE + size] as number,
  };
}

/** End marker and checksum of a frame starting at `at`; undefined when both are right. */
function checkBody(buf: Uint8Array, at: number, size: number): DeframeItem | undefined {
  const total = size + OVERHEAD;
  if (buf[at + total - 1] !== END) {
    return { error: { kind: 'missingEnd', discarded: 1, detail: `no 0xC1 after ${size} payload bytes` } };
  }
  const ck = buf[at + total - 2] as number;
  if (ck !== 0) {
    const expected = computeChecksum(buf, at, at + total, at + total - 2);
    if (expected !== ck) {
      return { error: { kind: 'checksum', discarded: total, detail: `checksum 0x${hex2(ck)}, computed 0x${hex2(expected)}` } };
    }
  }
  return undefined;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * Streaming deframer. Feed arbitrary chunks with `push`; complete frames and framing errors come
 * back in order. After an error it resynchronises at the next 0xC0 after the bad start marker,
 * so a good frame following garbage is always found.
 */
export class Deframer {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length - this.start;
  }

  push(chunk: Uint8Array): DeframeItem[] {
    this.append(chunk);
    const out: DeframeItem[] = [];
    for (;;) {
      const item = this.next();
      if (item === undefined) break;
      out.push(item);
    }
    this.compact();
    return out;
  }

  /**
   * The link was silent mid-frame for too long (the module uses 100 ms, 10.3.1 0xF0): drop the
   * partial frame. Returns the error, or undefined when nothing was pending.
   */
  timeout(): FramingError | undefined {
    const n = this.pending;
    this.buf = new Uint8Array(0);
    this.start = 0;
    return n === 0 ? undefined : { kind: 'rxTimeout', discarded: n, detail: `${n} byte(s) of an unfinished frame dropped` };
  }

  /**
   * Takes a copy of the chunk (merged with pending bytes) that is never written again: frames'
   * payloads are views into it, so a caller reusing its read buffer cannot change them, and one
   * copy per read replaces one per frame (bench/codec.ts). A payload keeps its read's buffer alive.
   */
  private append(chunk: Uint8Array): void {
    if (this.pending === 0) {
      this.buf = chunk.slice();
      this.start = 0;
      return;
    }
    const merged = new Uint8Array(this.pending + chunk.length);
    merged.set(this.buf.subarray(this.start));
    merged.set(chunk, this.pending);
    this.buf = merged;
    this.start = 0;
  }

  private compact(): void {
    if (this.start >= this.buf.length) {
      this.buf = new Uint8Array(0);
      this.start = 0;
    } else if (this.start > 0) {
      // Keep only the unconsumed tail (a view: the buffer is ours and never written again).
      this.buf = this.buf.subarray(this.start);
      this.start = 0;
    }
  }

  private next(): DeframeItem | undefined {
    const buf = this.buf;
    const at = this.start;
    if (at >= buf.length) return undefined;
    if (buf[at] !== START) {
      let skip = at;
      while (skip < buf.length && buf[skip] !== START) skip++;
      this.start = skip;
      return { error: { kind: 'missingStart', discarded: skip - at, detail: `${skip - at} byte(s) before a start marker` } };
    }
    if (buf.length - at < HEADER_SIZE) return undefined;
    const size = ((buf[at + 4] as number) << 8) | (buf[at + 5] as number);
    if (size > MAX_PAYLOAD_SIZE) {
      this.start = at + 1;
      return { error: { kind: 'oversize', discarded: 1, detail: `size field ${size} exceeds ${MAX_PAYLOAD_SIZE}` } };
    }
    const total = size + OVERHEAD;
    if (buf.length - at < total) return undefined;
    const bad = checkBody(buf, at, size);
    if (bad !== undefined) {
      // Resynchronise just after this start marker: the real frame may begin inside.
      if ('error' in bad) bad.error.discarded = 1;
      this.start = at + 1;
      return bad;
    }
    this.start = at + total;
    return { frame: frameAt(buf, at, size, true) };
  }
}

/** Parses "C0 10 40 01 ..." or "c0104001..." (Wireshark copy, with or without spaces/colons). */
export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/0x/gi, '').replace(/[^0-9a-f]/gi, '');
  if (clean.length % 2 !== 0) throw new SyntaxError(`odd number of hex digits (${clean.length})`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array, sep = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i && sep ? sep : '') + hex2(bytes[i] as number);
  return s;
}
