/**
 * Fuzzing the receive path: random and mutated byte streams, cut into random chunks, go through
 * Deframer + decodeMessage. Only frames and typed errors may come out, never an exception, and
 * every byte is accounted for. Seeded (FC_SEED=<n> explores others).
 *
 * The resynchronisation rule, as tested below (manual 10.2):
 *  - After garbage, a good frame is always found when the link went idle in between
 *    (`deframer.timeout()` drops the unfinished bytes, as the module's 100 ms RX timeout does).
 *  - Without idle time, the good frame is found once enough bytes have followed to settle every
 *    frame a start marker in the garbage announced: at most MAX_FRAME_SIZE (4096) bytes after the
 *    last 0xC0 of the garbage. The one exception is inherent to the framing: garbage + frame
 *    that themselves form a valid frame (a 0xC0, a size landing on a 0xC1, a zero or matching
 *    checksum) are taken as that frame. The property excludes exactly those inputs (fc.pre).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODULE_IDS, allDefinitions, decodeMessage, encodeRequest, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { type DeframeItem, Deframer, type Frame, MAX_FRAME_SIZE, encodeFrame, parseFrame } from '../../codec/frame.js';
import { arbitraryOfType } from '../helpers/arbitrary.js';

const SEED = Number(process.env.FC_SEED ?? 1126);
const RUNS = { seed: SEED, numRuns: 300 };

const FRAMING_KINDS = new Set(['missingStart', 'checksum', 'missingEnd', 'lengthMismatch', 'oversize', 'rxTimeout']);
const MESSAGE_KINDS = new Set(['unknownModule', 'unknownSubId', 'short', 'extra', 'range', 'length']);

/** Splits bytes at the given cut points (a random chunking of one stream). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds the chunks, checking each item is a frame or a typed framing error; returns all items. */
function deframe(chunks: Uint8Array[], d = new Deframer()): DeframeItem[] {
  const items: DeframeItem[] = [];
  for (const c of chunks) items.push(...d.push(c));
  for (const item of items) {
    if ('error' in item) expect(FRAMING_KINDS.has(item.error.kind), item.error.kind).toBe(true);
    else expect(item.frame.payload).toBeInstanceOf(Uint8Array);
  }
  return items;
}

/** Decodes a frame every way a receiver might; each result must be a message or a typed error. */
function decodeAllWays(frame: Frame): void {
  for (const direction of [undefined, 'toModule', 'toHost'] as const) {
    for (const rawExponentials of [false, true]) {
      const r = decodeMessage(frame, { ...(direction ? { direction } : {}), rawExponentials });
      if (!r.ok) expect(MESSAGE_KINDS.has(r.error.kind), r.error.kind).toBe(true);
    }
  }
}

/** Every byte pushed is in a frame, reported as discarded, or still pending. */
function accounted(items: DeframeItem[], d: Deframer): number {
  let n = d.pending;
  for (const item of items) n += 'error' in item ? item.error.discarded : item.frame.payload.length + 8;
  return n;
}

/** Valid frames of real messages: any definition, any direction, values from its schema. */
const defs = allDefinitions();
const validFrame: fc.Arbitrary<Uint8Array> = fc.integer({ min: 0, max: defs.length - 1 }).chain((i) => {
  const def = defs[i] as (typeof defs)[number];
  const opts = { maxExtraLength: 8 };
  if (def.kind === 'status') return arbitraryOfType(def.payload as never, opts).map((v) => encodeStatusFrame(def, v as never));
  return fc.oneof(
    fc.tuple(arbitraryOfType(def.request as never, opts), fc.nat(0xfe)).map(([v, id]) => encodeRequest(def, id, v as never)),
    fc.tuple(arbitraryOfType(def.response as never, opts), fc.nat(0xfe)).map(([v, id]) => encodeResponseFrame(def, id, 0, v as never)),
    fc.tuple(fc.integer({ min: 1, max: 0xff }), fc.nat(0xfe)).map(([code, id]) => encodeResponseFrame(def, id, code)),
  );
});

/** Bytes where start/end markers are frequent, so random input often looks like frames. */
const noisyByte = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0xc0, 0xc1, 0x00) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xff }) });
const garbage = fc.array(noisyByte, { maxLength: 200 }).map((b) => Uint8Array.from(b));

type Mutation = { op: 'flip' | 'set' | 'delete' | 'insert'; at: number; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('flip', 'set', 'delete', 'insert'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 0xff }),
});

function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  const b = [...bytes];
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'flip') b[at] = (b[at] as number) ^ (1 << (m.value % 8));
    else if (m.op === 'set') b[at] = m.value;
    else if (m.op === 'delete') b.splice(at, 1);
    else b.splice(at, 0, m.value);
  }
  return Uint8Array.from(b);
}

