/**
 * Idle cost: CPU time an EVSE station uses while it waits for a vehicle to plug in (target:
 * < 0.5 % of one core). The station runs on the simulated pair with the plug never inserted,
 * on a real clock at normal speed; after a settling second, process.cpuUsage() is read over a
 * window (default 10 s, `--window <s>`) and extrapolated to 60 s. The figure includes the
 * simulated module in the same process, so it is an upper bound for the station alone.
 * Runs `--runs <n>` times (default 3) and prints each run and the median.
 *
 *   node --import tsx bench/idle.ts [--window 10] [--runs 3]
 */
import { createHciClient } from '../machines/hci-client.js';
import { RealClock } from '../util/clock.js';
import { loadStation } from '../app/config.js';
import { startStation } from '../app/stations.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pair {
  evseHost: Transport;
  close(): Promise<void> | void;
}

async function once(windowS: number): Promise<number> {
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
  await sleep(1000); // initialisation done, now waiting for the vehicle
  const before = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(windowS * 1000);
  const used = process.cpuUsage(before);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  station.shutdown();
  await Promise.race([station.done, sleep(2000)]);
  await client.close();
  await pair.close();
  if (!phases.includes('waitingForVehicle')) process.stderr.write(`warning: station phases ${phases.join(' > ')}\n`);
  return ((used.user + used.system) / wallUs) * 100;
}

const windowS = arg('window', 10);
const runs = arg('runs', 3);
const results: number[] = [];
for (let i = 0; i < runs; i++) {
  const pct = await once(windowS);
  results.push(pct);
  const cpuMsPerMin = (pct / 100) * 60_000;
  console.log(`run ${i + 1}: ${pct.toFixed(3)} % of one core (${cpuMsPerMin.toFixed(0)} ms CPU per 60 s, from a ${windowS} s window)`);
}
results.sort((a, b) => a - b);
const median = results[Math.floor(results.length / 2)] ?? NaN;
console.log(`idle EVSE station waiting for plug-in: median ${median.toFixed(3)} % of one core (target < 0.5 %) ${median < 0.5 ? 'OK' : 'OVER TARGET'}`);
