/**
 * The Ethernet transport hands received frames to its direct listeners (the HCI client) before
 * `frames$` (transports/frame-outlet.ts): a status is answered before any `frames$` subscriber
 * runs, and the client's traffic records keep the wire's order (docs/performance.md, issue 12
 * target 1, ninth round).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { V2g, encodeRequest, encodeStatusFrame } from '../../codec/catalog.js';
import { bytesToHex, encodeFrame } from '../../codec/frame.js';
import { encodeControlFrame, encodeEthernetFrame, ETHERTYPE_CONTROL, parseMac } from '../../codec/link-headers.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createEthTransport } from '../../transports/eth.js';
import type { PcapModule, PcapPacket, PcapSessionOptions } from '../../transports/native.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

const HOST_MAC = '02:00:00:00:00:01';
const MODULE_MAC = '02:00:00:00:00:02';

/** node-pcap's session as the transport uses it: one shared packet buffer, `inject` recorded. */
class FakeSession {
  readonly injected: Uint8Array[] = [];
  onInject: () => void = () => {};
  private listener: ((p: PcapPacket) => void) | undefined;
  private readonly buf = Buffer.alloc(2048);
  on(event: string, listener: (p: PcapPacket) => void): this {
    if (event === 'packet') this.listener = listener;
    return this;
  }
  inject(data: Buffer): void {
    this.injected.push(Uint8Array.from(data));
    this.onInject();
  }
  close(): void {}
  deliver(hci: Uint8Array): void {
    const frame = encodeEthernetFrame({ src: parseMac(MODULE_MAC), dst: parseMac(HOST_MAC), etherType: ETHERTYPE_CONTROL, payload: encodeControlFrame(hci) });
    this.buf.set(frame);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(frame.length, 8);
    header.writeUInt32LE(frame.length, 12);
    this.listener?.({ buf: this.buf, header });
  }
}

describe('Ethernet transport: direct frame listeners', () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  async function open() {
    const sysfsNet = mkdtempSync(join(tmpdir(), 'fv2g-sysfs-'));
    roots.push(sysfsNet);
    mkdirSync(join(sysfsNet, 'eth9'));
    writeFileSync(join(sysfsNet, 'eth9', 'operstate'), 'up\n');
    writeFileSync(join(sysfsNet, 'eth9', 'flags'), '0x1003\n');
    writeFileSync(join(sysfsNet, 'eth9', 'address'), `${HOST_MAC}\n`);
    let session: FakeSession | undefined;
    const pcap: PcapModule = {
      warningHandler: () => {},
      createSession: (_device: string, _options?: PcapSessionOptions) => {
        session = new FakeSession();
        return session;
      },
    };
    const clock = new VirtualClock();
    const t = await createEthTransport({ iface: 'eth9', peerMac: MODULE_MAC, clock, sysfsNet, importer: async () => pcap, linkWatch: () => ({ close() {} }) });
    if (!session) throw new Error('no capture session');
    return { t, clock, session };
  }

  it('calls a direct listener before the frames$ subscribers, and ends it on close', async () => {
    const { t, session } = await open();
    const seen: string[] = [];
    t.frames$.subscribe({ next: (f) => seen.push(`frames$ ${bytesToHex(f)}`), complete: () => seen.push('frames$ complete') });
    expect(t.listen).toBeTypeOf('function');
    const stop = t.listen?.({ frame: (f) => seen.push(`listener ${bytesToHex(f)}`), end: () => seen.push('listener end') });
    const ping = encodeFrame({ modId: 0x0e, subId: 0x00, reqId: 1, payload: Uint8Array.of(1, 2, 3, 4, 5) });
    session.deliver(ping);
    expect(seen).toEqual([`listener ${bytesToHex(ping)}`, `frames$ ${bytesToHex(ping)}`]);
    stop?.();
    session.deliver(ping);
    expect(seen.slice(2)).toEqual([`frames$ ${bytesToHex(ping)}`]);
    const late: string[] = [];
    t.listen?.({ frame: () => late.push('frame'), end: () => late.push('end') });
    await t.close();
    expect(seen.at(-1)).toBe('frames$ complete');
    expect(late).toEqual(['end']);
  });

  it('an HCI client answers a status before a frames$ tap sees it; its records keep the wire order', async () => {
    const { t, clock, session } = await open();
    const order: string[] = [];
    // A tap subscribed before the client exists (on main it ran first, ahead of the answer).
    t.frames$.subscribe(() => order.push('tap'));
    const client = createHciClient({ transport: t, clock });
    client.traffic$.subscribe((r) => order.push(`record ${r.dir} ${r.message?.message ?? '?'}`));
    session.onInject = () => order.push('inject');
    client.status$.subscribe(() => {
      order.push('status');
      void client.request(V2g.EvseStartCharging, {}).catch(() => {});
    });
    session.deliver(
      encodeStatusFrame(V2g.EvseDcChargeParametersChanged, {
        maxVoltageV: 400,
        maxCurrentA: 20,
        maxPowerW: 8000,
        ready: true,
        errorCode: 0,
        socPercent: 50,
        targetVoltageV: 380,
        targetCurrentA: 16,
        chargingComplete: false,
      }),
    );
    await flushMicrotasks();
    expect(order).toEqual(['status', 'inject', 'record rx EvseDcChargeParametersChanged', 'record tx EvseStartCharging', 'tap']);
    expect(session.injected[0]?.subarray(18, 18 + 5)).toEqual(encodeRequest(V2g.EvseStartCharging, 0, {}).subarray(0, 5));
    await client.close();
    await t.close();
  });
});
