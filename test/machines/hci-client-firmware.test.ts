/**
 * The HCI client with firmware profiles: the profile's layouts, tolerated status messages logged
 * once and still delivered, status request ID 0x00 or 0xFF, responses matched on module, Sub-ID
 * and request ID (Sevenstax/FreeV2G PR #152, #175).
 */
import { describe, expect, it } from 'vitest';
import { V2g, encodeStatusFrame } from '../../codec/catalog.js';
import { encodeFrame, parseFrame } from '../../codec/frame.js';
import { findProfile } from '../../firmware/profiles.js';
import { type HciNotice, type TimedStatusEvent, createHciClient } from '../../machines/hci-client.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));
/** The Session Started frame of a PI V01_00_04 (Sevenstax/FreeV2G#345). */
const SESSION_STARTED_345 = hex(
  'C0 27 C0 00 00 32 01 0F 52 85 C7 76 99 96 8E 26 44 45 2A 41 32 33 2A 45 34 35 42 2A 37 38 43 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 C1',
);

function setup() {
  const clock = new VirtualClock();
  const [host, mod] = createMemoryPair({ clock });
  const client = createHciClient({ transport: host, clock });
  const status: TimedStatusEvent[] = [];
  const notices: HciNotice[] = [];
  client.status$.subscribe((e) => status.push(e));
  client.notices$.subscribe((n) => notices.push(n));
  return { clock, client, mod, status, notices };
}

describe('HCI client and firmware profiles', () => {
  it('delivers the #345 Session Started (request ID 0x00) with the V01_00_04 profile, without a notice', async () => {
    const t = setup();
    const p = findProfile('EV', 'V01_00_04');
    t.client.useFirmware(p?.version ?? '', p?.layouts ?? []);
    void t.mod.send(SESSION_STARTED_345);
    await flushMicrotasks();
    expect(t.status.map((s) => s.type)).toEqual(['V2g.EvSessionStarted']);
    expect(t.status[0]?.fields.evseId).toBe('DE*A23*E45B*78C');
    expect(t.notices).toEqual([]);
  });

  it('a status message that fits no layout is delivered with what was read and noticed once (hex, firmware)', async () => {
    const t = setup();
    t.client.useFirmware('V01_00_06', []);
    const short = encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0x00, payload: hex('00 00 00 00 00 00 00 00 00 01 f4 00') });
    for (let i = 0; i < 3; i++) void t.mod.send(short);
    await flushMicrotasks();
    expect(t.status.map((s) => s.type)).toEqual(Array(3).fill('V2g.EvDcChargeParametersChanged'));
    expect(t.status[0]?.fields).toMatchObject({ maxVoltageV: 500 });
    expect(t.notices).toHaveLength(1);
    expect(t.notices[0]?.text).toContain('V2g.EvDcChargeParametersChanged on firmware V01_00_06');
    expect(t.notices[0]?.text).toContain('12-byte payload: 00 00 00 00 00 00 00 00 00 01 f4 00');
  });

  it('a status message cut inside a field is reported once as an error and not acted on', async () => {
    const t = setup();
    t.client.useFirmware('V02_00_01', []);
    // EVSE Session Started cut inside the session ID.
    const cut = encodeFrame({ modId: 0x27, subId: 0x80, reqId: 0x00, payload: hex('01 0a 0b 0c') });
    void t.mod.send(cut);
    void t.mod.send(cut);
    await flushMicrotasks();
    expect(t.status).toEqual([]);
    expect(t.notices).toHaveLength(1);
    expect(t.notices[0]?.level).toBe('error');
    expect(t.notices[0]?.text).toContain('on firmware V02_00_01');
    expect(t.notices[0]?.text).toContain('4-byte payload: 01 0a 0b 0c');
  });

  it('accepts status request IDs 0x00 and 0xFF, and a 0x00 status never answers a request with ID 0', async () => {
    const t = setup();
    const sent: number[] = [];
    t.mod.frames$.subscribe((b) => {
      const r = parseFrame(b);
      if ('error' in r) return;
      sent.push(r.frame.reqId);
      // The old firmware's status (request ID 0x00) arrives before the response to request 0.
      void t.mod.send(encodeStatusFrame(V2g.EvseSessionStopped, { closureType: 0 }, 0x00));
      void t.mod.send(encodeStatusFrame(V2g.EvseSessionStopped, { closureType: 0 }, 0xff));
      void t.mod.send(encodeFrame({ modId: 0x27, subId: r.frame.subId, reqId: r.frame.reqId, payload: Uint8Array.of(0) }));
    });
    const done = t.client.request(V2g.EvseStopListen, {});
    await flushMicrotasks();
    await expect(done).resolves.toEqual({});
    expect(sent).toEqual([0]);
    expect(t.status.map((s) => s.type)).toEqual(['V2g.EvseSessionStopped', 'V2g.EvseSessionStopped']);
  });
});
