import { describe, expect, it } from 'vitest';
import { encodeRequest, decodeMessage, reencode, ControlPilot } from '../../codec/catalog.js';
import { Deframer, computeChecksum, encodeFrame, hexToBytes, bytesToHex, isWholeFrame, parseFrame } from '../../codec/frame.js';
import { FrameAssembler } from '../../transports/assembler.js';
import { VirtualClock } from '../../util/clock.js';

describe('framing (manual 10.1)', () => {
  it('computes the checksum so a valid frame sums to 0xFF', () => {
    const f = encodeFrame({ modId: 0x10, subId: 0x41, reqId: 5, payload: new Uint8Array() });
    // Reference vector: systemGetVersion with request ID 5.
    expect(bytesToHex(f)).toBe('c0104105000027c1');
    expect(computeChecksum(f)).toBe(0xff);
  });

  it('sends a computed zero checksum as 0xFF', () => {
    // Search a header whose checksum computes to 0 and check it is sent as 0xFF.
    let found = false;
    for (let req = 0; req < 256 && !found; req++) {
      for (let p = 0; p < 256 && !found; p++) {
        const f = encodeFrame({ modId: 0x29, subId: 0x40, reqId: req, payload: Uint8Array.of(p) }, { checksum: false });
        if (computeChecksum(f, 0, f.length, f.length - 2) === 0xff) {
          const g = encodeFrame({ modId: 0x29, subId: 0x40, reqId: req, payload: Uint8Array.of(p) });
          expect(g[g.length - 2]).toBe(0xff);
          expect(parseFrame(g)).toHaveProperty('frame');
          found = true;
        }
      }
    }
    expect(found).toBe(true);
  });

  it('deframes across arbitrary chunk boundaries and resynchronises after garbage', () => {
    const a = encodeRequest(ControlPilot.SetDutyCycle, 4, { dutyCyclePermill: 50 });
    const b = encodeRequest(ControlPilot.Start, 2, {});
    const stream = new Uint8Array([0x11, 0x22, ...a, 0xc0, 0x29, ...b]);
    const d = new Deframer();
    const items = [];
    for (const byte of stream) items.push(...d.push(Uint8Array.of(byte)));
    const frames = items.filter((i) => 'frame' in i);
    expect(frames).toHaveLength(2);
    const errors = items.flatMap((i) => ('error' in i ? [i.error] : []));
    expect(errors.filter((e) => e.kind === 'missingStart').reduce((n, e) => n + e.discarded, 0)).toBe(3);
    expect(errors.map((e) => e.kind)).toContain('oversize');
  });

  it('reports a bad checksum and keeps going', () => {
    const a = encodeRequest(ControlPilot.Start, 2, {});
    const bad = a.slice();
    bad[bad.length - 2] = (bad[bad.length - 2] as number) ^ 0x01;
    const items = new Deframer().push(new Uint8Array([...bad, ...a]));
    expect(items[0]).toMatchObject({ error: { kind: 'checksum' } });
    expect(items.filter((i) => 'frame' in i)).toHaveLength(1);
  });
});

describe('one whole frame per read (the assembler passes it on as it came)', () => {
  const frame = encodeFrame({ modId: 0x27, subId: 0x85, reqId: 0xff, payload: Uint8Array.of(1, 2, 3) });

  it('tells exactly one valid frame from anything else', () => {
    expect(isWholeFrame(frame)).toBe(true);
    expect(isWholeFrame(encodeFrame({ modId: 0x27, subId: 0x85, reqId: 0, payload: Uint8Array.of(1) }, { checksum: false }))).toBe(true);
    expect(isWholeFrame(frame.subarray(0, frame.length - 1))).toBe(false);
    expect(isWholeFrame(Uint8Array.of(...frame, 0xc0))).toBe(false);
    const bad = frame.slice();
    bad[bad.length - 2] = (bad[bad.length - 2] as number) ^ 0x01;
    expect(isWholeFrame(bad)).toBe(false);
  });

  it('delivers the same frames and errors as the deframer, each a copy of the read', () => {
    const got: string[] = [];
    const asm = new FrameAssembler(
      new VirtualClock(0),
      (f) => got.push(bytesToHex(f)),
      (e) => got.push(e.kind),
    );
    const read = frame.slice();
    asm.push(read);
    read.fill(0);
    const bad = frame.slice();
    bad[bad.length - 2] = (bad[bad.length - 2] as number) ^ 0x01;
    asm.push(bad);
    // A partial frame, then a whole one behind it: deframed together.
    asm.push(frame.subarray(0, 4));
    asm.push(Uint8Array.of(...frame.subarray(4), ...frame));
    // The bad one goes through the deframer: its checksum, then the bytes skipped to resynchronise.
    expect(got).toEqual([bytesToHex(frame), 'checksum', 'missingStart', bytesToHex(frame), bytesToHex(frame)]);
  });
});

describe('Control Pilot messages (manual 15)', () => {
  it('round-trips the Set PWM duty cycle example', () => {
    const hex = 'C0 29 44 04 00 02 00 32 00 C1';
    const item = parseFrame(hexToBytes(hex));
    if (!('frame' in item)) throw new Error('not a frame');
    const r = decodeMessage(item.frame, { direction: 'toModule' });
    expect(r).toMatchObject({ ok: true, message: { module: 'ControlPilot', message: 'SetDutyCycle', fields: { dutyCyclePermill: 50 } } });
    if (r.ok) expect(bytesToHex(reencode(r.message, { checksum: false }))).toBe(bytesToHex(hexToBytes(hex)));
  });

  it('names the message and field of an out-of-range value', () => {
    const r = decodeMessage({ modId: 0x29, subId: 0x81, reqId: 0xff, payload: Uint8Array.of(9) });
    expect(r).toMatchObject({ ok: false, error: { kind: 'range', message: 'ControlPilot.StateChanged', field: 'state' } });
  });
});
