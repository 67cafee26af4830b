import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, encodeFrame, hexToBytes } from '../../codec/frame.js';
import { encodeControlFrame, encodeEthernetFrame, ETHERTYPE_CONTROL, parseMac } from '../../codec/link-headers.js';
import { captureFilter, classifyPcapError, createEthTransport } from '../../transports/eth.js';
import { type LinkWatchHandlers, mentionsInterface } from '../../transports/link-watch.js';
import type { PcapModule, PcapPacket, PcapSessionOptions } from '../../transports/native.js';
import { TransportError } from '../../transports/transport.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { createVethPair, type NsChild, netnsAvailable, spawnInNamespace, type VethPair } from '../helpers/netns.js';

const HOST_MAC = '02:00:00:00:00:01';
const MODULE_MAC = '02:00:00:00:00:02';
const PING = encodeFrame({ modId: 0x0e, subId: 0x00, reqId: 1, payload: Uint8Array.of(1, 2, 3, 4, 5) });
const bigFrame = (n: number, reqId = 7): Uint8Array => encodeFrame({ modId: 0x0e, subId: 0x00, reqId, payload: Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff) });

// ---------------------------------------------------------------------------------------------
// In-process: a fake libpcap and a fake /sys/class/net on the virtual clock.

class FakePcap implements PcapModule {
  warningHandler: (text: string) => void = () => {};
  sessions: FakeSession[] = [];
  openError: Error | undefined;
  createSession(device: string, options: PcapSessionOptions = {}): FakeSession {
    this.warningHandler(`${device}: no IPv4 address assigned`);
    if (this.openError) throw this.openError;
    const s = new FakeSession(device, options);
    this.sessions.push(s);
    return s;
  }
  get last(): FakeSession {
    const s = this.sessions.at(-1);
    if (!s) throw new Error('no session');
    return s;
  }
}

class FakeSession {
  injected: Uint8Array[] = [];
  closed = false;
  failInject = false;
  private listener: ((p: PcapPacket) => void) | undefined;
  constructor(
    readonly device: string,
    readonly options: PcapSessionOptions,
  ) {}
  on(event: string, listener: (p: PcapPacket) => void): this {
    if (event === 'packet') this.listener = listener;
    return this;
  }
  inject(data: Buffer): void {
    if (this.failInject) throw new Error('Pcap inject failed.');
    this.injected.push(Uint8Array.from(data));
  }
  close(): void {
    this.closed = true;
  }
  /** node-pcap copies every packet into the same Buffer: so does the fake. */
  private readonly buf = Buffer.alloc(65535);
  /** Delivers a captured frame the way node-pcap does: the shared buffer plus a header. */
  deliver(frame: Uint8Array): void {
    const buf = this.buf;
    buf.fill(0xee);
    buf.set(frame);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(frame.length, 8);
    header.writeUInt32LE(frame.length, 12);
    this.listener?.({ buf, header });
  }
}

function fakeSysfs(ifaces: Record<string, { operstate?: string; flags?: string; mac: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'fv2g-sysfs-'));
  for (const [name, v] of Object.entries(ifaces)) setIface(root, name, v);
  return root;
}

function setIface(root: string, name: string, v: { operstate?: string; flags?: string; mac: string }): void {
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'operstate'), `${v.operstate ?? 'up'}\n`);
  writeFileSync(join(root, name, 'flags'), `${v.flags ?? '0x1003'}\n`);
  writeFileSync(join(root, name, 'address'), `${v.mac}\n`);
}

const ethOf = (src: string, dst: string, payload: Uint8Array, etherType = ETHERTYPE_CONTROL): Uint8Array => encodeEthernetFrame({ src: parseMac(src), dst: parseMac(dst), etherType, payload });

/**
 * Fires the transport's interface poll and waits until that poll (real sysfs file reads) has
 * finished, which it shows by setting its next timer on the virtual clock.
 */
async function settle(clock: VirtualClock, ms: number): Promise<void> {
  clock.advance(ms);
  for (let i = 0; i < 1000 && clock.pending === 0; i++) {
    await new Promise((r) => setTimeout(r, 1));
    await flushMicrotasks();
  }
  await flushMicrotasks();
}

