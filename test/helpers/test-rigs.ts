/**
 * Test-file helpers that need vitest's hooks: kept out of test/helpers/stations.ts, which the
 * fuzz campaign bench (bench/fuzz-sessions.ts, outside vitest) imports through fuzz-session.ts.
 */
import { afterEach } from 'vitest';
import type { StationRole } from '../../machines/station-events.js';
import type { SimulatedPair } from '../../sim/index.js';
import type { VirtualClock } from '../../util/clock.js';
import { type StationsOptions, simulatedClients, startStations } from './stations.js';

/** Pairs pushed to the list returned are closed after each test (call at a test file's top level). */
export function pairsClosedAfterEach(): SimulatedPair[] {
  const pairs: SimulatedPair[] = [];
  afterEach(async () => {
    for (const p of pairs.splice(0)) await p.close();
  });
  return pairs;
}

/** A device behind one of the charger's contracts, as startStations takes it. */
export type DeviceBinding = Pick<StationsOptions, 'powerStage' | 'battery'>;

/**
 * Both stations with an external device behind its contract (a power stage for the EVSE, a
 * battery for the EV) on the simulated pair and a virtual clock; the HCI requests the device's
 * station sends are recorded in `sent`. All is stopped after each test: call this at a test
 * file's top level, then the function it returns in each test.
 */
export function deviceStationsRig() {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  return <D extends { close(): void }>(role: StationRole, make: (clock: VirtualClock) => D, bind: (device: D) => DeviceBinding) => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    const device = make(clock);
    const stations = startStations({ clock, evseClient, evClient, ...bind(device) });
    const sent: Array<{ at: number; name: string; fields: Record<string, unknown> }> = [];
    (role === 'EVSE' ? evseClient : evClient).traffic$.subscribe((t) => {
      if (t.dir === 'tx' && t.message) sent.push({ at: clock.now(), name: `${t.message.module}.${t.message.message}`, fields: t.message.fields });
    });
    cleanups.push(async () => {
      stations.evse.stop();
      stations.ev.stop();
      device.close();
      await pair.close();
    });
    return {
      clock,
      device,
      ...stations,
      sent,
      phases: () => stations.emitted[role].flatMap((e) => (e.type === 'phase' ? [e.phase] : [])),
      until: (done: () => boolean, maxMs = 3_600_000) => clock.runUntil(done, maxMs, 100),
      /** Lets `ms` of virtual time pass with the stations running (responses included). */
      wait: async (ms: number) => {
        const target = clock.now() + ms;
        await clock.runUntil(() => false, ms, 50);
        if (clock.now() < target) clock.advance(target - clock.now());
      },
    };
  };
}
