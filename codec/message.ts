/**
 * Message definitions: one value per HCI message, from which encoder, decoder and types come.
 *
 * A configuration command (Sub-ID 0x40-0x7F, and a few modules' 0x00-0x3F data transfers) has a
 * request schema (host -> module) and a response schema (module -> host, result code first,
 * 10.1.5). A status message (mostly 0x80-0xFF) has one payload schema and travels module -> host
 * with request ID 0xFF.
 */
import { compiledReader } from './schema-compile.js';
import { type Infer, Reader, SchemaError, type Struct, type Type, Writer, struct, u8 } from './schema.js';

export type ModuleName = 'Framing' | 'FramingError' | 'System' | 'Time' | 'NetworkConfiguration' | 'FirmwareUpdate' | 'ControlPilot' | 'Slac' | 'Plc' | 'V2g' | 'Gpio' | 'CertificateManager';

/** Which module side a message belongs to (V2G EV vs EVSE commands, CP EV/EVSE-only commands). */
export type Role = 'EV' | 'EVSE';

interface DefBase<N extends string> {
  readonly module: ModuleName;
  readonly modId: number;
  readonly subId: number;
  readonly name: N;
  /** Manual section, e.g. "18.10.4". */
  readonly section: string;
  /** Set when only one module type supports the message. */
  readonly role?: Role;
}

export interface CommandDef<N extends string = string, Req = unknown, Res = unknown> extends DefBase<N> {
  readonly kind: 'command';
  readonly request: Type<Req>;
  /** Response fields after the result code; decoded only when the code is 0 or bytes follow. */
  readonly response: Type<Res>;
}

export interface StatusDef<N extends string = string, P = unknown> extends DefBase<N> {
  readonly kind: 'status';
  readonly payload: Type<P>;
}

export type MessageDef = CommandDef | StatusDef;

type Fields = Record<string, Type<unknown>>;

interface CommandSpec<N extends string, Q extends Fields, S extends Fields> {
  name: N;
  subId: number;
  section: string;
  role?: Role;
  request?: Q;
  response?: S;
}

interface StatusSpec<N extends string, P extends Fields> {
  name: N;
  subId: number;
  section: string;
  role?: Role;
  payload?: P;
}

/** A module's definition helpers, bound to its name and module ID. */
export function moduleDefs(module: ModuleName, modId: number) {
  /** What every definition of the module carries (role only where the manual gives one). */
  const head = (spec: { name: string; subId: number; section: string; role?: Role }) => ({
    module,
    modId,
    subId: spec.subId,
    name: spec.name,
    section: spec.section,
    ...(spec.role ? { role: spec.role } : {}),
  });
  return {
    command<N extends string, Q extends Fields = Record<never, never>, S extends Fields = Record<never, never>>(spec: CommandSpec<N, Q, S>): CommandDef<N, Infer<Struct<Q>>, Infer<Struct<S>>> {
      return {
        kind: 'command',
        ...head(spec),
        name: spec.name,
        request: struct(spec.request ?? ({} as Q)),
        response: struct(spec.response ?? ({} as S)),
      };
    },
    /** A command whose request or response is not a plain struct (e.g. code-dependent layouts). */
    commandOf<N extends string, Req, Res>(spec: { name: N; subId: number; section: string; role?: Role; request: Type<Req>; response: Type<Res> }): CommandDef<N, Req, Res> {
      return { kind: 'command', module, modId, ...spec };
    },
    status<N extends string, P extends Fields = Record<never, never>>(spec: StatusSpec<N, P>): StatusDef<N, Infer<Struct<P>>> {
      return {
        kind: 'status',
        ...head(spec),
        name: spec.name,
        payload: struct(spec.payload ?? ({} as P)),
      };
    },
  };
}

export type RequestOf<D> = D extends CommandDef<string, infer Q, unknown> ? Q : never;
export type ResponseOf<D> = D extends CommandDef<string, unknown, infer S> ? S : never;
export type PayloadOf<D> = D extends StatusDef<string, infer P> ? P : never;

/** Generic result codes of 10.1.5, plus module-specific ones (V2G 18.x). */
export const RESULT_CODES: Record<number, string> = {
  0: 'accepted',
  1: 'busy',
  2: 'unknownSubId',
  3: 'unknownCommand',
  4: 'malformedData',
  5: 'unexpectedMessage',
  255: 'internalError',
};

export const ResultCode = {
  accepted: 0x00,
  busy: 0x01,
  unknownSubId: 0x02,
  unknownCommand: 0x03,
  malformedData: 0x04,
  unexpectedMessage: 0x05,
  internalError: 0xff,
} as const;

