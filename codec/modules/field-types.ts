/**
 * Field types some non-V2G modules need beyond codec/schema.ts: 64-bit timestamps, the
 * Certificate Manager's zero-padded fixed strings, and payload tails without a length prefix
 * (PIB data, firmware chunks, the repeated interface records of Get Interface Info).
 * They follow the same contract as the schema types: big-endian, typed SchemaError naming the field.
 */
import { type Reader, SchemaError, type Type, type Writer } from '../schema.js';

/**
 * uint64 (20.2.2 validity timestamps). A number, not a bigint, so it reads like every other
 * field; values above 2^53 - 1 (not reachable by a Unix time in seconds) are a 'range' error.
 */
export const u64: Type<number> = {
  shape: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  read(r: Reader) {
    const hi = r.u32();
    const lo = r.u32();
    const v = hi * 0x1_0000_0000 + lo;
    if (!Number.isSafeInteger(v)) throw new SchemaError('range', r.path, `${hi}:${lo} exceeds 2^53 - 1`);
    return v;
  },
  write(w: Writer, v: number) {
    if (!Number.isSafeInteger(v) || v < 0) throw new SchemaError('range', w.path, `${v} is outside 0..2^53-1`);
    w.u32(Math.floor(v / 0x1_0000_0000));
    w.u32(v % 0x1_0000_0000);
  },
};

/**
 * The manual's `string[40]` of 20.2.2: exactly `size` bytes, zero-padded when shorter. Bytes
 * after the first zero must all be zero (otherwise re-encoding would not give the same bytes).
 */
export function zeroPaddedString(size: number): Type<string> {
  return {
    shape: { t: 'string', min: 0, max: size },
    read(r) {
      const b = r.take(size);
      let end = b.indexOf(0);
      if (end < 0) end = size;
      for (let i = end; i < size; i++) {
        if (b[i] !== 0) throw new SchemaError('range', r.path, `non-zero byte 0x${(b[i] as number).toString(16)} after the terminating zero at offset ${end}`);
      }
      let s = '';
      for (let i = 0; i < end; i++) s += String.fromCharCode(b[i] as number);
      return s;
    },
    write(w, v) {
      if (v.length > size) throw new SchemaError('length', w.path, `length ${v.length} is outside 0..${size}`);
      const b = new Uint8Array(size);
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c === 0 || c > 0xff) throw new SchemaError('range', w.path, `character ${JSON.stringify(v[i])} cannot be stored in a zero-padded byte string`);
        b[i] = c;
      }
      w.bytes(b);
    },
  };
}

/** The rest of the payload, no length prefix, at most `max` bytes (the manual's bare `uint8[0..N]`). */
export function bytesToEnd(max: number): Type<Uint8Array> {
  return {
    shape: { t: 'bytes', min: 0, max },
    read(r) {
      if (r.remaining > max) throw new SchemaError('length', r.path, `length ${r.remaining} is outside 0..${max}`);
      return r.take(r.remaining);
    },
    write(w, v) {
      if (v.length > max) throw new SchemaError('length', w.path, `length ${v.length} is outside 0..${max}`);
      w.bytes(v);
    },
  };
}

/** Items repeated until the payload ends, without a count (13.3.7 "repeated for the number of interfaces"). */
export function repeatToEnd<T>(item: Type<T>, max: number): Type<T[]> {
  return {
    shape: { t: 'array', min: 0, max, item: item.shape },
    read(r) {
      const base = r.path;
      const out: T[] = [];
      while (r.remaining > 0) {
        if (out.length === max) throw new SchemaError('length', base, `more than ${max} items`);
        r.path = `${base}[${out.length}]`;
        out.push(item.read(r));
      }
      r.path = base;
      return out;
    },
    write(w, v) {
      if (v.length > max) throw new SchemaError('length', w.path, `count ${v.length} is outside 0..${max}`);
      const base = w.path;
      v.forEach((x, i) => {
        w.path = `${base}[${i}]`;
        item.write(w, x);
      });
      w.path = base;
    },
  };
}
