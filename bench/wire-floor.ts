/**
 * The floor under bench/wire-reaction.ts (issue 12 target 1): how fast can *any* host built on our
 * Ethernet transport (Node.js, libpcap in immediate mode, one event loop) answer a frame on this
 * machine? An "echo host" whose whole logic is "send a frame back" sits on end b of a veth pair
 * (our transport, module role); a "pinger" on end a (our transport, host role) sends one HCI
 * frame every `--period` ms (100 ms: the cadence of the charge loop, so the echo host sleeps
 * between frames as the real host does); dumpcap captures on end b. Reaction = frame in -> echo
 * out on b, from the capture's kernel timestamps, measured exactly as wire-reaction measures the
 * real host. What the real host takes above this floor is ours (machines, codec, log); the floor
 * itself is the kernel's wake-up of a sleeping process, libuv, node-pcap and V8 entering JS.
 *
 * `--echo python` puts bench/wire-echo.py there instead (one AF_PACKET socket, blocking recv and
 * send): the machine's own floor, without Node.js and libpcap. `--echo pcap` is a Node.js echo on
 * the `pcap` package alone, with the transport's capture options (immediate mode, 2 KiB
 * snapshots, 1 MiB ring) and nothing of ours (no transports/, RxJS, deframer): the three echo
 * hosts split the floor into the machine, node-pcap + Node.js, and our transport's share.
 *
 *   node --import tsx bench/wire-floor.ts [--runs 3] [--count 300] [--period 100] [--echo python|pcap] [--root <checkout>]     (root)
 *
 * `--root`: the transport echo host runs that checkout's transports/eth.ts (before/after).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrapEthernet } from '../app/capture.js';
import { readCapture } from '../app/pcapng.js';
import { encodeFrame } from '../codec/frame.js';
import { createVethPair, netnsAvailable } from '../test/helpers/netns.js';
import { pathToFileURL } from 'node:url';
import type { createEthTransport as CreateEthTransport } from '../transports/eth.js';
import { arg, load, median, pct, sleep, startInNamespace, waitText } from './wire-helpers.js';

const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

// A framing ping (manual 10.3): any well-formed HCI frame would do.
const FRAME = encodeFrame({ modId: 0x10, subId: 0x40, reqId: 0, payload: new Uint8Array(4) });

/** The subset of node-pcap's session the bare echo uses (the package has no types of its own here). */
interface BarePcap {
  createSession(
    iface: string,
    o: { filter: string; buffer_timeout: number; snap_length: number; buffer_size: number; promiscuous: boolean },
  ): {
    on(e: 'packet', l: (p: { buf: Buffer; header: Buffer }) => void): void;
    inject(b: Buffer): void;
  };
}

/**
 * The echo on node-pcap alone: the same capture options as transports/eth.ts, the filter its
 * module role builds, and per packet only what any echo must do (swap the addresses into a send
 * buffer, inject). Whatever our transport takes above this is its own code.
 */
async function barePcapEcho(iface: string): Promise<void> {
  const mod = (await import('pcap')) as unknown as { default?: BarePcap } & BarePcap;
  const pcap = mod.default ?? mod;
  const ownText = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  const own = Buffer.from(ownText.replaceAll(':', ''), 'hex');
  const session = pcap.createSession(iface, {
    filter: `ether proto 0x6003 and ether dst ${ownText}`,
    buffer_timeout: 0,
    snap_length: 2048,
    buffer_size: 1 << 20,
    promiscuous: false,
  });
  const out = Buffer.alloc(2048);
  session.on('packet', (p) => {
    const len = Math.min(p.header.readUInt32LE(8), p.buf.length);
    p.buf.copy(out, 0, 6, 12);
    own.copy(out, 6);
    p.buf.copy(out, 12, 12, len);
    session.inject(out.subarray(0, len));
  });
  console.log('echo ready');
  process.on('SIGTERM', () => process.exit(0));
}

