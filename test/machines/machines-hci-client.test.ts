import { describe, expect, it } from 'vitest';
import { ControlPilot, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { type Frame, encodeFrame, parseFrame } from '../../codec/frame.js';
import { createHciClient } from '../../machines/hci-client.js';
import { HciError, type StatusEvent } from '../../machines/hci-types.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

function setup(opts: { timeoutMs?: number; busyDeadlineMs?: number } = {}) {
  const clock = new VirtualClock();
  const [host, mod] = createMemoryPair({ clock });
  const client = createHciClient({ transport: host, clock, ...opts });
  const received: Frame[] = [];
  let answer: (f: Frame) => Uint8Array[] = () => [];
  mod.frames$.subscribe((bytes) => {
    const r = parseFrame(bytes);
    if ('error' in r) throw new Error(r.error.detail);
    received.push(r.frame);
    for (const out of answer(r.frame)) void mod.send(out);
  });
  return {
    clock,
    client,
    mod,
    received,
    onRequest(fn: (f: Frame) => Uint8Array[]) {
      answer = fn;
    },
  };
}

const ack = (f: Frame, code = 0, payload: number[] = []) => encodeFrame({ modId: f.modId, subId: f.subId, reqId: f.reqId, payload: Uint8Array.of(code, ...payload) });

describe('HCI client', () => {
  it('matches a response by module, Sub-ID and request ID and returns its fields', async () => {
    const t = setup();
    t.onRequest((f) => [
      // A response with a stale request ID must be ignored.
      encodeResponseFrame(ControlPilot.GetState, (f.reqId + 1) % 255, 0, { state: 3 }),
      encodeResponseFrame(ControlPilot.GetState, f.reqId, 0, { state: 1 }),
    ]);
    const res = await t.client.request(ControlPilot.GetState, {});
    expect(res).toEqual({ state: 1 });
  });

  it('onReceive: every frame from the module (response, Ping Reply, status, garbage), after its traffic$ record (a status: before it, the record follows its delivery), none of its own; unsubscribe stops it', async () => {
    const t = setup();
    t.onRequest((f) => [
      f.modId === 0x0e ? encodeFrame({ modId: 0x0e, subId: 0x01, reqId: f.reqId, payload: new Uint8Array(0) }) : encodeResponseFrame(ControlPilot.GetState, f.reqId, 0, { state: 1 }),
    ]);
    const seen: string[] = [];
    t.client.traffic$.subscribe((r) => seen.push(`${r.dir} ${r.message?.message ?? 'raw'}`));
    const off = t.client.onReceive?.((at) => seen.push(`listener ${at === t.clock.now()}`));
    await t.client.request(ControlPilot.GetState, {});
    t.client.sendPing?.();
    await flushMicrotasks();
    await t.mod.send(encodeStatusFrame(ControlPilot.StateChanged, { state: 1 }));
    await flushMicrotasks();
    void t.mod.send(Uint8Array.of(0x01, 0x02, 0x03));
    await flushMicrotasks();
    expect(seen).toEqual(['tx GetState', 'rx GetState', 'listener true', 'tx Ping', 'rx PingReply', 'listener true', 'listener true', 'rx StateChanged', 'rx raw', 'listener true']);
    off?.();
    void t.mod.send(Uint8Array.of(0x01, 0x02, 0x03));
    await flushMicrotasks();
    expect(seen.filter((s) => s.startsWith('listener'))).toHaveLength(4);
  });

  it('rotates request IDs 0..254 and never uses 0xFF', async () => {
    const t = setup();
    t.onRequest((f) => [ack(f)]);
    for (let i = 0; i < 257; i++) await t.client.request(ControlPilot.Start, {});
    const ids = t.received.map((f) => f.reqId);
    expect(ids.slice(0, 3)).toEqual([0, 1, 2]);
    expect(ids[254]).toBe(254);
    expect(ids[255]).toBe(0);
    expect(ids).not.toContain(0xff);
  });

  it('times out on the injected clock', async () => {
    const t = setup({ timeoutMs: 300 });
    const p = t.client.request(ControlPilot.Start, {});
    const caught = p.catch((e: unknown) => e);
    await flushMicrotasks();
    t.clock.advance(299);
    await flushMicrotasks();
    t.clock.advance(1);
    const e = await caught;
    expect(e).toBeInstanceOf(HciError);
    expect((e as HciError).kind).toBe('timeout');
    expect((e as HciError).message).toContain('ControlPilot.Start');
  });

  it('retries busy with backoff, then succeeds', async () => {
    const t = setup();
    let n = 0;
    t.onRequest((f) => [ack(f, n++ < 3 ? 1 : 0)]);
    const p = t.client.request(ControlPilot.Start, {});
    await t.clock.runUntil(() => n >= 4);
    await expect(p).resolves.toEqual({});
    expect(t.received).toHaveLength(4);
    // Each retry gets a fresh request ID.
    expect(new Set(t.received.map((f) => f.reqId)).size).toBe(4);
  });

  it('gives up on busy after the deadline with the code name', async () => {
    const t = setup({ busyDeadlineMs: 100 });
    t.onRequest((f) => [ack(f, 1)]);
    const p = t.client.request(ControlPilot.Start, {}).catch((e: unknown) => e);
    let done = false;
    void p.then(() => (done = true));
    await t.clock.runUntil(() => done, 10_000);
    const e = (await p) as HciError;
    expect(e.kind).toBe('result');
    expect(e.code).toBe(1);
    expect(e.message).toMatch(/busy/);
    expect(t.clock.now()).toBeGreaterThanOrEqual(100);
  });

  it('rejects other result codes naming command and code', async () => {
    const t = setup();
    t.onRequest((f) => [ack(f, 5)]);
    const e = (await t.client.request(ControlPilot.Stop, {}).catch((x: unknown) => x)) as HciError;
    expect(e).toBeInstanceOf(HciError);
    expect(e.message).toBe('ControlPilot.Stop failed: unexpectedMessage (0x05)');
    expect(e.code).toBe(5);
  });

  it('delivers status messages as typed events', async () => {
    const t = setup();
    const events: StatusEvent[] = [];
    t.client.status$.subscribe((e) => events.push(e));
    await t.mod.send(encodeStatusFrame(ControlPilot.StateChanged, { state: 1 }));
    await flushMicrotasks();
    expect(events).toEqual([expect.objectContaining({ type: 'ControlPilot.StateChanged', module: 'ControlPilot', message: 'StateChanged', fields: { state: 1 } })]);
  });

  it('serialises commands to one module', async () => {
    const t = setup();
    const pending: Frame[] = [];
    t.onRequest((f) => {
      pending.push(f);
      return [];
    });
    const a = t.client.request(ControlPilot.SetMode, { mode: 1 });
    const b = t.client.request(ControlPilot.Start, {});
    await flushMicrotasks();
    expect(t.received.map((f) => f.subId)).toEqual([0x40]);
    await t.mod.send(ack(pending[0] as Frame));
    await a;
    await flushMicrotasks();
    expect(t.received.map((f) => f.subId)).toEqual([0x40, 0x42]);
    await t.mod.send(ack(pending[1] as Frame));
    await b;
  });

  it('resynchronises after a framing error: pings every 50 ms until answered, then resends', async () => {
    const t = setup();
    let pings = 0;
    let first = true;
    t.onRequest((f) => {
      if (f.modId === 0x0e) {
        pings++;
        return pings < 3 ? [] : [encodeFrame({ modId: 0x0e, subId: 0x01, reqId: f.reqId, payload: f.payload })];
      }
      if (first) {
        first = false;
        // The module lost our frame and says so.
        return [encodeFrame({ modId: 0xff, subId: 0xf2, reqId: 0xff, payload: new Uint8Array(0) })];
      }
      return [ack(f)];
    });
    const p = t.client.request(ControlPilot.Start, {});
    let ok = false;
    void p.then(() => (ok = true));
    await t.clock.runUntil(() => ok, 5_000);
    expect(ok).toBe(true);
    expect(pings).toBe(3);
    expect(t.clock.now()).toBe(100);
    expect(t.received.map((f) => f.modId)).toEqual([0x29, 0x0e, 0x0e, 0x0e, 0x29]);
  });
});
