/**
 * Idle cost: CPU time an EVSE station uses while it waits for a vehicle to plug in (target:
 * < 0.5 % of one core). The station runs on the simulated pair with the plug never inserted,
 * on a real clock at normal speed; after settling (default 5 s, `--settle <s>`), process.cpuUsage() is read over a
 * window (default 20 s, `--window <s>`) and extrapolated to 60 s. The figure includes the
 * simulated module in the same process, so it is an upper bound for the station alone.
 * Runs `--runs <n>` times (default 3) and prints each run and the median.
 *
 * Ethernet case (issue 12 target 2: <= 0.1 % of one core over 60 s; needs root, else skipped):
 * `freev2g eth` (the compiled CLI, as users run it; `--bin <path>` measures another tree) as the
 * EVSE host on one end of a veth pair between two namespaces, `freev2g module-sim --role EVSE`
 * with a car that never plugs in on the other. The host process's CPU time, every thread, is
 * read from /proc/<pid>/task/<tid>/schedstat (ns) over the window; the module-sim process is
 * not counted. Beside it each run prints the host's wake-ups per second (voluntary context
 * switches, all threads) and the frames it sent per second (the veth end's counter; at rest its
 * liveness Pings), which depend far less on the machine's load than CPU time does.
 *
 * `--threads` prints each thread's wake-ups and CPU over the window; `--floor` runs the floor
 * processes beside the host (see `onceFloor`).
 *
 *   node --import tsx bench/idle.ts [--settle 5] [--window 20] [--runs 3] [--only memory|eth] [--bin path] [--cpu-prof dir] [--threads] [--floor [--floor-ms 1700]]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHciClient } from '../machines/hci-client.js';
import { RealClock } from '../util/clock.js';
import { loadStation } from '../app/config.js';
import { startStation } from '../app/stations.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import { createVethPair, netnsAvailable } from '../test/helpers/netns.js';
import { encodeFrame } from '../codec/frame.js';
import { ethernetControlFrameLength, parseMac, writeEthernetControlFrame } from '../codec/link-headers.js';
import { captureFilter, RING_BYTES, SNAP_LENGTH } from '../transports/eth.js';
import { arg, binPath, cpuMs, load, median, type NsProcess, profileArgs, sleep, startInNamespace, threadDelta, threadStats, waitText, wakeUps } from './wire-helpers.js';

interface Pair {
  evseHost: Transport;
  close(): Promise<void> | void;
}

async function once(windowS: number): Promise<{ pct: number; loopPct: number }> {
  const clock = new RealClock(1);
  const simPath = '../sim/index.js';
  const sim = (await import(simPath)) as { createSimulatedPair(o: { clock: Clock; scenario?: unknown }): Pair };
  const { parseScenario } = await import('../sim/scenario.js');
  const pair = sim.createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
  const client = createHciClient({ transport: pair.evseHost, clock });
  const station = await startStation({ settings: loadStation(undefined, 'EVSE', { env: {} }), client, clock });
  const phases: string[] = [];
  station.onEvent((e) => {
    if (e.type === 'phase') phases.push(e.phase);
  });
  // Initialisation is done within a second; the rest of the settling time lets start-up work
  // on other threads (V8's background JIT and GC, the tsx loader thread) finish, which
  // process.cpuUsage would otherwise count as the station's idle cost.
  await sleep(settleS * 1000);
  const before = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = process.hrtime.bigint();
  await sleep(windowS * 1000);
  const used = process.cpuUsage(before);
  // The main thread's busy share: the station's own work, without other threads' background work.
  const loopPct = performance.eventLoopUtilization(elu0).utilization * 100;
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  station.shutdown();
  await Promise.race([station.done, sleep(2000)]);
  await client.close();
  await pair.close();
  if (!phases.includes('waitingForVehicle')) process.stderr.write(`warning: station phases ${phases.join(' > ')}\n`);
  return { pct: ((used.user + used.system) / wallUs) * 100, loopPct };
}

interface EthRun {
  /** The host's CPU share over the window, in % of one core. */
  pct: number;
  /** The host's wake-ups (voluntary context switches, all threads) per second. */
  wakeUpsPerS: number;
  /** Frames the host put on its veth end per second: at rest, its liveness Pings. */
  framesPerS: number;
  /**
   * CPU ms and wake-ups of the threads other than the main one over the window: at rest V8's
   * workers run only for a major GC (the memory reducer after start-up), so this tells a window
   * with one from the steady state.
   */
  otherThreads: { cpuMs: number; wakeUps: number };
  /** The process's resident memory at the window's end, MB (VmRSS). */
  rssMb: number;
}

/** Frames sent on one end of the veth pair so far (its interface counter). */
function framesSent(side: { ns: string; iface: string }): number {
  return Number(execFileSync('ip', ['netns', 'exec', side.ns, 'cat', `/sys/class/net/${side.iface}/statistics/tx_packets`], { encoding: 'utf8' }));
}