/** Waits (real time, the sysfs reads are real file reads) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) {
    await new Promise((r) => setTimeout(r, 1));
    await flushMicrotasks();
  }
}

/** Link events by hand: the test says when the kernel would have announced a change. */
class FakeLinkWatch {
  handlers: LinkWatchHandlers | undefined;
  closed = false;
  readonly factory = (_iface: string, h: LinkWatchHandlers) => {
    this.handlers = h;
    return { close: () => void (this.closed = true) };
  };
  change(): void {
    this.handlers?.onChange();
  }
}

describe('Ethernet transport, in-process with a fake libpcap', () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  async function open(role: 'host' | 'module' = 'host', extra: Partial<Parameters<typeof createEthTransport>[0]> = {}) {
    const sysfsNet = fakeSysfs({ eth9: { mac: role === 'host' ? HOST_MAC : MODULE_MAC } });
    roots.push(sysfsNet);
    const pcap = new FakePcap();
    const clock = new VirtualClock();
    const watch = new FakeLinkWatch();
    const t = await createEthTransport({
      iface: 'eth9',
      role,
      peerMac: role === 'host' ? MODULE_MAC : undefined,
      clock,
      sysfsNet,
      importer: async () => pcap,
      linkWatch: watch.factory,
      ...extra,
    });
    const frames: string[] = [];
    t.frames$.subscribe((f) => frames.push(bytesToHex(f)));
    return { t, pcap, clock, sysfsNet, frames, watch };
  }

  it('captures with the filter of the brief and silences the "no IPv4 address" warning', async () => {
    const { t, pcap } = await open();
    expect(pcap.last.options.filter).toBe(`ether proto 0x6003 and ether src ${MODULE_MAC}`);
    expect(pcap.last.options.buffer_timeout).toBe(0);
    // Whole Ethernet frames, not node-pcap's 64 KiB snapshots in a 10 MB ring.
    expect(pcap.last.options.snap_length).toBeGreaterThanOrEqual(1518);
    expect(pcap.last.options.buffer_size).toBeLessThanOrEqual(1 << 20);
    expect(t.ownMac).toBe(HOST_MAC);
    expect(t.warnings).toEqual(['eth9: no IPv4 address assigned']);
    expect(captureFilter('module', MODULE_MAC, undefined)).toBe(`ether proto 0x6003 and ether dst ${MODULE_MAC}`);
    await t.close();
  });

  it('sends the control header from the interface MAC to the module, padded to 60 bytes', async () => {
    const { t, pcap } = await open();
    await t.send(PING);
    const sent = pcap.last.injected[0] ?? new Uint8Array();
    expect(sent.length).toBe(60);
    expect(bytesToHex(sent.subarray(0, 18 + PING.length))).toBe(`${`${MODULE_MAC}${HOST_MAC}`.replace(/:/g, '')}60030004000d${bytesToHex(PING)}`);
    expect(t.counters.sent).toBe(1);
    await t.close();
  });

  it('strips Ethernet padding using the control header size, and counts non-control frames', async () => {
    const { t, pcap, frames } = await open();
    pcap.last.deliver(ethOf(MODULE_MAC, HOST_MAC, encodeControlFrame(PING)));
    pcap.last.deliver(ethOf(MODULE_MAC, HOST_MAC, hexToBytes('0104000d')));
    pcap.last.deliver(ethOf('02:00:00:00:00:99', HOST_MAC, encodeControlFrame(PING)));
    pcap.last.deliver(ethOf(MODULE_MAC, HOST_MAC, encodeControlFrame(PING), 0x88b5));
    expect(frames).toEqual([bytesToHex(PING)]);
    expect(t.counters).toMatchObject({ received: 1, ignored: 3 });
    await t.close();
  });

  it('splits frames larger than one Ethernet payload and reassembles them', async () => {
    const { t, pcap, frames } = await open();
    const big = bigFrame(3000);
    await t.send(big);
    expect(pcap.last.injected.map((f) => f.length)).toEqual([1514, 1514, 60]);
    for (const f of pcap.last.injected) {
      // Play them back as if the module had sent them.
      const copy = f.slice();
      copy.set(parseMac(MODULE_MAC), 6);
      pcap.last.deliver(copy);
    }
    expect(frames).toEqual([bytesToHex(big)]);
    await t.close();
  });

  it('as the module, answers the host that addressed it', async () => {
    const { t, pcap } = await open('module');
    expect(pcap.last.options.filter).toBe(`ether proto 0x6003 and ether dst ${MODULE_MAC}`);
    await expect(t.send(PING)).rejects.toMatchObject({ kind: 'sendFailed' });
    pcap.last.deliver(ethOf('02:00:00:00:00:33', MODULE_MAC, encodeControlFrame(PING)));
    await t.send(PING);
    expect(bytesToHex(pcap.last.injected[0]?.subarray(0, 12) ?? new Uint8Array())).toBe('020000000033' + '020000000002');
    await t.close();
  });

  it('uses promiscuous mode only for a source MAC other than the interface one', async () => {
    const a = await open('host');
    expect(a.pcap.last.options.promiscuous).toBe(false);
    const b = await open('module', { ownMac: '02:00:00:00:00:77' });
    expect(b.pcap.last.options.promiscuous).toBe(true);
    expect(b.t.ownMac).toBe('02:00:00:00:00:77');
    await a.t.close();
    await b.t.close();
  });

  it('reports a missing interface, a switched-off interface, missing libpcap and no permission', async () => {
    const sysfsNet = fakeSysfs({ down0: { mac: HOST_MAC, flags: '0x1002', operstate: 'down' } });
    roots.push(sysfsNet);
    const pcap = new FakePcap();
    const base = { peerMac: MODULE_MAC, sysfsNet, importer: async () => pcap };
    await expect(createEthTransport({ ...base, iface: 'nope0' })).rejects.toMatchObject({ kind: 'noSuchInterface' });
    await expect(createEthTransport({ ...base, iface: 'down0' })).rejects.toMatchObject({ kind: 'interfaceDown' });
    setIface(sysfsNet, 'up0', { mac: HOST_MAC });
    const missing = createEthTransport({
      ...base,
      iface: 'up0',
      importer: async () => {
        throw Object.assign(new Error("Cannot find package 'pcap' imported from x"), { code: 'ERR_MODULE_NOT_FOUND' });
      },
    });
    await expect(missing).rejects.toMatchObject({ kind: 'libraryMissing' });
    await expect(missing).rejects.toThrow(/libpcap-dev/);
    pcap.openError = new Error('up0: socket: Operation not permitted');
    const denied = createEthTransport({ ...base, iface: 'up0' });
    await expect(denied).rejects.toMatchObject({ kind: 'notPermitted' });
    await expect(denied).rejects.toThrow(/CAP_NET_RAW/);
    expect(classifyPcapError('x', new Error('x: No such device exists'))).toMatchObject({ kind: 'noSuchInterface' });
    expect(classifyPcapError('x', new Error('something else'))).toMatchObject({ kind: 'openFailed' });
  });

  it('follows link events with no timer at rest: no carrier, deleted, back again', async () => {
    const { t, pcap, clock, sysfsNet, watch } = await open();
    const states: string[] = [];
    t.linkState$.subscribe((s) => states.push(s.up ? 'up' : `down:${s.error?.kind}`));
    expect(clock.pending).toBe(0);
    setIface(sysfsNet, 'eth9', { mac: HOST_MAC, operstate: 'lowerlayerdown' });
    // Without an event nothing reads sysfs again, however long the wait.
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(states).toEqual(['up']);
    watch.change();
    await until(() => states.length === 2);
    expect(states).toEqual(['up', 'down:interfaceDown']);
    rmSync(join(sysfsNet, 'eth9'), { recursive: true });
    watch.change();
    await until(() => states.at(-1) === 'down:noSuchInterface');
    expect(states.at(-1)).toBe('down:noSuchInterface');
    expect(pcap.sessions[0]?.closed).toBe(true);
    await expect(t.send(PING)).rejects.toMatchObject({ kind: 'noSuchInterface' });
    setIface(sysfsNet, 'eth9', { mac: HOST_MAC });
    watch.change();
    await until(() => states.at(-1) === 'up');
    expect(states.at(-1)).toBe('up');
    expect(pcap.sessions).toHaveLength(2);
    await t.send(PING);
    expect(pcap.last.injected).toHaveLength(1);
    expect(clock.pending).toBe(0);
    await t.close();
    expect(watch.closed).toBe(true);
  });

  it('falls back to polling sysfs on the clock when link events cannot run, and says so', async () => {
    const failing = (_iface: string, h: LinkWatchHandlers) => {
      queueMicrotask(() => h.onFail('cannot run "ip monitor link" (iproute2): spawn ip ENOENT'));
      return { close: () => undefined };
    };
    const { t, pcap, clock, sysfsNet } = await open('host', { linkWatch: failing });
    await flushMicrotasks();
    expect(t.warnings.at(-1)).toMatch(/ENOENT.*polling .*eth9 every 500 ms/);
    const states: string[] = [];
    t.linkState$.subscribe((s) => states.push(s.up ? 'up' : `down:${s.error?.kind}`));
    setIface(sysfsNet, 'eth9', { mac: HOST_MAC, operstate: 'lowerlayerdown' });
    await settle(clock, 500);
    expect(states).toEqual(['up', 'down:interfaceDown']);
    rmSync(join(sysfsNet, 'eth9'), { recursive: true });
    await settle(clock, 500);
    expect(states.at(-1)).toBe('down:noSuchInterface');
    expect(pcap.sessions[0]?.closed).toBe(true);
    setIface(sysfsNet, 'eth9', { mac: HOST_MAC });
    await settle(clock, 500);
    expect(states.at(-1)).toBe('up');
    await t.close();
  });

  it('picks the lines of its own interface from ip monitor output', () => {
    expect(mentionsInterface('3: fv2ga@fv2gb: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state LOWERLAYERDOWN', 'fv2ga')).toBe(true);
    expect(mentionsInterface('2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP', 'eth0')).toBe(true);
    expect(mentionsInterface('Deleted 3: fv2ga@NONE: <BROADCAST,MULTICAST> mtu 1500', 'fv2ga')).toBe(true);
    expect(mentionsInterface('2: fv2gb@fv2ga: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', 'fv2ga')).toBe(false);
    expect(mentionsInterface('4: eth0.5@eth0: <BROADCAST> mtu 1500', 'eth0')).toBe(false);
    expect(mentionsInterface('    link/ether 02:f2:00:00:00:0a brd ff:ff:ff:ff:ff:ff', 'fv2ga')).toBe(false);
  });

  it('rejects a failed injection with sendFailed, and rejects after close', async () => {
    const { t, pcap } = await open();
    pcap.last.failInject = true;
    await expect(t.send(PING)).rejects.toMatchObject({ kind: 'sendFailed' });
    await t.close();
    await expect(t.send(PING)).rejects.toBeInstanceOf(TransportError);
    await expect(t.send(PING)).rejects.toMatchObject({ kind: 'closed' });
  });
});

