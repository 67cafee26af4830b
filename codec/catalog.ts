/**
 * The message catalog: every module's definitions, indexed by (module ID, Sub-ID), and the
 * functions that turn frames into typed messages and back.
 */
import { type Frame, type EncodeFrameOptions, STATUS_REQ_ID, encodeFrame } from './frame.js';
import { compiledFrameWriter } from './schema-write.js';
import {
  type CommandDef,
  type DecodeOptions,
  type MessageDef,
  type ModuleName,
  type PayloadError,
  type PayloadResult,
  type StatusDef,
  decodeResponse,
  decodeWith,
  encodeResponse,
  encodeWith,
} from './message.js';
import { CertificateManager } from './modules/certificate-manager.js';
import { ControlPilot } from './modules/control-pilot.js';
import { FirmwareUpdate } from './modules/firmware-update.js';
import { Framing, FramingError } from './modules/framing.js';
import { Gpio } from './modules/gpio.js';
import { NetworkConfiguration } from './modules/network-configuration.js';
import { Plc } from './modules/plc.js';
import { Slac } from './modules/slac.js';
import { System } from './modules/system.js';
import { Time } from './modules/time.js';
import { V2gCommon } from './modules/v2g/common.js';
import { V2gEv } from './modules/v2g/ev.js';
import { V2gEvse } from './modules/v2g/evse.js';

export const V2g = { ...V2gCommon, ...V2gEv, ...V2gEvse } as const;

export { CertificateManager, ControlPilot, FirmwareUpdate, Framing, FramingError, Gpio, NetworkConfiguration, Plc, Slac, System, Time };

/** All definitions by module; the framing error status frames (module 0xFF) live in framing.ts. */
const ALL: ReadonlyArray<Record<string, MessageDef>> = [Framing, FramingError, System, Time, NetworkConfiguration, FirmwareUpdate, ControlPilot, Slac, Plc, V2g, Gpio, CertificateManager];

const key = (modId: number, subId: number): number => (modId << 8) | subId;
const index = new Map<number, MessageDef>();
for (const mod of ALL) {
  for (const def of Object.values(mod)) {
    const k = key(def.modId, def.subId);
    const clash = index.get(k);
    if (clash) throw new Error(`catalog: ${def.module}.${def.name} and ${clash.module}.${clash.name} share 0x${k.toString(16)}`);
    index.set(k, def);
  }
}

export function lookup(modId: number, subId: number): MessageDef | undefined {
  return index.get(key(modId, subId));
}

export function allDefinitions(): MessageDef[] {
  return [...index.values()];
}

export const MODULE_IDS: Record<number, ModuleName> = {};
for (const def of index.values()) MODULE_IDS[def.modId] = def.module;

/** host -> module requests; module -> host responses and status messages. */
export type Direction = 'request' | 'response' | 'status';

export interface DecodedMessage {
  def: MessageDef;
  module: ModuleName;
  message: string;
  direction: Direction;
  modId: number;
  subId: number;
  reqId: number;
  /** For responses, includes `code`. */
  fields: Record<string, unknown>;
}

export type MessageError =
  | { kind: 'unknownModule'; modId: number; subId: number; detail: string }
  | { kind: 'unknownSubId'; modId: number; subId: number; module: ModuleName; detail: string }
  | ({ modId: number; subId: number } & PayloadError);

export type MessageResult = { ok: true; message: DecodedMessage } | { ok: false; error: MessageError };

export interface DecodeFrameOptions extends DecodeOptions {
  /** Which way the frame travelled; when omitted, commands are tried both ways. */
  direction?: 'toModule' | 'toHost';
}

/** Turns a frame into a typed message, or a typed error naming what did not match. */
export function decodeMessage(frame: Frame, options: DecodeFrameOptions = {}): MessageResult {
  const def = lookup(frame.modId, frame.subId);
  if (!def) {
    const module = MODULE_IDS[frame.modId];
    const id = `0x${frame.modId.toString(16)}/0x${frame.subId.toString(16)}`;
    return module
      ? { ok: false, error: { kind: 'unknownSubId', modId: frame.modId, subId: frame.subId, module, detail: `${module} has no Sub-ID ${id}` } }
      : { ok: false, error: { kind: 'unknownModule', modId: frame.modId, subId: frame.subId, detail: `no module ${id}` } };
  }
  if (def.kind === 'status') return finish(frame, def, 'status', decodeWith(def.payload, `${def.module}.${def.name}`, frame.payload, options));
  if (options.direction === 'toModule') return asRequest(frame, def, options);
  if (options.direction === 'toHost') return asResponse(frame, def, options);
  const req = asRequest(frame, def, options);
  if (req.ok) return req;
  const res = asResponse(frame, def, options);
  return res.ok ? res : req;
}

