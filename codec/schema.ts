/**
 * A small declarative schema language for HCI payloads.
 *
 * A message payload is described once as a value (`struct({ ... })` of field types); the same
 * description reads bytes, writes bytes, yields the TypeScript type (`Infer<typeof S>`) and
 * exposes a `shape` that tests turn into fast-check arbitraries. All multi-byte integers are
 * big-endian (manual chapter 10 examples). No Node-only APIs: Uint8Array and DataView only.
 */

import { type Reader, SchemaError, type Writer, checkRange } from './schema-io.js';

export { Reader, SchemaError, type SchemaErrorKind, Writer } from './schema-io.js';
export { type Exponential, type RawExponential, expToNumber, exponential, numberToExp } from './exponential.js';

/** Structural description of a type, for generators (property tests) and docs. */
export type Shape =
  | { t: 'int'; min: number; max: number }
  | { t: 'bool' }
  | { t: 'exp' }
  | { t: 'string'; min: number; max: number }
  | { t: 'bytes'; min: number; max: number }
  | { t: 'array'; min: number; max: number; item: Shape }
  | { t: 'optional'; item: Shape }
  | { t: 'struct'; fields: ReadonlyArray<readonly [string, Shape]> }
  | { t: 'const'; value: number };

/**
 * How a type lies on the wire, for readers outside TypeScript (the Wireshark dissector that
 * scripts/gen-dissector.ts writes from the catalog). `len`: the width of a length/count prefix,
 * a fixed size, or 'rest' (up to the end of the payload). Types without a `wire` (hand-written
 * ones whose layout depends on the bytes) are shown as opaque bytes.
 */
export type Wire =
  | { w: 'int'; size: 1 | 2 | 4 | 8; signed: boolean; names?: readonly string[] }
  | { w: 'bool' }
  | { w: 'exp' }
  | { w: 'const'; value: number }
  | { w: 'bytes'; len: LenWidth | number | 'rest'; text: boolean }
  | { w: 'array'; len: LenWidth | 'rest'; item: Wire }
  | { w: 'optional'; presence: 'byte' | 'trailing'; item: Wire }
  | { w: 'struct'; fields: ReadonlyArray<readonly [string, Wire]> };

export interface Type<T> {
  readonly shape: Shape;
  readonly wire?: Wire;
  read(r: Reader): T;
  write(w: Writer, v: T): void;
}

export type Infer<S> = S extends Type<infer T> ? T : never;

/** Direct calls per width, instead of a by-name `r[width]()` call on every read. */
const READ = {
  u8: (r: Reader) => r.u8(),
  s8: (r: Reader) => r.s8(),
  u16: (r: Reader) => r.u16(),
  s16: (r: Reader) => r.s16(),
  u32: (r: Reader) => r.u32(),
} as const;

/** An integer of the given width; `min`/`max` narrow the accepted range (manual "uint8 (0-4)"). */
function int(width: 'u8' | 's8' | 'u16' | 's16' | 'u32', min: number, max: number): Type<number> {
  const get = READ[width];
  return {
    shape: { t: 'int', min, max },
    wire: { w: 'int', size: width === 'u32' ? 4 : width === 'u16' || width === 's16' ? 2 : 1, signed: width[0] === 's' },
    read(r) {
      const v = get(r);
      if (v < min || v > max) throw new SchemaError('range', r.path, `${v} is outside ${min}..${max}`);
      return v;
    },
    write(w, v) {
      checkRange(w.path, v, min, max);
      w[width](v);
    },
  };
}

export const u8 = int('u8', 0, 0xff);
export const s8 = int('s8', -0x80, 0x7f);
export const u16 = int('u16', 0, 0xffff);
export const s16 = int('s16', -0x8000, 0x7fff);
export const u32 = int('u32', 0, 0xffffffff);

/**
 * uint64 (20.2.2 validity timestamps). A number, not a bigint, so it reads like every other
 * field; values above 2^53 - 1 (not reachable by a Unix time in seconds) are a 'range' error.
 */
