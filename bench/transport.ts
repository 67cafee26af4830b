/**
 * Transport bench: ping-pong round trips (host sends an HCI frame, the other end echoes it) over
 * the in-process memory pair and over a veth pair inside a private network namespace (real
 * libpcap on both ends). Prints round-trip latency p50/p99 and frames per second (both
 * directions counted), each the median of several runs.
 *
 *   npx tsx bench/transport.ts            (the veth part needs root)
 *
 * The veth part re-runs this file inside the namespace (`--inner-eth`), because a pcap session
 * must live in the namespace of its interface. No frame leaves the namespace.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, filter, take } from 'rxjs';
import { encodeFrame } from '../codec/frame.js';
import { createEthTransport } from '../transports/eth.js';
import { createMemoryPair } from '../transports/memory.js';
import type { Transport } from '../transports/transport.js';
import { median, pct } from './stats.js';

const RUNS = 5;
const SIZES = [5, 1400];

interface RunResult {
  p50Us: number;
  p99Us: number;
  framesPerS: number;
}

interface Row extends RunResult {
  medium: string;
  payload: number;
  roundTrips: number;
}

/** Makes `echo` send back every frame it receives. */
function echo(t: Transport): void {
  t.frames$.subscribe((f) => {
    void t.send(f).catch(() => undefined);
  });
}

/** `n` sequential round trips from `host` (one frame in flight at a time). */
async function pingPong(host: Transport, n: number, payload: number): Promise<RunResult> {
  const rtts: number[] = [];
  // Frames are built beforehand: the bench measures the transport, not the encoder.
  const frames = Array.from({ length: 256 }, (_, r) => encodeFrame({ modId: 0x0e, subId: 0x00, reqId: r, payload: new Uint8Array(payload).fill(r) }));
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const f = frames[i & 0xff] ?? new Uint8Array();
    const back = firstValueFrom(
      host.frames$.pipe(
        filter((x) => x[3] === (i & 0xff)),
        take(1),
      ),
    );
    const t0 = process.hrtime.bigint();
    await host.send(f);
    await back;
    rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rtts.sort((a, b) => a - b);
  return { p50Us: pct(rtts, 50), p99Us: pct(rtts, 99), framesPerS: (2 * n) / seconds };
}

async function runs(host: Transport, n: number, payload: number): Promise<RunResult> {
  await pingPong(host, Math.min(200, n), payload); // warm-up (JIT, caches)
  const results: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) results.push(await pingPong(host, n, payload));
  return {
    p50Us: median(results.map((x) => x.p50Us)),
    p99Us: median(results.map((x) => x.p99Us)),
    framesPerS: median(results.map((x) => x.framesPerS)),
  };
}

async function memoryBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const payload of SIZES) {
    const [host, mod] = createMemoryPair();
    echo(mod);
    const n = 5000;
    rows.push({ medium: 'memory', payload, roundTrips: n, ...(await runs(host, n, payload)) });
    await host.close();
    await mod.close();
  }
  return rows;
}

/** Inside the namespace: both transports in this process, the module end echoing. */
async function innerEth(args: { a: string; b: string; macA: string; macB: string }): Promise<void> {
  const host = await createEthTransport({ iface: args.a, peerMac: args.macB, role: 'host' });
  const mod = await createEthTransport({ iface: args.b, role: 'module' });
  echo(mod);
  const rows: Row[] = [];
  for (const payload of SIZES) {
    const n = 2000;
    rows.push({ medium: 'veth+pcap', payload, roundTrips: n, ...(await runs(host, n, payload)) });
  }
  await host.close();
  await mod.close();
  process.stdout.write(`${JSON.stringify(rows)}\n`);
  process.exit(0);
}

async function vethBench(): Promise<Row[] | string> {
  const { createVethPair } = await import('../test/helpers/netns.js');
  let pair: Awaited<ReturnType<typeof createVethPair>>;
  try {
    pair = await createVethPair({ sameNamespace: true });
  } catch (e) {
    return `veth bench skipped: cannot create a network namespace (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    const args = { a: pair.a.iface, b: pair.b.iface, macA: pair.a.mac, macB: pair.b.mac };
    const script = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', pair.a.ns, process.execPath, '--import', 'tsx', script, '--inner-eth', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    if (code !== 0) return `veth bench failed (exit ${code})`;
    return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as Row[];
  } finally {
    pair.destroy();
  }
}

function print(rows: Row[]): void {
  console.log('medium      payload  round trips  p50 RTT (µs)  p99 RTT (µs)  frames/s');
  for (const r of rows) {
    console.log(
      `${r.medium.padEnd(11)} ${String(r.payload).padStart(7)}  ${String(r.roundTrips).padStart(11)}  ${r.p50Us.toFixed(1).padStart(12)}  ${r.p99Us
        .toFixed(1)
        .padStart(12)}  ${Math.round(r.framesPerS).toString().padStart(8)}`,
    );
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--inner-eth');
  if (i >= 0) return innerEth(JSON.parse(process.argv[i + 1] ?? '{}'));
  console.log(`transport bench: ping-pong, median of ${RUNS} runs (node ${process.version}, ${execFileSync('nproc').toString().trim()} cores)`);
  const rows = await memoryBench();
  const veth = await vethBench();
  if (typeof veth === 'string') {
    print(rows);
    console.log(veth);
  } else {
    print([...rows, ...veth]);
  }
}

void main();
