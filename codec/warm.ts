/**
 * Runs the codec's paths for every message of a role once, ahead of need: each request's writer,
 * each response's and status's reader (compiled at first use, codec/schema-compile.ts and
 * schema-write.ts; the generic reader and writer where a schema does not compile). A message the
 * host meets once a session (Set Schedules, Set Cable Check Finished, ...) otherwise builds and
 * runs its codec for the first time between the status and its answer, on the wire (issue 12
 * target 1, the p99; docs/performance.md, ninth round). Pure: the only lasting effect is the
 * codec's own caches (and the engine's compiled code), and no value comes out.
 */
import { allDefinitions, decodeMessage, encodeRequest, encodeResponseFrame, encodeStatusFrame } from './catalog.js';
import { parseFrame } from './frame.js';
import type { LayoutVariant } from './layouts.js';
import type { MessageDef, Role } from './message.js';
import type { Shape } from './schema.js';
import { decodeStatusTolerant } from './tolerant.js';

/** A value of `shape` at its lower bounds: minimum integers and lengths, optionals absent. */
export function sampleOf(shape: Shape): unknown {
  switch (shape.t) {
    case 'int':
      return shape.min;
    case 'bool':
      return false;
    case 'exp':
      return 0;
    case 'string':
      return 'a'.repeat(shape.min);
    case 'bytes':
      return new Uint8Array(shape.min);
    case 'array':
      return Array.from({ length: shape.min }, () => sampleOf(shape.item));
    case 'optional':
      return undefined;
    case 'struct':
      return Object.fromEntries(shape.fields.map(([k, s]) => [k, sampleOf(s)]));
    case 'const':
      return shape.value;
  }
}

/** The definitions a host of `role` may meet: the role's own and those without a role. */
export function definitionsFor(role: Role): MessageDef[] {
  return allDefinitions().filter((def) => def.role === undefined || def.role === role);
}

/**
 * Encodes a sample of a request and decodes a sample of its response, or decodes a sample of a
 * status through the firmware profile's `layouts` as the client reads it. False when the sample
 * is not a value the schema takes (a hand-written rule the shape does not state): its codec then
 * runs at first real use, as without a warm-up.
 */
export function warmMessage(def: MessageDef, layouts: readonly LayoutVariant[] = []): boolean {
  try {
    if (def.kind === 'status') {
      const parsed = parseFrame(encodeStatusFrame(def, sampleOf(def.payload.shape)));
      if ('frame' in parsed) decodeStatusTolerant(parsed.frame, layouts);
    } else {
      encodeRequest(def, 0, sampleOf(def.request.shape));
      const parsed = parseFrame(encodeResponseFrame(def, 0, 0, sampleOf(def.response.shape)));
      if ('frame' in parsed) decodeMessage(parsed.frame, { direction: 'toHost' });
    }
    return true;
  } catch {
    return false;
  }
}

/** Every message of `role` at once (benches, tests); returns how many ran. */
export function warmCodec(role: Role, layouts: readonly LayoutVariant[] = []): number {
  let n = 0;
  for (const def of definitionsFor(role)) if (warmMessage(def, layouts)) n++;
  return n;
}