export const u64: Type<number> = {
  shape: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  wire: { w: 'int', size: 8, signed: false },
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

/** uint8 restricted to a range, e.g. `u8Range(0, 100)` for SOC. */
export const u8Range = (min: number, max: number): Type<number> => int('u8', min, max);
export const u16Range = (min: number, max: number): Type<number> => int('u16', min, max);

/**
 * A uint8 enumeration. The decoded value is the number; `names` documents the meaning and
 * bounds the range (values outside it are a typed 'range' error, as the manual's "uint8 (0-6)").
 */
export function enumU8<const N extends readonly string[]>(names: N): Type<number> & { names: N } {
  const base = int('u8', 0, names.length - 1);
  return { ...base, wire: { w: 'int', size: 1, signed: false, names }, names };
}

/** boolean: one byte, 0x00 false, 0x01 true; anything else is malformed. */
export const bool: Type<boolean> = {
  shape: { t: 'bool' },
  wire: { w: 'bool' },
  read(r) {
    const v = r.u8();
    if (v > 1) throw new SchemaError('range', r.path, `boolean byte 0x${v.toString(16)} is neither 0 nor 1`);
    return v === 1;
  },
  write(w, v) {
    w.u8(v ? 1 : 0);
  },
};

/** A fixed byte that must have a value (e.g. reserved fields). Decodes to nothing useful. */
export function constU8(value: number): Type<number> {
  return {
    shape: { t: 'const', value },
    wire: { w: 'const', value },
    read(r) {
      const v = r.u8();
      if (v !== value) throw new SchemaError('range', r.path, `expected 0x${value.toString(16)}, got 0x${v.toString(16)}`);
      return v;
    },
    write(w) {
      w.u8(value);
    },
  };
}

type LenWidth = 'u8' | 'u16';

function readLen(r: Reader, width: LenWidth): number {
  return width === 'u8' ? r.u8() : r.u16();
}
function writeLen(w: Writer, width: LenWidth, n: number): void {
  if (width === 'u8') w.u8(n);
  else w.u16(n);
}

/** A byte array prefixed by its length (uint8 unless stated), e.g. the manual's `uint8[0-32]`. */
export function bytes(min: number, max: number, lenWidth: LenWidth = 'u8'): Type<Uint8Array> {
  return {
    shape: { t: 'bytes', min, max },
    wire: { w: 'bytes', len: lenWidth, text: false },
    read(r) {
      const n = readLen(r, lenWidth);
      if (n < min || n > max) throw new SchemaError('length', r.path, `length ${n} is outside ${min}..${max}`);
      return r.take(n);
    },
    write(w, v) {
      if (v.length < min || v.length > max) throw new SchemaError('length', w.path, `length ${v.length} is outside ${min}..${max}`);
      writeLen(w, lenWidth, v.length);
      w.bytes(v);
    },
  };
}

/** A byte array of fixed size with no length prefix (a MAC, a NID). */
export function fixedBytes(size: number): Type<Uint8Array> {
  return {
    shape: { t: 'bytes', min: size, max: size },
    wire: { w: 'bytes', len: size, text: false },
    read(r) {
      return r.take(size);
    },
    write(w, v) {
      if (v.length !== size) throw new SchemaError('length', w.path, `must be ${size} bytes, got ${v.length}`);
      w.bytes(v);
    },
  };
}

/** The bytes left in the payload (ping data, firmware update chunks). */
export const restBytes: Type<Uint8Array> = {
  shape: { t: 'bytes', min: 0, max: 4000 },
  wire: { w: 'bytes', len: 'rest', text: false },
  read(r) {
    return r.take(r.remaining);
  },
  write(w, v) {
    w.bytes(v);
  },
};

/** The rest of the payload, no length prefix, at most `max` bytes (the manual's bare `uint8[0..N]`). */
export function bytesToEnd(max: number): Type<Uint8Array> {
  return {
    shape: { t: 'bytes', min: 0, max },
    wire: { w: 'bytes', len: 'rest', text: false },
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

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
};

/** One byte a character; a character above 0xff is a 'range' error at `path`. */
const latin1Bytes = (path: string, v: string): Uint8Array => {
  const b = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 0xff) throw new SchemaError('range', path, `character ${JSON.stringify(v[i])} is not a single byte`);
    b[i] = c;
  }
  return b;
};

/** A length-prefixed ASCII string, the manual's `String[min...max]`. */
export function string(min: number, max: number, lenWidth: LenWidth = 'u8'): Type<string> {
  const raw = bytes(min, max, lenWidth);
  return {
    shape: { t: 'string', min, max },
    wire: { w: 'bytes', len: lenWidth, text: true },
    read(r) {
      return latin1(raw.read(r));
    },
    write(w, v) {
      raw.write(w, latin1Bytes(w.path, v));
    },
  };
}

/**
 * The manual's `string[40]` of 20.2.2: exactly `size` bytes, zero-padded when the text is
 * shorter. The value keeps the padding (exactly `size` characters), so any bytes round-trip and
 * generated values need no special rules; `stripZeroPadding` / `zeroPad` convert for display and
 * for building values.
 */
