/**
 * Both stations on a simulated pair whose modules emulate real firmware (scenario `quirks`),
 * virtual clock, with the commands each host sent and the results it got: the setup of the
 * field-behaviour tests (docs/field-behaviours.md).
 */
import type { DecodedMessage } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { ModuleBehaviour } from '../../machines/module-quirks.js';
import type { StationRole } from '../../machines/station-events.js';
import { type Scenario, type ScenarioInput, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { startStations } from './stations.js';

export interface FieldRunOptions {
  scenario?: ScenarioInput;
  /** A scenario already validated (a shipped one); replaces `scenario`. */
  parsedScenario?: Scenario;
  behaviour?: { EVSE?: Partial<ModuleBehaviour>; EV?: Partial<ModuleBehaviour> };
}

/** One line per frame a host exchanged: "tx V2g.SetMode", "rx V2g.SetMode 0x01", "rx NetworkConfiguration.InterfaceUp". */
export type TrafficLine = string;

export function fieldRun(o: FieldRunOptions = {}) {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = o.parsedScenario ?? parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } }, ...o.scenario });
  const pair = createSimulatedPair({ clock, scenario });
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const traffic: Record<StationRole, TrafficLine[]> = { EVSE: [], EV: [] };
  /** Status messages each host received, decoded, with their arrival time. */
  const statuses: Record<StationRole, Array<{ at: number; message: DecodedMessage }>> = { EVSE: [], EV: [] };
  for (const [role, client] of [
    ['EVSE', evseClient],
    ['EV', evClient],
  ] as const) {
    client.traffic$.subscribe((t) => {
      if (!t.message) return;
      const m = t.message;
      if (t.dir === 'rx' && m.direction === 'status') statuses[role].push({ at: t.at, message: m });
      const code =
        t.dir === 'rx' && m.direction === 'response'
          ? ` 0x${Number(m.fields.code ?? 0)
              .toString(16)
              .padStart(2, '0')}`
          : '';
      traffic[role].push(`${t.dir} ${m.module}.${m.message}${code}`);
    });
  }
  const stations = startStations({ clock, evseClient, evClient, ...(o.behaviour ? { behaviour: o.behaviour } : {}) });
  // A heartbeat keeps the virtual clock running while a promise chain settles with no timer set.
  const beat = (): void => {
    clock.setTimeout(beat, 1000);
  };
  beat();
  return {
    clock,
    pair,
    ...stations,
    traffic,
    statuses,
    /** Advances the virtual clock until `done` (false when `maxMs` passed first). */
    until: (done: () => boolean, maxMs = 600_000) => clock.runUntil(done, maxMs, 50),
    /** Sessions the EVSE host ended. */
    ended:
      (n = 1) =>
      () =>
        stations.records('EVSE').length >= n,
    async close() {
      stations.evse.stop();
      stations.ev.stop();
      await evseClient.close();
      await evClient.close();
      await pair.close();
    },
  };
}

export type FieldRun = ReturnType<typeof fieldRun>;