/** Child side: `--side echo|echo-pcap|ping --iface x [--peer mac]`. */
async function side(which: string): Promise<void> {
  const iface = argText('iface') ?? '';
  const peerMac = argText('peer');
  if (which === 'echo-pcap') return barePcapEcho(iface);
  // `--root <tree>`: the echo host on another checkout's transport (a before/after in one run).
  const root = argText('root') ?? new URL('..', import.meta.url).pathname;
  const { createEthTransport } = (await import(pathToFileURL(`${root}/transports/eth.ts`).href)) as { createEthTransport: typeof CreateEthTransport };
  const t = await createEthTransport({ iface, role: which === 'echo' ? 'module' : 'host', ...(peerMac ? { peerMac } : {}) });
  if (which === 'echo') {
    // As the HCI client reads it: the direct listener where the transport has one, else frames$.
    const echo = (f: Uint8Array): void => void t.send(f);
    if (t.listen) t.listen({ frame: echo, end: () => {} });
    else t.frames$.subscribe(echo);
    console.log('echo ready');
    process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
    return;
  }
  const count = arg('count', 300);
  const period = arg('period', 100);
  for (let i = 0; i < count; i++) {
    await t.send(FRAME);
    await sleep(period);
  }
  await t.close();
  console.log('ping done');
  process.exit(0);
}

async function once(dir: string, run: number, count: number, period: number): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const veth = await createVethPair();
  const loadBefore = load();
  const file = join(dir, `floor${run}.pcapng`);
  const tsx = ['--import', 'tsx', new URL(import.meta.url).pathname];
  const kind = argText('echo');
  const echo =
    kind === 'python'
      ? startInNamespace(veth.b.ns, 'python3', [new URL('./wire-echo.py', import.meta.url).pathname, veth.b.iface])
      : startInNamespace(veth.b.ns, process.execPath, [
          ...tsx,
          '--side',
          kind === 'pcap' ? 'echo-pcap' : 'echo',
          '--iface',
          veth.b.iface,
          ...(argText('root') ? ['--root', argText('root') as string] : []),
        ]);
  const cap = startInNamespace(veth.b.ns, 'dumpcap', ['-i', veth.b.iface, '-f', 'ether proto 0x6003', '-w', file]);
  try {
    await waitText(echo, /echo ready/, 30_000, 'echo host');
    await waitText(cap, /Capturing on/, 10_000, 'dumpcap');
    const ping = startInNamespace(veth.a.ns, process.execPath, [...tsx, '--side', 'ping', '--iface', veth.a.iface, '--peer', veth.b.mac, '--count', String(count), '--period', String(period)]);
    const code = await ping.exit;
    if (code !== 0) throw new Error(`pinger exited with ${code}: ${ping.out.join('').slice(-800)}`);
    await sleep(200);
    cap.proc.kill('SIGINT');
    await cap.exit;
    const frames = readCapture(file).records.flatMap((r) => {
      const e = unwrapEthernet(r.data);
      return e ? [{ atMs: r.atMs, out: e.src === veth.b.mac }] : [];
    });
    // Skip the first tenth: JIT warm-up of the echo host.
    const us = frames
      .flatMap((f, i) => (!f.out && frames[i + 1]?.out ? [((frames[i + 1]?.atMs ?? 0) - f.atMs) * 1000] : []))
      .slice(Math.floor(count / 10))
      .sort((a, b) => a - b);
    const r = { p50: pct(us, 50) / 1000, p99: pct(us, 99) / 1000, max: (us.at(-1) ?? NaN) / 1000, n: us.length };
    console.log(`run ${run}: n=${r.n} p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(3)} ms; load ${loadBefore} -> ${load()}`);
    return r;
  } finally {
    echo.proc.kill('SIGTERM');
    cap.proc.kill('SIGINT');
    await Promise.race([Promise.all([echo.exit, cap.exit]), sleep(3000)]);
    veth.destroy();
  }
}

const ECHO_NAMES: Record<string, string> = { python: 'in Python, AF_PACKET', pcap: 'on node-pcap alone' };

const which = argText('side');
if (which) {
  await side(which);
} else {
  const can = netnsAvailable();
  if (!can.ok) {
    console.log(`wire-floor bench skipped: needs root and iproute2 for a network namespace (${can.why.split('\n')[0]})`);
    process.exit(0);
  }
  const runs = arg('runs', 3);
  const count = arg('count', 300);
  const period = arg('period', 100);
  const dir = mkdtempSync(join(tmpdir(), 'fv2g-floor-'));
  const results = [];
  try {
    for (let i = 1; i <= runs; i++) results.push(await once(dir, i, count, period));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `wire floor (echo host ${ECHO_NAMES[argText('echo') ?? ''] ?? 'on our transport'}, frame in -> echo out, veth capture): median of ${runs} runs p50 ${median(results.map((r) => r.p50)).toFixed(3)} ms, ` +
      `p99 ${median(results.map((r) => r.p99)).toFixed(3)} ms, max ${median(results.map((r) => r.max)).toFixed(3)} ms; load ${load()}`,
  );
}