export function fixedString(size: number): Type<string> {
  return {
    shape: { t: 'string', min: size, max: size },
    wire: { w: 'bytes', len: size, text: true },
    read(r) {
      return latin1(r.take(size));
    },
    write(w, v) {
      if (v.length !== size) throw new SchemaError('length', w.path, `must be ${size} characters (zero-padded), got ${v.length}`);
      w.bytes(latin1Bytes(w.path, v));
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

/** A counted repeated group: a count (uint8 unless stated) followed by that many items. */
export function array<T>(item: Type<T>, min: number, max: number, countWidth: LenWidth = 'u8'): Type<T[]> {
  return {
    shape: { t: 'array', min, max, item: item.shape },
    ...(item.wire ? { wire: { w: 'array', len: countWidth, item: item.wire } } : {}),
    read(r) {
      const n = readLen(r, countWidth);
      if (n < min || n > max) throw new SchemaError('length', r.path, `count ${n} is outside ${min}..${max}`);
      const base = r.path;
      const out: T[] = [];
      for (let i = 0; i < n; i++) {
        r.path = `${base}[${i}]`;
        out.push(item.read(r));
      }
      r.path = base;
      return out;
    },
    write(w, v) {
      if (v.length < min || v.length > max) throw new SchemaError('length', w.path, `count ${v.length} is outside ${min}..${max}`);
      writeLen(w, countWidth, v.length);
      writeItems(w, item, v);
    },
  };
}

/** Each item at its indexed path (`field[i]`), so errors name the item. */
function writeItems<T>(w: Writer, item: Type<T>, v: T[]): void {
  const base = w.path;
  v.forEach((x, i) => {
    w.path = `${base}[${i}]`;
    item.write(w, x);
  });
  w.path = base;
}

/** Items repeated until the payload ends, without a count (13.3.7 "repeated for the number of interfaces"). */
export function repeatToEnd<T>(item: Type<T>, max: number): Type<T[]> {
  return {
    shape: { t: 'array', min: 0, max, item: item.shape },
    ...(item.wire ? { wire: { w: 'array', len: 'rest', item: item.wire } } : {}),
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
      writeItems(w, item, v);
    },
  };
}

/**
 * An optional field preceded by a presence byte (0x01 present, 0x00 absent): the manual's
 * `type[0-1]` in update/status messages. Absent decodes as `undefined`.
 */
export function optional<T>(item: Type<T>): Type<T | undefined> {
  return {
    shape: { t: 'optional', item: item.shape },
    ...(item.wire ? { wire: { w: 'optional', presence: 'byte', item: item.wire } } : {}),
    read(r) {
      const flag = r.u8();
      if (flag === 0) return undefined;
      if (flag !== 1) throw new SchemaError('range', r.path, `presence byte 0x${flag.toString(16)} is neither 0 nor 1`);
      return item.read(r);
    },
    write(w, v) {
      if (v === undefined) {
        w.u8(0);
        return;
      }
      w.u8(1);
      item.write(w, v);
    },
  };
}

/**
 * A field that is present only when bytes remain (trailing fields some firmware versions add,
 * or parameters the manual marks "only present when ..."). Absent decodes as `undefined`.
 */
export function trailing<T>(item: Type<T>): Type<T | undefined> {
  return {
    shape: { t: 'optional', item: item.shape },
    ...(item.wire ? { wire: { w: 'optional', presence: 'trailing', item: item.wire } } : {}),
    read(r) {
      return r.remaining === 0 ? undefined : item.read(r);
    },
    write(w, v) {
      if (v !== undefined) item.write(w, v);
    },
  };
}

type Fields = Record<string, Type<unknown>>;

/** A struct's layout, as far as its fields describe theirs: after an opaque field, nothing is known. */
function structWire(entries: Array<[string, Type<unknown>]>): { wire: Wire } {
  const fields: Array<readonly [string, Wire]> = [];
  for (const [k, t] of entries) {
    fields.push([k, t.wire ?? { w: 'bytes', len: 'rest', text: false }]);
    if (!t.wire) break;
  }
  return { wire: { w: 'struct', fields } };
}

/** Optional keys for fields whose type admits undefined, so literals need not spell them. */
type StructValue<F extends Fields> = {
  [K in keyof F as undefined extends Infer<F[K]> ? never : K]: Infer<F[K]>;
} & {
  [K in keyof F as undefined extends Infer<F[K]> ? K : never]?: Infer<F[K]>;
};

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type Struct<F extends Fields> = Type<Simplify<StructValue<F>>> & { readonly fields: F };

/** An ordered record of fields; the object key order is the wire order. */
export function struct<F extends Fields>(fields: F): Struct<F> {
  const entries = Object.entries(fields) as Array<[string, Type<unknown>]>;
  const keys = entries.map(([k]) => k);
  const types = entries.map(([, t]) => t);
  const n = keys.length;
  return {
    fields,
    shape: { t: 'struct', fields: entries.map(([k, t]) => [k, t.shape] as const) },
    ...structWire(entries),
    read(r) {
      const base = r.path;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = keys[i] as string;
        r.path = base ? `${base}.${k}` : k;
        const v = (types[i] as Type<unknown>).read(r);
        if (v !== undefined) out[k] = v;
      }
      r.path = base;
      return out as Simplify<StructValue<F>>;
    },
    write(w, v) {
      const base = w.path;
      const rec = v as Record<string, unknown>;
      for (let i = 0; i < n; i++) {
        const k = keys[i] as string;
        w.path = base ? `${base}.${k}` : k;
        (types[i] as Type<unknown>).write(w, rec[k]);
      }
      w.path = base;
    },
  };
}

export const empty = struct({});