/** One Ethernet run: the host's CPU share, wake-ups and frames sent over the window. */
async function onceEth(windowS: number, dir: string): Promise<EthRun> {
  const veth = await createVethPair();
  const bin = binPath();
  const scenario = join(dir, 'no-car.json');
  writeFileSync(scenario, JSON.stringify({ name: 'idle', cable: { plugInAfterMs: null } }));
  const sim = startInNamespace(veth.b.ns, process.execPath, [bin, 'module-sim', '--role', 'EVSE', '-i', veth.b.iface, '--scenario', scenario]);
  const host = startInNamespace(veth.a.ns, process.execPath, [
    ...profileArgs(),
    ...hostNodeArgs,
    bin,
    'eth',
    '-i',
    veth.a.iface,
    '-m',
    veth.b.mac,
    '-r',
    'EVSE',
    '--no-records',
    '--log-format',
    'json',
  ]);
  try {
    await waitText(sim, /module-sim: simulated EVSE module/, 60_000, 'module-sim');
    await waitText(host, /StartSlac|waitingForVehicle|Waiting for/i, 60_000, 'the host waiting for a car');
    await sleep(settleS * 1000);
    return await measure(host, veth.a, windowS, 'the host');
  } finally {
    // With --node-args --trace-gc: the host's GCs (V8 prints them on stdout, ms since its start).
    if (hostNodeArgs.includes('--trace-gc'))
      console.log(
        host.out
          .join('')
          .split('\n')
          .filter((l) => /^\[\d+:0x/.test(l))
          .join('\n'),
      );
    host.proc.kill('SIGTERM');
    sim.proc.kill('SIGTERM');
    await Promise.race([Promise.all([host.exit, sim.exit]), sleep(5000)]);
    veth.destroy();
  }
}

/** CPU, wake-ups and frames sent of a settled process `p` over the window (per thread with `--threads`). */
async function measure(p: NsProcess, side: { ns: string; iface: string }, windowS: number, what: string): Promise<EthRun> {
  const pid = p.proc.pid;
  const threads0 = threadStats(pid);
  const main0 = threads0.get(String(pid));
  const [cpu0, wake0, sent0] = [cpuMs(pid), wakeUps(pid), framesSent(side)];
  const t0 = process.hrtime.bigint();
  await sleep(windowS * 1000);
  const [cpu1, wake1, sent1] = [cpuMs(pid), wakeUps(pid), framesSent(side)];
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const threads1 = threadStats(pid);
  const rssMb = Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
  const main1 = threads1.get(String(pid));
  if (p.proc.exitCode !== null) throw new Error(`${what} exited: ${p.out.join('').slice(-800)}`);
  if (perThread) console.log(`${what}, per thread over ${windowS} s:\n${threadDelta(pid, threads0, threads1).join('\n')}`);
  const otherThreads = {
    cpuMs: cpu1 - cpu0 - ((main1?.cpuMs ?? 0) - (main0?.cpuMs ?? 0)),
    wakeUps: wake1 - wake0 - ((main1?.wakeUps ?? 0) - (main0?.wakeUps ?? 0)),
  };
  return { pct: ((cpu1 - cpu0) / wallMs) * 100, wakeUpsPerS: ((wake1 - wake0) * 1000) / wallMs, framesPerS: ((sent1 - sent0) * 1000) / wallMs, otherThreads, rssMb };
}

/**
 * The floor under the host (`--floor`): what a Node process costs on this machine waking at the
 * host's rate without any of our code, run beside the host in the same minutes, each on its own
 * veth pair, measured the same way.
 * - `timer`: a bare `node -e` with a `setInterval` every `--floor-ms` (default the Ping period).
 * - `pcap`: the same with a node-pcap session open on a veth end as the host opens it (filter,
 *   immediate mode, ring), no traffic.
 * - `ping`: node-pcap and module-sim on the other end: every `--floor-ms` it injects one prebuilt
 *   framing Ping and reads the reply in its 'packet' handler, nothing else. The smallest round
 *   trip Node and node-pcap allow; the host's cost above it is ours.
 */
export type FloorKind = 'timer' | 'pcap' | 'ping';

function floorScript(kind: FloorKind, periodMs: number, iface: string, ownMac: string, moduleMac: string): string {
  if (kind === 'timer') return `setInterval(() => {}, ${periodMs});`;
  const open = `const pcap = require('pcap'); const s = pcap.createSession(${JSON.stringify(iface)}, { filter: ${JSON.stringify(captureFilter('host', ownMac, moduleMac))}, buffer_timeout: 0, snap_length: ${SNAP_LENGTH}, buffer_size: ${RING_BYTES}, promiscuous: false }); let replies = 0; s.on('packet', () => { replies++; });`;
  if (kind === 'pcap') return `${open} setInterval(() => {}, ${periodMs});`;
  const ping = encodeFrame({ modId: 0x0e, subId: 0x00, reqId: 1, payload: new Uint8Array(0) });
  const frame = Buffer.alloc(ethernetControlFrameLength(ping.length));
  writeEthernetControlFrame(frame, parseMac(moduleMac), parseMac(ownMac), ping);
  return `${open} const f = Buffer.from(${JSON.stringify(frame.toString('hex'))}, 'hex'); setInterval(() => s.inject(f), ${periodMs});`;
}

async function onceFloor(kind: FloorKind, windowS: number, periodMs: number, dir: string): Promise<EthRun> {
  const veth = await createVethPair();
  const scenario = join(dir, `no-car-${kind}.json`);
  writeFileSync(scenario, JSON.stringify({ name: 'idle', cable: { plugInAfterMs: null } }));
  const sim = kind === 'ping' ? startInNamespace(veth.b.ns, process.execPath, [binPath(), 'module-sim', '--role', 'EVSE', '-i', veth.b.iface, '--scenario', scenario]) : undefined;
  const p = startInNamespace(veth.a.ns, process.execPath, ['-e', floorScript(kind, periodMs, veth.a.iface, veth.a.mac, veth.b.mac)]);
  try {
    if (sim) await waitText(sim, /module-sim: simulated EVSE module/, 60_000, 'module-sim');
    await sleep(settleS * 1000);
    return await measure(p, veth.a, windowS, `floor ${kind}`);
  } finally {
    p.proc.kill('SIGTERM');
    sim?.proc.kill('SIGTERM');
    await Promise.race([Promise.all([p.exit, sim?.exit]), sleep(5000)]);
    veth.destroy();
  }
}

const windowS = arg('window', 20);
const settleS = arg('settle', 5);
const runs = arg('runs', 3);
const perThread = process.argv.includes('--threads');
const floor = process.argv.includes('--floor');
const floorMs = arg('floor-ms', 1700);
/** `--node-args "<flags>"`: Node/V8 flags for the host process (e.g. "--trace-gc"). */
const nodeArgsAt = process.argv.indexOf('--node-args');
const hostNodeArgs = nodeArgsAt >= 0 ? (process.argv[nodeArgsAt + 1] ?? '').split(' ').filter(Boolean) : [];
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

if (only !== 'eth') {
  const results: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { pct, loopPct } = await once(windowS);
    results.push(pct);
    const cpuMsPerMin = (pct / 100) * 60_000;
    console.log(`run ${i + 1}: ${pct.toFixed(3)} % of one core (${cpuMsPerMin.toFixed(0)} ms CPU per 60 s, from a ${windowS} s window); event loop busy ${loopPct.toFixed(3)} %`);
  }
  const m = median(results);
  console.log(`idle EVSE station waiting for plug-in: median ${m.toFixed(3)} % of one core (target < 0.5 %) ${m < 0.5 ? 'OK' : 'OVER TARGET'}`);
}