/** Codes some modules add to 10.1.5 (name by module). Filled in by the module files. */
export const MODULE_RESULT_CODES: Partial<Record<ModuleName, Record<number, string>>> = {};

export function resultCodeName(module: ModuleName, code: number): string {
  return MODULE_RESULT_CODES[module]?.[code] ?? RESULT_CODES[code] ?? `code0x${code.toString(16).padStart(2, '0')}`;
}

/** A payload that did not match its schema, naming the message and the field. */
export interface PayloadError {
  kind: 'short' | 'extra' | 'range' | 'length';
  message: string;
  field: string;
  detail: string;
}

export type PayloadResult<T> = { ok: true; value: T } | { ok: false; error: PayloadError };

export interface DecodeOptions {
  rawExponentials?: boolean;
}

/**
 * Decodes a whole payload with a schema; trailing bytes are an error. The schema's compiled
 * reader (codec/schema-compile.ts) answers every payload that fits, with the generic reader's
 * value (test/codec/schema-compile.test.ts checks it for every schema of the catalog); the
 * generic reader runs only for the others, and names the field that did not fit. Requests and
 * responses go through here on every frame of a simulated session (docs/performance.md,
 * target 4, ninth round).
 */
export function decodeWith<T>(type: Type<T>, messageName: string, payload: Uint8Array, options: DecodeOptions = {}): PayloadResult<T> {
  const fast = compiledReader(type)?.(payload, options.rawExponentials ?? false);
  if (fast) return { ok: true, value: fast.value as T };
  return decodeGeneric(type, messageName, payload, options);
}

/** `decodeWith` by the schema interpreter alone (the reference the compiled readers are tested against). */
export function decodeGeneric<T>(type: Type<T>, messageName: string, payload: Uint8Array, options: DecodeOptions = {}): PayloadResult<T> {
  const r = new Reader(payload, options);
  try {
    const value = type.read(r);
    if (r.remaining !== 0) {
      return { ok: false, error: { kind: 'extra', message: messageName, field: r.path || '(end)', detail: `${r.remaining} byte(s) after the last field` } };
    }
    return { ok: true, value };
  } catch (e) {
    if (e instanceof SchemaError) {
      return { ok: false, error: { kind: e.kind, message: messageName, field: e.field || '(payload)', detail: e.message } };
    }
    throw e;
  }
}

/** Encodes a value with a schema; a value that breaks the schema throws `EncodeError`. */
export function encodeWith<T>(type: Type<T>, messageName: string, value: T): Uint8Array {
  const w = new Writer();
  try {
    type.write(w, value);
  } catch (e) {
    if (e instanceof SchemaError) throw new EncodeError(messageName, e.field, e.message);
    if (e instanceof TypeError) throw new EncodeError(messageName, w.path, e.message);
    throw e;
  }
  return w.finish();
}

/** A value the host tried to send does not fit its message (out of range, too long...). */
export class EncodeError extends Error {
  constructor(
    readonly messageName: string,
    readonly field: string,
    detail: string,
  ) {
    super(`cannot encode ${messageName}: ${detail}`);
    this.name = 'EncodeError';
  }
}

/** Response payloads: the result code, then the fields only when present (code 0). */
export function decodeResponse<T>(def: CommandDef<string, unknown, T>, payload: Uint8Array, options: DecodeOptions = {}): PayloadResult<{ code: number } & Partial<T>> {
  if (payload.length === 0) {
    return { ok: false, error: { kind: 'short', message: `${def.module}.${def.name}`, field: 'code', detail: 'response has no result code' } };
  }
  const code = payload[0] as number;
  if (code !== 0 && payload.length === 1) return { ok: true, value: { code } as { code: number } & Partial<T> };
  // The fields after the code, read in place by the compiled reader when they fit (as decodeWith
  // would on the subarray); else the generic reader, which names what did not fit.
  const fast = compiledReader(def.response)?.(payload, options.rawExponentials ?? false, 1);
  if (fast) return { ok: true, value: Object.assign({ code }, fast.value) as { code: number } & Partial<T> };
  const rest = decodeWith(def.response, `${def.module}.${def.name}`, payload.subarray(1), options);
  if (!rest.ok) return rest;
  // Object.assign, not spread: spread was ~3 us per call on Node 20 (bench/codec.ts).
  return { ok: true, value: Object.assign({ code }, rest.value) as { code: number } & Partial<T> };
}

export function encodeResponse<T>(def: CommandDef<string, unknown, T>, code: number, value?: T): Uint8Array {
  if (value === undefined) return Uint8Array.of(code);
  const rest = encodeWith(def.response, `${def.module}.${def.name}`, value);
  const out = new Uint8Array(rest.length + 1);
  out[0] = code;
  out.set(rest, 1);
  return out;
}

export { u8 };
