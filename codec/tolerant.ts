/**
 * Tolerant decoding of status messages (module -> host, unsolicited). A host must not stall
 * because a firmware sends a status message a few bytes shorter or longer than the manual says
 * (Sevenstax/FreeV2G#94, #127, #345): the layouts the firmware profile names are tried first,
 * then the manual's, then every other known variant; when none fits exactly, what can be read is
 * returned with the problem, and the caller (the HCI client) logs it and goes on. Pure: no I/O.
 */
import { type DecodedMessage, type DecodeFrameOptions, lookup } from './catalog.js';
import type { Frame } from './frame.js';
import { type LayoutVariant, LAYOUT_VARIANTS, variantType } from './layouts.js';
import type { PayloadError, StatusDef } from './message.js';
import { decodeWith } from './message.js';
import { Reader, SchemaError, type Type, struct } from './schema.js';
import { compiledReader } from './schema-compile.js';

export type StatusDecode =
  /** Fits a layout exactly: the manual's ("manual") or a variant's id. */
  | { kind: 'exact'; message: DecodedMessage; layout: string }
  /**
   * Did not fit any layout: the fields read before the problem (possibly none). `usable`: every
   * field was read (bytes left over) or the payload ended exactly between two fields (whole
   * trailing fields missing, as older firmware omits fields added later); false when it ended
   * inside a field or a value was out of range, i.e. the bytes do not mean what the layout says.
   */
  | { kind: 'tolerated'; message: DecodedMessage; layout: string; problem: PayloadError; usable: boolean };

const MANUAL = 'manual';
const NONE: readonly LayoutVariant[] = [];
/** Each variant's payload type and its wire fields as a struct (for the compiled reader), built once. */
const types = new Map<LayoutVariant, { type: Type<unknown>; wire: Type<unknown> }>();
function typeOf(v: LayoutVariant): { type: Type<unknown>; wire: Type<unknown> } {
  let t = types.get(v);
  if (!t) types.set(v, (t = { type: variantType(v), wire: struct(v.fields) }));
  return t;
}

/** A variant's payload (the manual's field names) when it fits exactly, or undefined. */
function variantFits(v: LayoutVariant, def: StatusDef, payload: Uint8Array, options: Omit<DecodeFrameOptions, 'direction'>): { value: unknown } | undefined {
  const t = typeOf(v);
  const fast = compiledReader(t.wire)?.(payload, options.rawExponentials ?? false);
  if (fast) return v.fromWire ? { value: v.fromWire(fast.value as Record<string, unknown>) } : fast;
  return fits(t.type, def, payload, options);
}

/**
 * The payload as `type` reads it exactly, or undefined. `decodeWith` tries the compiled reader
 * (codec/schema-compile.ts) first; the generic one runs only for payloads that do not fit (or for
 * schemas it cannot compile), so results are the generic reader's.
 */
function fits(type: Type<unknown>, def: StatusDef, payload: Uint8Array, options: Omit<DecodeFrameOptions, 'direction'>): { value: unknown } | undefined {
  const r = decodeWith(type, `${def.module}.${def.name}`, payload, options);
  return r.ok ? r : undefined;
}

/**
 * Decodes `frame` as a status message, or returns undefined when (module ID, Sub-ID) is not a
 * status message of the catalog (the caller decodes it as a command).
 * `preferred`: the variants of the module's firmware profile.
 */
export function decodeStatusTolerant(frame: Frame, preferred: readonly LayoutVariant[] = [], options: Omit<DecodeFrameOptions, 'direction'> = {}): StatusDecode | undefined {
  const def = lookup(frame.modId, frame.subId);
  if (def?.kind !== 'status') return undefined;
  // Fast path first (this runs for every status frame): no variant of the profile for this message.
  const own = preferred.length === 0 ? NONE : preferred.filter((v) => v.modId === frame.modId && v.subId === frame.subId);
  for (const v of own) {
    const r = variantFits(v, def, frame.payload, options);
    if (r) return { kind: 'exact', layout: v.id, message: messageOf(frame, def, r.value) };
  }
  const manual = fits(def.payload, def, frame.payload, options);
  if (manual) return { kind: 'exact', layout: MANUAL, message: messageOf(frame, def, manual.value) };
  for (const v of LAYOUT_VARIANTS) {
    if (v.modId !== frame.modId || v.subId !== frame.subId || own.includes(v)) continue;
    const r = variantFits(v, def, frame.payload, options);
    if (r) return { kind: 'exact', layout: v.id, message: messageOf(frame, def, r.value) };
  }
  // Nothing fits: read the expected layout (the profile's, else the manual's) as far as it goes.
  const expected = own[0];
  const partial = expected ? readPrefix(expected.fields, frame.payload, options, expected.fromWire) : readPrefix(fieldsOf(def), frame.payload, options);
  const name = `${def.module}.${def.name}`;
  const problem: PayloadError = partial.error ? { ...partial.error, message: name } : { kind: 'extra', message: name, field: '(end)', detail: `${partial.extra} byte(s) after the last field` };
  return { kind: 'tolerated', layout: expected?.id ?? MANUAL, problem, usable: partial.usable, message: messageOf(frame, def, partial.value) };
}

function messageOf(frame: Frame, def: StatusDef, fields: unknown): DecodedMessage {
  return { def, module: def.module, message: def.name, modId: frame.modId, subId: frame.subId, reqId: frame.reqId, direction: 'status', fields: fields as Record<string, unknown> };
}

/** The manual's fields of a status definition (every status payload is a struct). */
function fieldsOf(def: StatusDef): Record<string, Type<unknown>> {
  const f = (def.payload as { fields?: Record<string, Type<unknown>> }).fields;
  return f ?? {};
}

interface Prefix {
  value: Record<string, unknown>;
  extra: number;
  usable: boolean;
  error?: Omit<PayloadError, 'message'>;
}

/** Reads the fields in order until one fails; keeps what was read before it. */
function readPrefix(fields: Record<string, Type<unknown>>, payload: Uint8Array, options: Omit<DecodeFrameOptions, 'direction'>, map?: (w: Record<string, unknown>) => Record<string, unknown>): Prefix {
  const r = new Reader(payload, options);
  const value: Record<string, unknown> = {};
  const done = (p: Omit<Prefix, 'value'>): Prefix => ({ ...p, value: map ? map(value) : value });
  for (const [key, type] of Object.entries(fields)) {
    r.path = key;
    const start = r.pos;
    try {
      const v = type.read(r);
      if (v !== undefined) value[key] = v;
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      return done({ extra: 0, usable: e.kind === 'short' && start === payload.length && start > 0, error: { kind: e.kind, field: e.field || key, detail: e.message } });
    }
  }
  return done({ extra: r.remaining, usable: true });
}

/** One line for logs: message, firmware, problem and the payload in hex. */
export function describeTolerated(d: Extract<StatusDecode, { kind: 'tolerated' }>, firmware: string, payload: Uint8Array): string {
  const hex = Array.from(payload, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const got = Object.keys(d.message.fields);
  return (
    `${d.problem.message} on firmware ${firmware} does not fit its layout (${d.layout}): ${d.problem.detail}; ` +
    `decoded ${got.length ? got.join(', ') : 'no field'}${d.usable ? '' : ' (not used: the bytes do not fit the fields)'}; ${payload.length}-byte payload: ${hex}`
  );
}
