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
 * The manual's `string[40]` of 20.2.2: exactly `size` bytes, zero-padded when the text is
 * shorter. The value keeps the padding (exactly `size` characters), so any bytes round-trip and
 * generated values need no special rules; `stripZeroPadding` / `zeroPad` convert for display and
 * for building values.
 */
export function fixedString(size: number): Type<string> {
  return {
    shape: { t: 'string', min: size, max: size },
    read(r) {
      const b = r.take(size);
      let s = '';
      for (let i = 0; i < size; i++) s += String.fromCharCode(b[i] as number);
      return s;
    },
    write(w, v) {
      if (v.length !== size) throw new SchemaError('length', w.path, `must be ${size} characters (zero-padded), got ${v.length}`);
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) {
        const c = v.charCodeAt(i);
        if (c > 0xff) throw new SchemaError('range', w.path, `character ${JSON.stringify(v[i])} is not a single byte`);
        b[i] = c;
      }
      w.bytes(b);
    },
  };
}

/** The text of a zero-padded fixed string (up to the first zero byte). */
export function stripZeroPadding(s: string): string {
  const end = s.indexOf('\0');
  return end < 0 ? s : s.slice(0, end);
}

/** Pads `text` with zero bytes to `size` characters (longer text is left for the encoder to refuse). */
export function zeroPad(text: string, size: number): string {
  return text.padEnd(size, '\0');
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
