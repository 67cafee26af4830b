/**
 * The simulated pair of `freev2g sim` as the CPU benches build it (bench/sim-hosts.ts,
 * bench/sim-actor-events.ts): the default stations, the default scenario (or a 10 kWh car one
 * percent below its target), a virtual clock, and a count of the HCI frames on both links.
 */
import type { StationSettings } from '../app/config.js';
import { carFromScenario } from '../app/commands/sim-scenario.js';
import { simStations } from '../app/commands/sim.js';
import { createSimulatedPair, parseScenario } from '../sim/index.js';
import { VirtualClock } from '../util/clock.js';

export interface BenchPair {
  clock: VirtualClock;
  evse: StationSettings;
  ev: StationSettings;
  pair: ReturnType<typeof createSimulatedPair>;
  /** HCI frames seen so far on both host links. */
  frames(): number;
}

/** `socStartPercent`: a 10 kWh battery from there to one percent more; undefined: the default car. */
export function benchPair(socStartPercent: number | undefined): BenchPair {
  const clock = new VirtualClock(0);
  const [evse, configuredEv] = simStations(['EVSE', 'EV'], []) as [StationSettings, StationSettings];
  const battery = socStartPercent === undefined ? {} : { battery: { capacityWh: 10_000, socStartPercent, socTargetPercent: socStartPercent + 1 } };
  const scenario = parseScenario({ name: 'default', cable: { plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 }, ev: battery });
  const ev = carFromScenario(configuredEv, scenario).settings;
  const pair = createSimulatedPair({ clock, evseMac: evse.mac, evMac: ev.mac, scenario });
  let frames = 0;
  pair.evse.traffic$.subscribe(() => frames++);
  pair.ev.traffic$.subscribe(() => frames++);
  return { clock, evse, ev, pair, frames: () => frames };
}