// ---------------------------------------------------------------------------------------------
// Real libpcap over a veth pair between two network namespaces.

describe('Ethernet transport over a veth pair between two namespaces', () => {
  let pair: VethPair | undefined;
  let host: NsChild;
  let mod: NsChild;
  const children: NsChild[] = [];

  beforeAll(async () => {
    const can = netnsAvailable();
    if (!can.ok) throw new Error(`these tests need root and iproute2 network namespaces: ${can.why}`);
    pair = await createVethPair();
    // An hour between polls: only link events (ip monitor link) can notice a change in time.
    host = spawnInNamespace(pair.a.ns, 'test/helpers/eth-node.ts', { iface: pair.a.iface, peerMac: pair.b.mac, role: 'host', pollMs: 3_600_000 });
    mod = spawnInNamespace(pair.b.ns, 'test/helpers/eth-node.ts', { iface: pair.b.iface, role: 'module', pollMs: 3_600_000 });
    children.push(host, mod);
    for (const c of children) {
      const ready = await c.waitFor((l) => l.ev === 'ready' || l.ev === 'openError', 20_000);
      if (ready.ev !== 'ready') throw new Error(`child failed to open: ${JSON.stringify(ready)}`);
    }
  });

  afterAll(() => {
    for (const c of children) c.kill();
    pair?.destroy();
  });

  const frameCount = (c: NsChild): number => c.seen('frame').length;
  const nextFrame = (c: NsChild) => c.waitFor((l) => l.ev === 'frame', 10_000, c.count);

  it('carries frames both ways', async () => {
    const atModule = nextFrame(mod);
    expect(await host.request({ op: 'send', hex: bytesToHex(PING) })).toMatchObject({ ok: true });
    expect((await atModule).hex).toBe(bytesToHex(PING));
    const reply = encodeFrame({ modId: 0x0e, subId: 0x01, reqId: 1, payload: Uint8Array.of(1, 2, 3, 4, 5) });
    const atHost = nextFrame(host);
    expect(await mod.request({ op: 'send', hex: bytesToHex(reply) })).toMatchObject({ ok: true });
    expect((await atHost).hex).toBe(bytesToHex(reply));
  });

  it('carries a frame with a 1400-byte payload, and a 3000-byte one in pieces', async () => {
    for (const big of [bigFrame(1400), bigFrame(3000, 8)]) {
      const atModule = nextFrame(mod);
      await host.request({ op: 'send', hex: bytesToHex(big) });
      expect((await atModule).hex).toBe(bytesToHex(big));
      const atHost = nextFrame(host);
      await mod.request({ op: 'send', hex: bytesToHex(big) });
      expect((await atHost).hex).toBe(bytesToHex(big));
    }
  });

  it('ignores frames from another MAC and frames of another Ethernet type', async () => {
    if (!pair) throw new Error('no veth pair');
    const before = frameCount(host);
    const other = ethOf('02:f2:00:00:00:99', pair.a.mac, encodeControlFrame(bigFrame(3, 0x51)));
    const wrongType = ethOf(pair.b.mac, pair.a.mac, encodeControlFrame(bigFrame(3, 0x52)), 0x88b5);
    const notControl = ethOf(pair.b.mac, pair.a.mac, hexToBytes('0103000d'));
    const good = ethOf(pair.b.mac, pair.a.mac, encodeControlFrame(bigFrame(3, 0x53)));
    for (const f of [other, wrongType, notControl, good]) await mod.request({ op: 'raw', hex: bytesToHex(f) });
    const got = await host.waitFor((l) => l.ev === 'frame' && l.hex === bytesToHex(bigFrame(3, 0x53)));
    expect(got).toBeDefined();
    // Frames arrive in order on a veth: the three before the good one were dropped.
    expect(
      host
        .seen('frame')
        .slice(before)
        .map((l) => l.hex),
    ).toEqual([bytesToHex(bigFrame(3, 0x53))]);
    const counters = await host.request({ op: 'counters' });
    expect(counters.ignored).toBe(1);
  });

  it('takes the frame end from the control header when the frame carries padding', async () => {
    if (!pair) throw new Error('no veth pair');
    const short = encodeControlFrame(PING);
    const padded = new Uint8Array(14 + 46).fill(0xa5);
    padded.set(ethOf(pair.b.mac, pair.a.mac, short).subarray(0, 14 + short.length));
    const atHost = nextFrame(host);
    await mod.request({ op: 'raw', hex: bytesToHex(padded) });
    expect((await atHost).hex).toBe(bytesToHex(PING));
  });

  it('follows the carrier from link events: the far end down, then up again', async () => {
    if (!pair) throw new Error('no veth pair');
    const from = host.count;
    execFileSync('ip', ['-n', pair.b.ns, 'link', 'set', pair.b.iface, 'down']);
    const down = await host.waitFor((l) => l.ev === 'link' && l.up === false, 10_000, from);
    expect(down.kind).toBe('interfaceDown');
    expect(await host.request({ op: 'send', hex: bytesToHex(PING) })).toMatchObject({ ok: false, kind: 'interfaceDown' });
    const [upFrom, modUpFrom] = [host.count, mod.count];
    execFileSync('ip', ['-n', pair.b.ns, 'link', 'set', pair.b.iface, 'up']);
    await host.waitFor((l) => l.ev === 'link' && l.up === true, 10_000, upFrom);
    // The module end was switched off: its capture is reopened when it is back.
    await mod.waitFor((l) => l.ev === 'link' && l.up === true, 10_000, modUpFrom);
    const atModule = nextFrame(mod);
    expect(await host.request({ op: 'send', hex: bytesToHex(PING) })).toMatchObject({ ok: true });
    expect((await atModule).hex).toBe(bytesToHex(PING));
  });

  it('reports link down with a typed error when the interface is deleted', async () => {
    if (!pair) throw new Error('no veth pair');
    const [hostFrom, modFrom] = [host.count, mod.count];
    pair.deleteLink('a');
    // The kernel announces the interface going down, then its deletion: each is one event.
    const gone = (l: { ev?: string; up?: unknown; kind?: unknown }): boolean => l.ev === 'link' && l.up === false && l.kind === 'noSuchInterface';
    expect(await host.waitFor(gone, 10_000, hostFrom)).toBeDefined();
    expect(await mod.waitFor(gone, 10_000, modFrom)).toBeDefined();
    const res = await host.request({ op: 'send', hex: bytesToHex(PING) });
    expect(res).toMatchObject({ ok: false, kind: 'noSuchInterface' });
  });
});