if (only !== 'memory') {
  const can = netnsAvailable();
  if (!can.ok) console.log(`idle on Ethernet skipped: needs root and iproute2 for a network namespace (${can.why.split('\n')[0]})`);
  else {
    const dir = mkdtempSync(join(tmpdir(), 'fv2g-idle-'));
    const eth: EthRun[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        const load0 = load();
        // With --floor the floor processes run beside the host, in the same minutes.
        const floors = floor ? (['timer', 'pcap', 'ping'] as const).map((k) => [k, onceFloor(k, windowS, floorMs, dir)] as const) : [];
        const r = await onceEth(windowS, dir);
        eth.push(r);
        const cpuMsPerS = r.pct * 10;
        const load1 = load();
        console.log(
          `eth run ${i + 1}: ${r.pct.toFixed(3)} % of one core (${(cpuMsPerS * 60).toFixed(0)} ms CPU per 60 s, from a ${windowS} s window); ` +
            `${r.wakeUpsPerS.toFixed(2)} wake-ups/s, ${r.framesPerS.toFixed(2)} frames sent/s, ${(cpuMsPerS / r.framesPerS).toFixed(2)} ms CPU per frame sent, ` +
            `${(cpuMsPerS / r.wakeUpsPerS).toFixed(2)} ms CPU per wake-up; threads other than the main one ${Math.max(0, r.otherThreads.cpuMs).toFixed(1)} ms, ` +
            `${Math.max(0, r.otherThreads.wakeUps)} wake-ups${r.otherThreads.wakeUps > 5 ? " (V8's GC workers: a major GC in the window)" : ''}; RSS ${r.rssMb.toFixed(1)} MB; load ${load0} -> ${load1}`,
        );
        for (const [kind, run] of floors) {
          const f = await run;
          const ms = f.pct * 10;
          console.log(
            `  floor ${kind.padEnd(5)} (every ${floorMs} ms): ${f.pct.toFixed(3)} % (${(ms * 60).toFixed(0)} ms CPU per 60 s); ${f.wakeUpsPerS.toFixed(2)} wake-ups/s, ` +
              `${(ms / f.wakeUpsPerS).toFixed(2)} ms CPU per wake-up, ${f.framesPerS.toFixed(2)} frames sent/s`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const m = median(eth.map((r) => r.pct));
    console.log(
      `idle EVSE host on Ethernet (veth, module-sim, no car): median ${m.toFixed(3)} % of one core (target <= 0.1 %) ${m <= 0.1 ? 'OK' : 'OVER TARGET'}; ` +
        `median ${median(eth.map((r) => r.wakeUpsPerS)).toFixed(2)} wake-ups/s, ${median(eth.map((r) => r.framesPerS)).toFixed(2)} frames sent/s`,
    );
  }
}
