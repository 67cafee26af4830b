/**
 * A reader per schema, derived once from its description (the `wire` and `shape` every schema
 * constructor declares in codec/schema.ts), for the hot path: status messages decoded on every
 * frame of the charge loop. The generic interpreter (`Type.read`) walks the schema per call:
 * a field path string, a `read` -> width getter -> `Reader.need` chain per field. Run ~5 times a
 * second, that code is always cold (docs/performance.md, target 1: 56-65 µs per status on the
 * wire, 3.4 µs warm). The compiled reader is one small closure per field, no path strings.
 *
 * It only ever answers for payloads that fit exactly: on anything else (short, bytes left over,
 * a value out of range, a type it does not know) it gives up and the caller runs the generic
 * reader, which produces the error with its field path. So it need only be as strict as the
 * generic reader, never explain anything, and the schemas stay the single description.
 * test/codec/schema-compile.test.ts checks both agree for every status schema. Pure: no I/O.
 */
import { expValue } from './exponential.js';
import type { Shape, Type, Wire } from './schema.js';

/**
 * The payload being read, its end, the position and the exponential mode: module state rather
 * than a cursor object, so each field's closure reads context slots, not object properties
 * (fewer interpreter steps on a cold call). A read runs to completion synchronously, calling no
 * code outside this file, so no two reads interleave.
 */
const EMPTY = new Uint8Array(0);
let B: Uint8Array = EMPTY;
let END = 0;
let P = 0;
let RAW = false;

type Read = () => unknown;

/**
 * A compiled reader: the value when the payload (from `start`, 0 if not given) fits the schema
 * exactly, else undefined. A response's fields start at 1, after its result code.
 */
export type CompiledRead = (payload: Uint8Array, rawExponentials: boolean, start?: number) => { value: unknown } | undefined;

/** Thrown to give up (not an Error: no stack trace to capture). */
const MISS = { miss: true } as const;

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
};

/** Reads of the integer widths the generic `int` knows; the range is the shape's. */
function intRead(size: number, signed: boolean, min: number, max: number): Read | undefined {
  if (size === 1) {
    return () => {
      const p = P;
      if (p >= END) throw MISS;
      P = p + 1;
      const v = signed ? ((B[p] as number) << 24) >> 24 : (B[p] as number);
      if (v < min || v > max) throw MISS;
      return v;
    };
  }
  if (size === 2) {
    return () => {
      const p = P;
      if (p + 2 > END) throw MISS;
      P = p + 2;
      const b = B;
      const u = ((b[p] as number) << 8) | (b[p + 1] as number);
      const v = signed ? (u << 16) >> 16 : u;
      if (v < min || v > max) throw MISS;
      return v;
    };
  }
  // 4-byte signed and 8-byte integers are hand-written types (codec/modules): the generic reader.
  if (size !== 4 || signed) return undefined;
  return () => {
    const p = P;
    if (p + 4 > END) throw MISS;
    P = p + 4;
    const b = B;
    const v = (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
    if (v < min || v > max) throw MISS;
    return v;
  };
}

const expRead: Read = () => {
  const p = P;
  if (p + 3 > END) throw MISS;
  P = p + 3;
  const b = B;
  const value = ((((b[p] as number) << 8) | (b[p + 1] as number)) << 16) >> 16;
  const exponent = ((b[p + 2] as number) << 24) >> 24;
  return RAW ? { value, exponent } : expValue(value, exponent);
};

const boolRead: Read = () => {
  const p = P;
  if (p >= END) throw MISS;
  P = p + 1;
  const v = B[p] as number;
  if (v > 1) throw MISS;
  return v === 1;
};

/** Counted (u8/u16 length, within the shape's bounds) or fixed-size bytes; text as latin1. */
function bytesRead(len: 'u8' | 'u16' | number, text: boolean, min: number, max: number): Read {
  return () => {
    let p = P;
    const b = B;
    let n: number;
    if (typeof len === 'number') n = len;
    else {
      const w = len === 'u8' ? 1 : 2;
      if (p + w > END) throw MISS;
      n = w === 1 ? (b[p] as number) : ((b[p] as number) << 8) | (b[p + 1] as number);
      p += w;
      if (n < min || n > max) throw MISS;
    }
    if (p + n > END) throw MISS;
    P = p + n;
    const out = b.slice(p, p + n);
    return text ? latin1(out) : out;
  };
}

function structRead(keys: readonly string[], reads: readonly Read[]): Read {
  const n = keys.length;
  return () => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const v = (reads[i] as Read)();
      if (v !== undefined) out[keys[i] as string] = v;
    }
    return out;
  };
}

