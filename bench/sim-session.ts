/**
 * Wall time of a whole DC session between the simulated modules on a virtual clock, driven by
 * the scripted host stubs (codec + memory transport): SLAC, session setup, cable check,
 * pre-charge, 5 min of charge loop (~1360 CurrentDemand exchanges), welding detection, stop.
 * Prints the median of several runs. Run: node --import tsx bench/sim-session.ts [runs]
 */
import { VirtualClock } from '../util/clock.js';
import { createSimulatedPair, parseScenario } from '../sim/index.js';
import { ScriptedHost } from '../sim/host-stub.js';
import { runEvseStub, runEvStub } from '../sim/stub-stations.js';

async function once(): Promise<{ wallMs: number; virtualS: number; frames: number }> {
  const clock = new VirtualClock();
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: 1000 } }) });
  let frames = 0;
  pair.evse.traffic$.subscribe(() => frames++);
  pair.ev.traffic$.subscribe(() => frames++);
  const evse = new ScriptedHost(pair.evseHost, clock);
  const ev = new ScriptedHost(pair.evHost, clock);
  const t0 = performance.now();
  void runEvseStub(evse, clock);
  void runEvStub(ev, clock, { energyTransferMode: 1, chargeForMs: 300_000 });
  const done = await clock.runUntil(() => ev.types().includes('V2g.EvSessionStopped') && evse.types().includes('V2g.EvseSessionStopped'), 3_600_000);
  const wallMs = performance.now() - t0;
  if (!done) throw new Error('session did not finish');
  await pair.close();
  return { wallMs, virtualS: clock.now() / 1000, frames };
}

const runs = Number(process.argv[2] ?? 5);
const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const walls = results.map((r) => r.wallMs).sort((a, b) => a - b);
const median = walls[Math.floor(walls.length / 2)] ?? NaN;
const r0 = results[0];
console.log(
  `sim DC session: ${r0?.virtualS.toFixed(1)} s virtual, ${r0?.frames} HCI frames; wall median ${median.toFixed(0)} ms over ${runs} runs (min ${walls[0]?.toFixed(0)}, max ${walls.at(-1)?.toFixed(0)})`,
);
