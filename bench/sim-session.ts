/**
 * Wall and CPU time of whole DC sessions between the simulated modules on a virtual clock,
 * driven by the scripted host stubs (codec + memory transport + simulated modules, no machines):
 *
 * - "full": the standard full session, every phase once: plug-in, SLAC, session setup
 *   (SAP/setup/service discovery/payment), authorization, schedules, cable check, pre-charge,
 *   a 10 s (virtual) charge loop, stop, welding detection, session stop.
 *   Target (issue 4): < 100 ms of wall time.
 * - "long": the same with 5 min of charge loop (~1360 CurrentDemand exchanges), for µs per frame.
 *
 * The first run of each case is reported apart (cold: module loading is done, but JIT is not);
 * then the median of the next runs. CPU = process.cpuUsage (user + system, all threads, GC and
 * JIT included); ELU = event-loop utilisation over the run. On a loaded 2-core machine wall time
 * includes waiting for a core: compare it with CPU time and the load average printed.
 *
 *   node --import tsx bench/sim-session.ts [runs]       (default 7 per case)
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '../util/clock.js';
import { createSimulatedPair, parseScenario } from '../sim/index.js';
import { ScriptedHost } from '../sim/host-stub.js';
import { runEvseStub, runEvStub } from '../sim/stub-stations.js';
import { median } from './stats.js';

interface Sample {
  wallMs: number;
  cpuMs: number;
  elu: number;
  virtualS: number;
  frames: number;
}

async function once(chargeForMs: number): Promise<Sample> {
  const clock = new VirtualClock();
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: 1000 } }) });
  let frames = 0;
  pair.evse.traffic$.subscribe(() => frames++);
  pair.ev.traffic$.subscribe(() => frames++);
  const evse = new ScriptedHost(pair.evseHost, clock);
  const ev = new ScriptedHost(pair.evHost, clock);
  const seen = (host: ScriptedHost, type: string): (() => boolean) => {
    // Scans each status once (the list grows to thousands in the long case).
    let at = 0;
    let found = false;
    return () => {
      for (; !found && at < host.statuses.length; at++) found = host.statuses[at]?.type === type;
      return found;
    };
  };
  const evStopped = seen(ev, 'V2g.EvSessionStopped');
  const evseStopped = seen(evse, 'V2g.EvseSessionStopped');
  const elu0 = performance.eventLoopUtilization();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  void runEvseStub(evse, clock);
  void runEvStub(ev, clock, { energyTransferMode: 1, chargeForMs });
  const done = await clock.runUntil(() => evStopped() && evseStopped(), 3_600_000);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  if (!done) throw new Error('session did not finish');
  await pair.close();
  return { wallMs, cpuMs: (c.user + c.system) / 1000, elu, virtualS: clock.now() / 1000, frames };
}

export interface SessionFigures {
  name: string;
  coldWallMs: number;
  wallMs: number;
  cpuMs: number;
  frames: number;
  virtualS: number;
  usPerFrameWall: number;
  usPerFrameCpu: number;
}

async function bench(name: string, chargeForMs: number, runs: number): Promise<SessionFigures> {
  const cold = await once(chargeForMs);
  const rest: Sample[] = [];
  for (let i = 0; i < runs; i++) rest.push(await once(chargeForMs));
  const wallMs = median(rest.map((r) => r.wallMs));
  const cpuMs = median(rest.map((r) => r.cpuMs));
  const elu = median(rest.map((r) => r.elu));
  const frameCounts = new Set([cold, ...rest].map((r) => r.frames));
  if (frameCounts.size !== 1) throw new Error(`${name}: frame counts differ between runs: ${[...frameCounts].join(', ')}`);
  const f: SessionFigures = {
    name,
    coldWallMs: cold.wallMs,
    wallMs,
    cpuMs,
    frames: cold.frames,
    virtualS: cold.virtualS,
    usPerFrameWall: (wallMs * 1000) / cold.frames,
    usPerFrameCpu: (cpuMs * 1000) / cold.frames,
  };
  const walls = rest.map((r) => r.wallMs).sort((a, b) => a - b);
  console.log(
    `sim ${name} DC session: ${f.virtualS.toFixed(1)} s virtual, ${f.frames} HCI frames | cold ${cold.wallMs.toFixed(0)} ms wall (${cold.cpuMs.toFixed(0)} ms CPU)` +
      ` | warm median of ${runs}: ${wallMs.toFixed(1)} ms wall (min ${walls[0]?.toFixed(1)}, max ${walls.at(-1)?.toFixed(1)}), ${cpuMs.toFixed(1)} ms CPU, ELU ${elu.toFixed(2)}` +
      ` | ${f.usPerFrameWall.toFixed(1)} µs/frame wall, ${f.usPerFrameCpu.toFixed(1)} µs/frame CPU`,
  );
  return f;
}

const runs = Number(process.argv[2] ?? 7);
const load0 = loadavg();
const full = await bench('full', 10_000, runs);
const long = await bench('long', 300_000, runs);
const load1 = loadavg();
console.log(
  `summary: full session ${full.wallMs.toFixed(1)} ms wall / ${full.cpuMs.toFixed(1)} ms CPU (target < 100 ms wall: ${full.wallMs < 100 ? 'met' : 'NOT met'}; cold ${full.coldWallMs.toFixed(0)} ms);` +
    ` long ${long.wallMs.toFixed(0)} ms wall, ${long.usPerFrameWall.toFixed(1)} µs/frame wall, ${long.usPerFrameCpu.toFixed(1)} µs/frame CPU;` +
    ` load average ${load0[0]?.toFixed(2)} -> ${load1[0]?.toFixed(2)} (2 cores)`,
);
