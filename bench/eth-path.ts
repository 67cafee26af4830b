import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { callgrindRounds, dumpMark, zeroMark } from './callgrind-marks.js';
import { median } from './stats.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const root = resolve(arg('root', new URL('..', import.meta.url).pathname));
const frames = Number(arg('frames', '60'));
const warmup = Number(arg('warmup', '20'));
const sleepMs = Number(arg('sleep-ms', '20'));

if (process.argv.includes('--callgrind')) {
  const counts = callgrindRounds(new URL(import.meta.url).pathname, 'fv2g-ethpath-');
  // The rounds alternate: transport echo, bare echo, bare echo behind one RxJS Subject.
  for (const [k, name] of ['our transport', 'bare node-pcap echo', 'bare echo behind an RxJS Subject'].entries()) {
    const mine = counts.filter((_, i) => i % 3 === k).slice(warmup);
    console.log(`${name}: packet listener -> inject, median ${(median(mine) / 1000).toFixed(2)} k instructions over ${mine.length} frames (callgrind, interpreter); root ${root}`);
  }
  process.exit(0);
}

type Listener = (p: { buf: Buffer; header: Buffer }) => void;
/** A fake node-pcap session: the test drives `packet`; `inject` is where the path ends. */
function fakePcap(onInject: () => void) {
  const sessions: Array<{ packet?: Listener }> = [];
  return {
    sessions,
    module: {
      warningHandler: (_: string) => {},
      createSession() {
        const s: { packet?: Listener } = {};
        sessions.push(s);
        return {
          on(e: string, l: Listener) {
            if (e === 'packet') s.packet = l;
          },
          inject(_b: Buffer) {
            onInject();
          },
          close() {},
        };
      },
    },
  };
}

const sys = mkdtempSync(join(tmpdir(), 'fv2g-ethpath-sys-'));
mkdirSync(join(sys, 'eth0'));
writeFileSync(join(sys, 'eth0/address'), '02:f2:00:00:00:0b\n');
writeFileSync(join(sys, 'eth0/operstate'), 'up\n');
writeFileSync(join(sys, 'eth0/flags'), '0x1003\n');

const { createEthTransport } = await import(pathToFileURL(`${root}/transports/eth.ts`).href);
const { encodeFrame } = await import(pathToFileURL(`${root}/codec/frame.ts`).href);
const links = await import(pathToFileURL(`${root}/codec/link-headers.ts`).href);
let injected: (() => void) | undefined;
const fake = fakePcap(() => {
  dumpMark();
  injected?.();
});
const t = await createEthTransport({ iface: 'eth0', role: 'module', sysfsNet: sys, linkWatch: 'poll', pollMs: 3_600_000, importer: async () => fake.module });
// As the HCI client reads it: the direct listener where the transport has one (ninth round), else `frames$`.
const echo = (f: Uint8Array): void => void t.send(f);
if (t.listen) t.listen({ frame: echo, end: () => {} });
else t.frames$.subscribe(echo);

// The bare echo of wire-floor.ts --echo pcap, on a second fake session.
const own = Buffer.from('02f20000000b', 'hex');
const out = Buffer.alloc(2048);
const bare = fake.module.createSession();
bare.on('packet', (p) => {
  const len = Math.min(p.header.readUInt32LE(8), p.buf.length);
  p.buf.copy(out, 0, 6, 12);
  own.copy(out, 6);
  p.buf.copy(out, 12, 12, len);
  bare.inject(out.subarray(0, len));
});

// A framing Ping from host 02:f2:..:0a, as node-pcap hands it over: one shared buffer, a header.
const hci = encodeFrame({ modId: 0x10, subId: 0x40, reqId: 0, payload: new Uint8Array(4) });
const eth = Buffer.alloc(2048);
const ethLength: number = links.writeEthernetControlFrame(eth, Uint8Array.from(own), Buffer.from('02f20000000a', 'hex'), hci);
const header = Buffer.alloc(16);
header.writeUInt32LE(ethLength, 8);
header.writeUInt32LE(ethLength, 12);

// The same bare echo with one RxJS Subject between the capture and the echo, as `frames$` is
// between our transport and the HCI client: what the Subject's layers cost on their own.
const { Subject } = await import('rxjs');
const hop = new Subject<{ buf: Buffer; header: Buffer }>();
const viaSubject = fake.module.createSession();
viaSubject.on('packet', (p) => hop.next(p));
hop.subscribe((p) => {
  const len = Math.min(p.header.readUInt32LE(8), p.buf.length);
  p.buf.copy(out, 0, 6, 12);
  own.copy(out, 6);
  p.buf.copy(out, 12, 12, len);
  viaSubject.inject(out.subarray(0, len));
});

const listeners = [fake.sessions[0]?.packet, fake.sessions[1]?.packet, fake.sessions[2]?.packet];
for (let i = 0; i < frames; i++) {
  for (const l of listeners) {
    await sleep(sleepMs);
    let done = false;
    injected = () => {
      done = true;
    };
    zeroMark();
    l?.({ buf: eth, header });
    if (!done) throw new Error('no echo');
  }
}
await t.close();
rmSync(sys, { recursive: true, force: true });
console.log(`eth-path: ${frames} frames through each echo; root ${root}`);