/**
 * The reader of a type, from its `wire` and `shape`, or undefined when they do not say enough
 * (hand-written types, 'rest' lengths whose bounds the shape does not state reliably).
 */
function compile(type: Type<unknown>): Read | undefined {
  const fields = (type as { fields?: Record<string, Type<unknown>> }).fields;
  const wire = type.wire;
  const shape = type.shape;
  if (!wire) return undefined;
  if (wire.w === 'struct') {
    if (!fields || shape.t !== 'struct') return undefined;
    const keys = Object.keys(fields);
    const reads: Read[] = [];
    for (const k of keys) {
      const r = compile(fields[k] as Type<unknown>);
      if (!r) return undefined;
      reads.push(r);
    }
    return structRead(keys, reads);
  }
  return compileLeaf(wire, shape);
}

/** Leaves and their wrappers, from the wire alone (with the shape's bounds). */
function compileLeaf(wire: Wire, shape: Shape): Read | undefined {
  switch (wire.w) {
    case 'int':
      return shape.t === 'int' ? intRead(wire.size, wire.signed, shape.min, shape.max) : undefined;
    case 'bool':
      return shape.t === 'bool' ? boolRead : undefined;
    case 'exp':
      return shape.t === 'exp' ? expRead : undefined;
    case 'const': {
      const value = wire.value;
      return intRead(1, false, value, value);
    }
    case 'bytes':
      if (wire.len === 'rest' || (shape.t !== 'bytes' && shape.t !== 'string')) return undefined;
      return bytesRead(wire.len, wire.text, shape.min, shape.max);
    case 'optional': {
      if (shape.t !== 'optional') return undefined;
      const item = compileWire(wire.item, shape.item);
      if (!item) return undefined;
      if (wire.presence === 'trailing') return () => (P === END ? undefined : item());
      return () => {
        const p = P;
        if (p >= END) throw MISS;
        P = p + 1;
        const flag = B[p];
        if (flag === 0) return undefined;
        if (flag !== 1) throw MISS;
        return item();
      };
    }
    case 'array': {
      if (wire.len === 'rest' || shape.t !== 'array') return undefined;
      const item = compileWire(wire.item, shape.item);
      if (!item) return undefined;
      const w = wire.len === 'u8' ? 1 : 2;
      const { min, max } = shape;
      return () => {
        const p = P;
        const b = B;
        if (p + w > END) throw MISS;
        const n = w === 1 ? (b[p] as number) : ((b[p] as number) << 8) | (b[p + 1] as number);
        P = p + w;
        if (n < min || n > max) throw MISS;
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(item());
        return out;
      };
    }
    default:
      return undefined;
  }
}

/** Items of arrays and optionals are known by their wire and shape only (no Type at hand). */
function compileWire(wire: Wire, shape: Shape): Read | undefined {
  if (wire.w !== 'struct') return compileLeaf(wire, shape);
  if (shape.t !== 'struct' || shape.fields.length !== wire.fields.length) return undefined;
  const keys: string[] = [];
  const reads: Read[] = [];
  for (let i = 0; i < wire.fields.length; i++) {
    const [k, fw] = wire.fields[i] as readonly [string, Wire];
    const fs = shape.fields[i] as readonly [string, Shape];
    // A struct's wire stops after an opaque field (schema.ts structWire): lengths then differ.
    if (fs[0] !== k) return undefined;
    const r = compileWire(fw, fs[1]);
    if (!r) return undefined;
    keys.push(k);
    reads.push(r);
  }
  return structRead(keys, reads);
}

/** Compiled once per schema value, at first use; null: not compilable. */
const cache = new WeakMap<Type<unknown>, CompiledRead | null>();

/**
 * The compiled reader of `type`, built at its first use and kept with it; undefined when the
 * schema cannot be compiled (the caller uses `decodeWith`).
 */
export function compiledReader(type: Type<unknown>): CompiledRead | undefined {
  let r = cache.get(type);
  if (r === undefined) {
    const read = compile(type);
    r = read
      ? (payload, raw, start) => {
          B = payload;
          END = payload.length;
          P = start ?? 0;
          RAW = raw;
          try {
            const value = read();
            return P === END ? { value } : undefined;
          } catch (e) {
            if (e === MISS) return undefined;
            throw e;
          } finally {
            B = EMPTY; // the payload is not kept alive
          }
        }
      : null;
    cache.set(type, r);
  }
  return r ?? undefined;
}
