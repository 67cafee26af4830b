/**
 * The record of a request frame this host has just encoded, without decoding it again up front.
 *
 * Every command's record (`traffic$`) carried the decode of its own frame, made at once. Most
 * readers want only its name and direction (the session figures, the Stop Charging watch); the
 * fields are read by the dashboard, a verbose trace or a test, seldom in a charge loop. So the
 * fields are decoded the first time they are read, from the same bytes and with the same call as
 * before (issue 12 target 4: the decode was ~3 % of a simulated session's CPU).
 */
import { type DecodedMessage, decodeMessage, lookup } from './catalog.js';
import { parseFrame } from './frame.js';
import type { CommandDef } from './message.js';

/**
 * `frame` encoded by `encodeRequest(def, reqId, …)`. Undefined when the catalog's definition for
 * its IDs is another one (then the caller decodes it as any frame): only a definition that
 * encoded the frame is sure to decode it.
 */
export function sentRequest(def: CommandDef, reqId: number, frame: Uint8Array): DecodedMessage | undefined {
  return lookup(def.modId, def.subId) === def ? new SentRequest(def, reqId, frame) : undefined;
}

/**
 * A class, not a literal with a getter: V8 builds such a literal through its runtime (it was
 * slower than the decode it saves). `fields` is read like a property, as every reader does; it is
 * not an own property (a spread or JSON.stringify of the whole message would leave it out: no
 * reader does that with a record's message).
 */
class SentRequest implements DecodedMessage {
  readonly module: DecodedMessage['module'];
  readonly message: string;
  readonly modId: number;
  readonly subId: number;
  readonly direction = 'request' as const;
  readonly #frame: Uint8Array;
  #fields: Record<string, unknown> | undefined;

  constructor(
    readonly def: CommandDef,
    readonly reqId: number,
    frame: Uint8Array,
  ) {
    this.#frame = frame;
    this.module = def.module;
    this.message = def.name;
    this.modId = def.modId;
    this.subId = def.subId;
  }

  get fields(): Record<string, unknown> {
    this.#fields ??= decodeFields(this.#frame);
    return this.#fields;
  }
}

function decodeFields(bytes: Uint8Array): Record<string, unknown> {
  const parsed = parseFrame(bytes);
  const r = 'error' in parsed ? undefined : decodeMessage(parsed.frame, { direction: 'toModule' });
  if (!r?.ok) throw new Error('internal: a request frame this host encoded does not decode');
  return r.message.fields;
}
