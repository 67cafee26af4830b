/**
 * Both stations on the simulated module pair, on the virtual clock, with the safety invariant
 * checked at every frame the EVSE host sends (shared by the station-on-sim tests).
 */
import { afterEach } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import { type AuthorizationPolicy, type EvStationActor, type EvseStationActor, evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord, StationEmitted } from '../../machines/station-events.js';
import { createSimulatedPair, parseScenario, type ScenarioInput, type SimulatedPair } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations } from './stations.js';

export interface Run {
  clock: VirtualClock;
  pair: SimulatedPair;
  evse: EvseStationActor;
  ev: EvStationActor;
  emitted: { EVSE: StationEmitted[]; EV: StationEmitted[] };
  /** Host -> module commands, in order, as "Module.Name". */
  tx: { EVSE: DecodedMessage[]; EV: DecodedMessage[] };
  /** When each EVSE host frame in `tx.EVSE` went out, on the virtual clock. */
  txAtEvse: number[];
  records: (station: 'EVSE' | 'EV') => SessionRecord[];
  logs: (station: 'EVSE' | 'EV') => string[];
  commands: (station: 'EVSE' | 'EV') => string[];
  until: (done: () => boolean, maxMs?: number) => Promise<boolean>;
  /** Checked at every frame the EVSE host sends: the safety invariant. */
  violations: string[];
}

const runs: Run[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) {
    r.evse.stop();
    r.ev.stop();
    await r.pair.close();
  }
});

export function start(opts: { scenario?: ScenarioInput; evse?: Parameters<typeof evseConfig>[0]; ev?: Parameters<typeof evConfig>[0]; policy?: AuthorizationPolicy } = {}): Run {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({
    ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } },
    ...opts.scenario,
  });
  const pair = createSimulatedPair({ clock, scenario });
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const tx = { EVSE: [] as DecodedMessage[], EV: [] as DecodedMessage[] };
  const txAtEvse: number[] = [];
  const violations: string[] = [];
  const stations = startStations({
    clock,
    evseClient,
    evClient,
    evse: evseConfig({ slac: QUICK_SLAC, ...opts.evse }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC, ...opts.ev }),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  const { evse, ev, emitted } = stations;
  evseClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message) {
      tx.EVSE.push(t.message);
      txAtEvse.push(clock.now());
    }
    if (t.dir !== 'tx') return;
    // Safety: outside energy transfer the charger's command must be 0.
    const snap = evse.getSnapshot();
    const session = snap.children.session?.getSnapshot() as { matches?: (s: unknown) => boolean } | undefined;
    const inTransfer = session?.matches?.({ session: { phase: 'energyTransfer' } }) ?? false;
    const charger = evse.system.get('charger')?.getSnapshot() as { context: { active: boolean } } | undefined;
    if (!inTransfer && charger?.context.active) violations.push(`charger active outside energy transfer at ${clock.now()}`);
  });
  evClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message) tx.EV.push(t.message);
  });
  const run: Run = {
    clock,
    pair,
    evse,
    ev,
    emitted,
    tx,
    txAtEvse,
    violations,
    records: stations.records,
    logs: stations.logs,
    commands: (s) => tx[s].map((m) => `${m.module}.${m.message}`),
    until: (done, maxMs = 3_600_000) => clock.runUntil(done, maxMs, 100),
  };
  runs.push(run);
  return run;
}

/** Both stations recorded n sessions. */
export const ended =
  (r: Run, n = 1) =>
  () =>
    r.records('EVSE').length >= n && r.records('EV').length >= n;