function asRequest(frame: Frame, def: CommandDef, options: DecodeOptions): MessageResult {
  return finish(frame, def, 'request', decodeWith(def.request, `${def.module}.${def.name}`, frame.payload, options));
}

function asResponse(frame: Frame, def: CommandDef, options: DecodeOptions): MessageResult {
  return finish(frame, def, 'response', decodeResponse(def, frame.payload, options));
}

/**
 * The message or the error, as plain literals: object spread ({ ...base, x }) was ~3 us per
 * call on Node 20, most of the decode time (bench/codec.ts).
 */
function finish(frame: Frame, def: MessageDef, direction: Direction, r: PayloadResult<unknown>): MessageResult {
  if (!r.ok) {
    const e = r.error;
    return { ok: false, error: { modId: frame.modId, subId: frame.subId, kind: e.kind, message: e.message, field: e.field, detail: e.detail } };
  }
  return {
    ok: true,
    message: { def, module: def.module, message: def.name, modId: frame.modId, subId: frame.subId, reqId: frame.reqId, direction, fields: r.value as Record<string, unknown> },
  };
}

/**
 * A request frame for a command (host -> module). The schema's compiled writer
 * (codec/schema-write.ts) builds the frame when it can; it gives the generic writer's bytes, and
 * gives up on anything the generic writer must decide (then that one runs: bytes or the error).
 */
export function encodeRequest<Q>(def: CommandDef<string, Q, unknown>, reqId: number, fields: Q, options?: EncodeFrameOptions): Uint8Array {
  const fast = compiledFrameWriter(def.request)?.({ modId: def.modId, subId: def.subId, reqId }, fields, options?.checksum ?? true);
  if (fast) return fast;
  const payload = encodeWith(def.request, `${def.module}.${def.name}`, fields);
  return encodeFrame({ modId: def.modId, subId: def.subId, reqId, payload }, options);
}

/** A response frame (module -> host): the result code, then the fields when given. */
export function encodeResponseFrame<S>(def: CommandDef<string, unknown, S>, reqId: number, code: number, fields?: S, options?: EncodeFrameOptions): Uint8Array {
  // The simulated module answers every request here: the compiled writer when it can (the code,
  // then the fields, in place), with the generic path's bytes (test/codec/schema-write.test.ts).
  if (fields !== undefined) {
    const fast = compiledFrameWriter(def.response)?.({ modId: def.modId, subId: def.subId, reqId }, fields, options?.checksum ?? true, code);
    if (fast) return fast;
  }
  return encodeFrame({ modId: def.modId, subId: def.subId, reqId, payload: encodeResponse(def, code, fields) }, options);
}

/** A status frame (module -> host), request ID 0xFF unless it answers a request. */
export function encodeStatusFrame<P>(def: StatusDef<string, P>, fields: P, reqId = STATUS_REQ_ID, options?: EncodeFrameOptions): Uint8Array {
  const fast = compiledFrameWriter(def.payload)?.({ modId: def.modId, subId: def.subId, reqId }, fields, options?.checksum ?? true);
  if (fast) return fast;
  const payload = encodeWith(def.payload, `${def.module}.${def.name}`, fields);
  return encodeFrame({ modId: def.modId, subId: def.subId, reqId, payload }, options);
}

/** Encodes a decoded message back into a frame (for round-trip tests and replays). */
export function reencode(msg: DecodedMessage, options?: EncodeFrameOptions): Uint8Array {
  const { def } = msg;
  if (def.kind === 'status') return encodeStatusFrame(def, msg.fields, msg.reqId, options);
  if (msg.direction === 'request') return encodeRequest(def, msg.reqId, msg.fields, options);
  const { code, ...rest } = msg.fields as { code: number } & Record<string, unknown>;
  const hasFields = Object.keys(rest).length > 0 || code === 0;
  return encodeResponseFrame(def, msg.reqId, code, hasFields ? rest : undefined, options);
}