/** Whether some start marker in `garbage` begins a valid frame that reaches into the frame after it. */
function garbageSwallowsFrame(stream: Uint8Array, frameStart: number): boolean {
  for (let p = 0; p < frameStart; p++) {
    if (stream[p] !== 0xc0 || p + 6 > stream.length) continue;
    const end = p + (((stream[p + 4] as number) << 8) | (stream[p + 5] as number)) + 8;
    if (end > frameStart && end <= stream.length && 'frame' in parseFrame(stream.subarray(p, end))) return true;
  }
  return false;
}

describe('codec fuzzing: deframer + decodeMessage', () => {
  it('random byte streams give only frames and typed errors, every byte accounted for', () => {
    fc.assert(
      fc.property(garbage, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const d = new Deframer();
        const items = deframe(chunk(bytes, cuts), d);
        for (const item of items) if ('frame' in item) decodeAllWays(item.frame);
        expect(accounted(items, d)).toBe(bytes.length);
      }),
      RUNS,
    );
  });

  it('valid frames come out whole and in order, however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const d = new Deframer();
        const items = deframe(chunk(concat(frames), cuts), d);
        expect(items.map((i) => ('frame' in i ? encodeFrame(i.frame, { checksum: true }) : i.error.kind))).toEqual(frames);
        for (const item of items) if ('frame' in item) decodeAllWays(item.frame);
        expect(d.pending).toBe(0);
      }),
      RUNS,
    );
  });

  it('mutated frame streams give only frames and typed errors, every byte accounted for', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { minLength: 1, maxLength: 5 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (frames, ms, cuts) => {
        const bytes = mutate(concat(frames), ms);
        const d = new Deframer();
        const items = deframe(chunk(bytes, cuts), d);
        for (const item of items) if ('frame' in item) decodeAllWays(item.frame);
        expect(accounted(items, d)).toBe(bytes.length);
      }),
      RUNS,
    );
  });

  it('random payloads on every known module and Sub-ID decode to messages or typed errors', () => {
    const ids = defs.map((d) => [d.modId, d.subId] as const);
    const unknownMod = fc.integer({ min: 0, max: 0xff }).filter((m) => MODULE_IDS[m] === undefined);
    const header = fc.oneof(fc.constantFrom(...ids), fc.tuple(unknownMod, fc.integer({ min: 0, max: 0xff })), fc.tuple(fc.constantFrom(...ids.map(([m]) => m)), fc.integer({ min: 0, max: 0xff })));
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 120 }), fc.nat(0xff), ([modId, subId], payload, reqId) => {
        decodeAllWays({ modId, subId, reqId, payload });
      }),
      { ...RUNS, numRuns: 3000 },
    );
  });

  it('frames do not change when the caller reuses its read buffer (the deframer keeps its own copy)', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, cuts) => {
        const stream = concat(frames);
        const readBuffer = new Uint8Array(stream.length);
        const d = new Deframer();
        const items: DeframeItem[] = [];
        for (const c of chunk(stream, cuts)) {
          const view = readBuffer.subarray(0, c.length);
          view.set(c);
          items.push(...d.push(view));
          view.fill(0xc0); // the driver reads the next chunk into the same memory
        }
        expect(items.map((i) => ('frame' in i ? encodeFrame(i.frame) : i.error.kind))).toEqual(frames);
      }),
      RUNS,
    );
  });

  it('a good frame after garbage is found when the link went idle in between (timeout)', () => {
    fc.assert(
      fc.property(garbage, validFrame, fc.array(fc.nat(), { maxLength: 6 }), (junk, good, cuts) => {
        const d = new Deframer();
        deframe(chunk(junk, cuts), d);
        d.timeout();
        expect(d.pending).toBe(0);
        const items = deframe([good], d);
        expect(items.length).toBe(1);
        expect(items[0] && 'frame' in items[0] && encodeFrame(items[0].frame)).toEqual(good);
      }),
      RUNS,
    );
  });

  it('a good frame after garbage is found without idle time once MAX_FRAME_SIZE bytes have followed', () => {
    const filler = new Uint8Array(MAX_FRAME_SIZE);
    fc.assert(
      fc.property(garbage, validFrame, fc.array(fc.nat(), { maxLength: 8 }), (junk, good, cuts) => {
        const stream = concat([junk, good, filler]);
        fc.pre(!garbageSwallowsFrame(stream, junk.length));
        const d = new Deframer();
        const frames = deframe(chunk(stream, cuts), d).flatMap((i) => ('frame' in i ? [encodeFrame(i.frame)] : []));
        expect(frames).toContainEqual(good);
      }),
      RUNS,
    );
  });
});
