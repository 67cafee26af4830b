/**
 * A writer per schema, derived once from its description (`wire` and `shape`, codec/schema.ts),
 * for the hot path: the request the host sends in answer to a status, 5 times a second in the
 * charge loop (docs/performance.md, target 1: the encode was ~35 µs of a cold reaction). The
 * generic interpreter (`Type.write`) walks the schema per call: a field path string per field,
 * a growable `Writer` (64 bytes, doubled on demand, sliced at the end), then `encodeFrame` copies
 * the payload once more into the frame. The compiled writer is one small closure per field that
 * writes straight into the frame's place in a scratch buffer; the frame is sliced out once.
 *
 * The counterpart of codec/schema-compile.ts (reading), with the same contract: it only answers
 * for values it is sure of (in range, the right kind, a schema it knows); on anything else it
 * gives up and the caller runs the generic writer, which gives the bytes or the error with its
 * field path. So the frames are the generic writer's, byte for byte, and the schemas stay the
 * single description (test/codec/schema-write.test.ts checks it for every request schema).
 * Pure: no I/O.
 */
import { EXP_PARTS, expParts } from './exponential.js';
import { frameAround, HEADER_SIZE, MAX_PAYLOAD_SIZE, OVERHEAD } from './frame.js';
import type { Shape, Type, Wire } from './schema.js';

/**
 * Where the payload is written and how far: module state, as in the compiled reader (each
 * field's closure reads context slots, not a cursor's properties). A write runs to completion
 * synchronously and calls nothing outside this file but `expParts`, so no two interleave.
 * The scratch buffer holds the largest frame; a write past it is caught by the length check at
 * the end (typed-array stores out of range are dropped, `set` throws: both give up).
 */
const SCRATCH = new Uint8Array(MAX_PAYLOAD_SIZE + OVERHEAD);
let P = 0;

type Write = (v: unknown) => void;

/** Thrown to give up (not an Error: no stack trace to capture). */
const MISS = { miss: true } as const;

/** The integer widths the generic `int` writes; the range (and integer check) is the shape's. */
function intWrite(size: number, signed: boolean, min: number, max: number): Write | undefined {
  const check = (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw MISS;
    return v;
  };
  if (size === 1) {
    return (v) => {
      SCRATCH[P++] = check(v);
    };
  }
  if (size === 2) {
    return (v) => {
      const n = check(v);
      const p = P;
      SCRATCH[p] = n >>> 8;
      SCRATCH[p + 1] = n;
      P = p + 2;
    };
  }
  // 4-byte signed and 8-byte integers are hand-written types (codec/modules): the generic writer.
  if (size === 4 && !signed) {
    return (v) => {
      const n = check(v);
      const p = P;
      SCRATCH[p] = n >>> 24;
      SCRATCH[p + 1] = n >>> 16;
      SCRATCH[p + 2] = n >>> 8;
      SCRATCH[p + 3] = n;
      P = p + 4;
    };
  }
  return undefined;
}

const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** A number through `expParts` (numberToExp's choice of representation), or the raw pair as given. */
const expWrite: Write = (v) => {
  let value: unknown;
  let exponent: unknown;
  if (typeof v === 'number') {
    if (!expParts(v)) throw MISS;
    value = EXP_PARTS.value;
    exponent = EXP_PARTS.exponent;
  } else if (typeof v === 'object' && v !== null) {
    value = (v as { value?: unknown }).value;
    exponent = (v as { exponent?: unknown }).exponent;
  } else {
    throw MISS;
  }
  if (!isInt(value, -0x8000, 0x7fff) || !isInt(exponent, -0x80, 0x7f)) throw MISS;
  const p = P;
  SCRATCH[p] = (value as number) >>> 8;
  SCRATCH[p + 1] = value as number;
  SCRATCH[p + 2] = exponent as number;
  P = p + 3;
};

/** The generic `bool` writes any truthy value as 1. */
const boolWrite: Write = (v) => {
  SCRATCH[P++] = v ? 1 : 0;
};

function lenWrite(len: 'u8' | 'u16', n: number): void {
  if (len === 'u8') SCRATCH[P++] = n;
  else {
    SCRATCH[P] = n >>> 8;
    SCRATCH[P + 1] = n;
    P += 2;
  }
}

/** Counted, fixed-size or up-to-the-end bytes; text as latin1 (a character above 0xff gives up). */
function bytesWrite(len: 'u8' | 'u16' | number | 'rest', text: boolean, min: number, max: number): Write {
  return (v) => {
    let n: number;
    if (text) {
      if (typeof v !== 'string') throw MISS;
      n = v.length;
    } else {
      if (!(v instanceof Uint8Array)) throw MISS;
      n = v.length;
    }
    if (typeof len === 'number' ? n !== len : n < min || n > max) throw MISS;
    if (len === 'u8' || len === 'u16') lenWrite(len, n);
    const p = P;
    if (text) {
      const s = v as string;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) throw MISS;
        SCRATCH[p + i] = c;
      }
    } else {
      SCRATCH.set(v as Uint8Array, p);
    }
    P = p + n;
  };
}

function structWrite(keys: readonly string[], writes: readonly Write[]): Write {
  const n = keys.length;
  return (v) => {
    if (typeof v !== 'object' || v === null) throw MISS;
    const rec = v as Record<string, unknown>;
    for (let i = 0; i < n; i++) (writes[i] as Write)(rec[keys[i] as string]);
  };
}

