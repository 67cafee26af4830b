/**
 * Both stations on two HCI clients (the simulated pair's memory links, SPI, ...), with what they
 * emit collected per station: the setup the end-to-end station tests share.
 */
import { afterEach } from 'vitest';
import type { HciClient } from '../../machines/hci-types.js';
import { type AuthorizationPolicy, type EvConfig, type EvseConfig, createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { ModuleBehaviour } from '../../machines/module-quirks.js';
import type { SessionRecord, StationEmitted, StationRole } from '../../machines/station-events.js';
import { type Clock, VirtualClock } from '../../util/clock.js';
import { createHciClient } from '../../machines/hci-client.js';
import { type SimulatedPair, createSimulatedPair, parseScenario } from '../../sim/index.js';
import type { PowerStageBinding } from '../../machines/power-stage.js';
import type { EvBatteryBinding } from '../../machines/ev-battery.js';

/** A small battery so that 50 % -> 80 % takes minutes of virtual time, not an hour. */
export const SMALL_BATTERY = { capacityWh: 1000, levelWh: 500, maxPowerW: 12000, targetVoltageV: 200, maxVoltageV: 300 };
/** SLAC starts 600 ms after the CP and the EV matches at once: sessions start within seconds. */
export const QUICK_SLAC = { startDelayMs: 600, evMatchDelayMs: 0 };

export interface StationsOptions {
  clock: Clock;
  evseClient: HciClient;
  evClient: HciClient;
  /** Default: `evseConfig({ slac: QUICK_SLAC })`. */
  evse?: EvseConfig;
  /** Default: SMALL_BATTERY charged to 80 %, QUICK_SLAC. */
  ev?: EvConfig;
  policy?: AuthorizationPolicy;
  /** Firmware behaviour flags (machines/module-quirks.ts) per station. */
  behaviour?: { EVSE?: Partial<ModuleBehaviour>; EV?: Partial<ModuleBehaviour> };
  powerStage?: PowerStageBinding;
  /** The EV's external battery (default: simulated). */
  battery?: EvBatteryBinding;
}

export function startStations(o: StationsOptions) {
  const evse = createEvseStation({
    client: o.evseClient,
    clock: o.clock,
    config: o.evse ?? evseConfig({ slac: QUICK_SLAC }),
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.behaviour?.EVSE ? { behaviour: o.behaviour.EVSE } : {}),
    ...(o.powerStage ? { powerStage: o.powerStage } : {}),
  });
  const ev = createEvStation({
    client: o.evClient,
    clock: o.clock,
    config: o.ev ?? evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    ...(o.behaviour?.EV ? { behaviour: o.behaviour.EV } : {}),
    ...(o.battery ? { battery: o.battery } : {}),
  });
  const emitted = { EVSE: [] as StationEmitted[], EV: [] as StationEmitted[] };
  evse.on('*', (e) => emitted.EVSE.push(e as StationEmitted));
  ev.on('*', (e) => emitted.EV.push(e as StationEmitted));
  return {
    evse,
    ev,
    emitted,
    records: (s: StationRole): SessionRecord[] => emitted[s].flatMap((e) => (e.type === 'sessionEnded' ? [e.record] : [])),
    logs: (s: StationRole): string[] => emitted[s].flatMap((e) => (e.type === 'log' ? [e.text] : [])),
  };
}

/**
 * A simulated pair on a fresh virtual clock with an HCI client per host (a small EV battery):
 * the set-up the station tests share. Push the pair to `pairsClosedAfterEach()` to close it.
 */
export function simulatedClients() {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
  return { clock, pair, evseClient: createHciClient({ transport: pair.evseHost, clock }), evClient: createHciClient({ transport: pair.evHost, clock }) };
}

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
