/**
 * Both stations on two HCI clients (the simulated pair's memory links, SPI, ...), with what they
 * emit collected per station: the setup the end-to-end station tests share.
 */
import { filter } from 'rxjs';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { type AuthorizationPolicy, type EvConfig, type EvseConfig, createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { ModuleBehaviour } from '../../machines/module-quirks.js';
import type { SessionRecord, StationEmitted, StationRole } from '../../machines/station-events.js';
import { type Clock, VirtualClock } from '../../util/clock.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
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
  /** Module set-ups in a row before a station gives up (machines/setup-retry.ts); default: no limit. */
  setUpAttempts?: number;
}

/** Both stations with quick SLAC and the small battery charging to 80 %: the set-up most station tests share. */
export function quickStations(o: Pick<StationsOptions, 'clock' | 'evseClient' | 'evClient'>) {
  return startStations({ ...o, evse: evseConfig({ slac: QUICK_SLAC }), ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }) });
}

export function startStations(o: StationsOptions) {
  const evse = createEvseStation({
    client: o.evseClient,
    clock: o.clock,
    config: o.evse ?? evseConfig({ slac: QUICK_SLAC }),
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.behaviour?.EVSE ? { behaviour: o.behaviour.EVSE } : {}),
    ...(o.powerStage ? { powerStage: o.powerStage } : {}),
    ...(o.setUpAttempts !== undefined ? { setUpAttempts: o.setUpAttempts } : {}),
  });
  const ev = createEvStation({
    client: o.evClient,
    clock: o.clock,
    config: o.ev ?? evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    ...(o.behaviour?.EV ? { behaviour: o.behaviour.EV } : {}),
    ...(o.battery ? { battery: o.battery } : {}),
    ...(o.setUpAttempts !== undefined ? { setUpAttempts: o.setUpAttempts } : {}),
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

/**
 * A simulated pair whose car (of this energy transfer mode, the small battery) plugs in after 1 s and
 * stays plugged in: the set-up of the state C tests ([V2G2-847]). Push `pair` to close it.
 */
export function pluggedPair(energyTransferMode: 'acThreePhase' | 'dcExtended') {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({
    ev: { energyTransferMode, battery: { capacityWh: 1000, socTargetPercent: 80 } },
    cable: { plugInAfterMs: 1000, unplugAfterSessionMs: null, replugAfterMs: null },
  });
  return { clock, pair: createSimulatedPair({ clock, scenario }) };
}

/**
 * The client with these status messages lost on the way, hidden from its traffic too (a dropped frame never reaches the host).
 * `onReceive` (the commander's and the liveness watch's "the module talks") still sees them: it carries no message to filter by.
 */
export function losingStatuses(client: HciClient, ...messages: string[]): HciClient {
  const status$ = client.status$.pipe(filter((e) => !messages.includes(e.message)));
  const traffic$ = client.traffic$.pipe(filter((t) => !messages.includes((t as { message?: { message?: string } }).message?.message ?? '')));
  return Object.assign(Object.create(client) as HciClient, { status$, traffic$ });
}

/**
 * `client` with every request of command `name` lost before the module (a timeout after 1 s, as
 * a dropped frame). Tests that lose an EV status to stall the car lose the host's offer of its
 * answer too (since the ninth round the EV host offers the answer to a lost Charging Ready or
 * Cable Check Ready: machines/v2g-ev/charging-ready-probe.ts, cable-check-probe.ts).
 */
export function losingRequests(clock: VirtualClock, client: HciClient, name: string): HciClient {
  const request: HciClient['request'] = (def, fields, options) =>
    def.name === name
      ? new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', `V2g.${name}`, `V2g.${name}: no response within 1000 ms`)), 1000))
      : client.request(def, fields, options);
  return Object.assign(Object.create(client) as HciClient, { request });
}

/**
 * Quick stations on a fresh simulated pair with some clients replaced (a lossy or stalled one):
 * the lost-frame tests' set-up. Push `pair` to `pairsClosedAfterEach()` to close it.
 */
export function stationsWith(clients: (c: ReturnType<typeof simulatedClients>) => { evseClient?: HciClient; evClient?: HciClient }) {
  const c = simulatedClients();
  const s = startStations({
    clock: c.clock,
    evseClient: c.evseClient,
    evClient: c.evClient,
    ...clients(c),
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  return { ...c, s };
}

/**
 * The lost-frame tests' set-up: `stationsWith`, its pair pushed to `pairs` (closed after each
 * test), and what those tests read: phases by station, both sessions started, a module set up again.
 */
export function lostFrameStations(pairs: { close(): Promise<void> }[], clients: (c: ReturnType<typeof simulatedClients>) => { evseClient?: HciClient; evClient?: HciClient }) {
  const c = stationsWith(clients);
  pairs.push(c.pair);
  const { s } = c;
  const phases = (station: 'EVSE' | 'EV') => s.emitted[station].flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
  const bothStarted = () => phases('EVSE').includes('sessionStarted') && phases('EV').includes('sessionStarted');
  const setUpAgain = () => [...s.logs('EVSE'), ...s.logs('EV')].some((l) => l.startsWith('Module lost its state'));
  return { ...c, phases, bothStarted, setUpAgain };
}
