/**
 * The byte level of the schema language (codec/schema.ts): the error the interpreter throws, and
 * the big-endian reader and writer every field type uses.
 */

/** Why a payload did not match its schema. */
export type SchemaErrorKind = 'short' | 'extra' | 'range' | 'length';

/** Thrown inside the interpreter only; `decodePayload` turns it into a value. */
export class SchemaError extends Error {
  constructor(
    readonly kind: SchemaErrorKind,
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'SchemaError';
  }
}

/**
 * Reads a payload; the current field path is kept for error messages. Big-endian integers are
 * assembled from the bytes directly: a DataView per payload cost more than the reads (bench/codec.ts).
 */
export class Reader {
  pos: number;
  path = '';
  /** Decode exponentials as `{ value, exponent }` (byte-exact round trip) instead of numbers. */
  readonly rawExponentials: boolean;

  constructor(
    readonly bytes: Uint8Array,
    options?: { rawExponentials?: boolean },
  ) {
    this.pos = 0;
    this.rawExponentials = options?.rawExponentials ?? false;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new SchemaError('short', this.path, `needs ${n} byte(s) at offset ${this.pos}, payload has ${this.bytes.length}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }
  s8(): number {
    this.need(1);
    return ((this.bytes[this.pos++] as number) << 24) >> 24;
  }
  u16(): number {
    this.need(2);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }
  s16(): number {
    return (this.u16() << 16) >> 16;
  }
  u32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Appends to a growable buffer (big-endian bytes written directly, no DataView). */
export class Writer {
  private buf: Uint8Array;
  length = 0;
  path = '';

  constructor(initialSize = 64) {
    this.buf = new Uint8Array(initialSize);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  // A Uint8Array store keeps the low 8 bits (two's complement for negatives), as DataView did.
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }
  s8(v: number): void {
    this.u8(v);
  }
  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.length;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.length = p + 2;
  }
  s16(v: number): void {
    this.u16(v);
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.length;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.length = p + 4;
  }
  bytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.length);
    this.length += v.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A number outside [min, max] is a 'range' error at `path`. */
export function checkRange(path: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new SchemaError('range', path, `${v} is outside ${min}..${max}`);
  }
}
