/**
 * Soak (issue 12 item 7): `freev2g sim --sessions 0 --speed max` keeps its memory flat. Runs N
 * short simulated sessions (virtual clock, the car unplugs after each and comes back) through
 * the wiring of `sim` (app/commands/sim.ts: simStations, carFromScenario, createSimulatedPair,
 * runStations with `sessions: 0` and the records appended to a file), samples the heap after a
 * full GC every 100 EVSE sessions, and prints the least-squares slope (bytes per session).
 *
 *   node --expose-gc --import tsx bench/soak.ts [sessions=10000] [maxSeconds=inf]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StationSettings } from '../app/config.js';
import { simStations } from '../app/commands/sim.js';
import { carFromScenario } from '../app/commands/sim-scenario.js';
import { type RunStation, runStations } from '../app/run.js';
import type { StationHandle } from '../app/stations.js';
import { createSimulatedPair, parseScenario } from '../sim/index.js';
import { VirtualClock } from '../util/clock.js';

const target = Number(process.argv[2] ?? 10_000);
const maxS = Number(process.argv[3] ?? Number.POSITIVE_INFINITY);
const EVERY = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'freev2g-soak-'));
const records = join(dir, 'records.jsonl');
// A short session: the car arrives at 79 % and charges to 80 %, unplugs 2 s later, back 3 s after.
const scenario = parseScenario({
  name: 'soak',
  cable: { plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 },
  ev: { battery: { capacityWh: 1000, socStartPercent: 79, socTargetPercent: 80 } },
});
const [evse, configuredEv] = simStations(['EVSE', 'EV'], []) as [StationSettings, StationSettings];
const ev = carFromScenario(configuredEv, scenario).settings;
const clock = new VirtualClock(Date.now());
const pair = createSimulatedPair({ clock, evseMac: evse.mac, evMac: ev.mac, scenario });
// As `sim` wires them (its host MACs too, which only captures use).
const stations: RunStation[] = [evse, ev].map((s, i) => ({ settings: s, transport: s.role === 'EVSE' ? pair.evseHost : pair.evHost, hostMac: `02:00:00:00:00:0${i + 1}`, moduleMac: s.mac }));
const out = createWriteStream('/dev/null') as unknown as NodeJS.WriteStream;

const samples: Array<{ sessions: number; heapUsed: number }> = [];
const handles: StationHandle[] = [];
let sessions = 0;
const t0 = performance.now();
const c0 = process.cpuUsage();
const sample = (): void => {
  gc();
  samples.push({ sessions, heapUsed: process.memoryUsage().heapUsed });
};
sample();
const onStation = (st: RunStation, handle: StationHandle): void => {
  handles.push(handle);
  if (st.settings.role !== 'EVSE') return;
  handle.onEvent((e) => {
    if (e.type !== 'sessionEnded') return;
    sessions++;
    if (sessions % EVERY === 0) sample();
    if (sessions >= target || (performance.now() - t0) / 1000 >= maxS) for (const h of handles) h.shutdown();
  });
};
const result = await runStations({ stations, clock, logFormat: 'human', ask: false, sessions: 0, records, out, onStation, cleanup: () => pair.close() });

const wallS = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
const cpuS = (c.user + c.system) / 1e6;
/** Least squares over the samples after the first 10 % (JIT, caches and pools warm up first). */
function slope(points: Array<{ sessions: number; heapUsed: number }>): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.sessions, 0) / n;
  const my = points.reduce((a, p) => a + p.heapUsed, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.sessions - mx) * (p.heapUsed - my), 0);
  const sxx = points.reduce((a, p) => a + (p.sessions - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
const steady = samples.slice(Math.max(1, Math.floor(samples.length / 10)));
const kib = (b: number): string => (b / 1024).toFixed(0);
const heaps = steady.map((s) => s.heapUsed);
console.log(`soak: ${sessions} EVSE sessions; records: ${result.sessionCount} (both stations), ${result.records.length} kept in memory, file ${(statSync(records).size / 1024).toFixed(0)} KiB`);
console.log(`wall ${wallS.toFixed(1)} s, CPU ${cpuS.toFixed(1)} s (${((cpuS * 1000) / Math.max(1, sessions)).toFixed(1)} ms per session)`);
console.log(`heap after GC: start ${kib(samples[0]?.heapUsed ?? 0)} KiB, steady min ${kib(Math.min(...heaps))} / max ${kib(Math.max(...heaps))} KiB, end ${kib(samples.at(-1)?.heapUsed ?? 0)} KiB`);
console.log(`slope over ${steady.length} samples (sessions ${steady[0]?.sessions}..${steady.at(-1)?.sessions}): ${slope(steady).toFixed(1)} bytes per session`);
console.log(`samples (sessions:KiB): ${samples.map((s) => `${s.sessions}:${kib(s.heapUsed)}`).join(' ')}`);
console.log(
  `load average: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
rmSync(dir, { recursive: true, force: true });