/**
 * The writer of a type, from its `wire` and `shape`, or undefined when they do not say enough
 * (hand-written types without a `wire`, 64-bit integers).
 */
function compile(type: Type<unknown>): Write | undefined {
  const fields = (type as { fields?: Record<string, Type<unknown>> }).fields;
  const wire = type.wire;
  if (!wire) return undefined;
  if (wire.w === 'struct') {
    if (!fields || type.shape.t !== 'struct') return undefined;
    const keys = Object.keys(fields);
    const writes: Write[] = [];
    for (const k of keys) {
      const w = compile(fields[k] as Type<unknown>);
      if (!w) return undefined;
      writes.push(w);
    }
    return structWrite(keys, writes);
  }
  return compileLeaf(wire, type.shape);
}

function compileLeaf(wire: Wire, shape: Shape): Write | undefined {
  switch (wire.w) {
    case 'int':
      return shape.t === 'int' ? intWrite(wire.size, wire.signed, shape.min, shape.max) : undefined;
    case 'bool':
      return shape.t === 'bool' ? boolWrite : undefined;
    case 'exp':
      return shape.t === 'exp' ? expWrite : undefined;
    case 'const': {
      // The generic `constU8` writes its value whatever it is given.
      const value = wire.value;
      return () => {
        SCRATCH[P++] = value;
      };
    }
    case 'bytes':
      if (shape.t !== (wire.text ? 'string' : 'bytes') || (wire.len === 'rest' && wire.text)) return undefined;
      return bytesWrite(wire.len, wire.text, shape.min, shape.max);
    case 'optional': {
      if (shape.t !== 'optional') return undefined;
      const item = compileWire(wire.item, shape.item);
      if (!item) return undefined;
      if (wire.presence === 'trailing') {
        return (v) => {
          if (v !== undefined) item(v);
        };
      }
      return (v) => {
        if (v === undefined) SCRATCH[P++] = 0;
        else {
          SCRATCH[P++] = 1;
          item(v);
        }
      };
    }
    case 'array': {
      if (shape.t !== 'array') return undefined;
      const item = compileWire(wire.item, shape.item);
      if (!item) return undefined;
      const { len } = wire;
      // A counted array's bounds are its count's; `repeatToEnd` checks only its maximum.
      const min = len === 'rest' ? 0 : shape.min;
      const { max } = shape;
      return (v) => {
        if (!Array.isArray(v) || v.length < min || v.length > max) throw MISS;
        if (len !== 'rest') lenWrite(len, v.length);
        for (let i = 0; i < v.length; i++) {
          // The generic writer's `forEach` skips holes of a sparse array.
          if (!(i in v)) throw MISS;
          item(v[i]);
        }
      };
    }
    default:
      return undefined;
  }
}

/** Items of arrays and optionals are known by their wire and shape only (no Type at hand). */
function compileWire(wire: Wire, shape: Shape): Write | undefined {
  if (wire.w !== 'struct') return compileLeaf(wire, shape);
  if (shape.t !== 'struct' || shape.fields.length !== wire.fields.length) return undefined;
  const keys: string[] = [];
  const writes: Write[] = [];
  for (let i = 0; i < wire.fields.length; i++) {
    const [k, fw] = wire.fields[i] as readonly [string, Wire];
    const fs = shape.fields[i] as readonly [string, Shape];
    // A struct's wire stops after an opaque field (schema.ts structWire).
    if (fs[0] !== k) return undefined;
    const w = compileWire(fw, fs[1]);
    if (!w) return undefined;
    keys.push(k);
    writes.push(w);
  }
  return structWrite(keys, writes);
}

export interface FrameHead {
  modId: number;
  subId: number;
  reqId: number;
}

/**
 * A compiled frame writer: the whole frame (as `encodeFrame` builds it) when the value fits, else
 * undefined. `prefix`: a byte written before the value (a response's result code, as
 * `encodeResponse` puts it before the response's fields).
 */
export type CompiledFrameWrite = (head: FrameHead, value: unknown, checksum: boolean, prefix?: number) => Uint8Array | undefined;

/** Compiled once per schema value, at first use; null: not compilable. */
const cache = new WeakMap<Type<unknown>, CompiledFrameWrite | null>();

/**
 * The compiled frame writer of `type` (a request, response or status payload schema), built at its first
 * use and kept with it; undefined when the schema cannot be compiled (the caller uses
 * `encodeWith` and `encodeFrame`).
 */
export function compiledFrameWriter(type: Type<unknown>): CompiledFrameWrite | undefined {
  let w = cache.get(type);
  if (w === undefined) {
    const write = compile(type);
    w = write ? (head, value, checksum, prefix) => frameWith(write, head, value, checksum, prefix) : null;
    cache.set(type, w);
  }
  return w ?? undefined;
}

/** The payload written in place behind the header, then the header, checksum and end around it. */
function frameWith(write: Write, head: FrameHead, value: unknown, checksum: boolean, prefix: number | undefined): Uint8Array | undefined {
  P = HEADER_SIZE;
  if (prefix !== undefined) SCRATCH[P++] = prefix;
  try {
    write(value);
  } catch {
    // MISS, or a value that made `set` run past the scratch buffer: the generic writer decides.
    return undefined;
  }
  const n = P - HEADER_SIZE;
  if (n > MAX_PAYLOAD_SIZE) return undefined;
  frameAround(SCRATCH, head, n, checksum);
  return SCRATCH.slice(0, n + OVERHEAD);
}
