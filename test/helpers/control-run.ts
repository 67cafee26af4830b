/**
 * Both stations of the default simulated set-up on a virtual clock, with the control plane
 * attached as `runStations` attaches it, but with the clock stepped by the test: MQTT and HTTP
 * round trips happen in real time while simulated time stands still, so a command lands at a
 * known point of the session.
 */
import { createHciClient } from '../../machines/hci-client.js';
import type { StationEmitted } from '../../machines/station-events.js';
import { simStations } from '../../app/commands/sim.js';
import { type ControlPlane, type ControlSettings, createControlPlane } from '../../app/control/index.js';
import type { RunStation } from '../../app/run.js';
import { type StationHandle, startStation } from '../../app/stations.js';
import { dirname, resolve } from 'node:path';
import { carFromScenario } from '../../app/commands/sim-scenario.js';
import { type VirtualCable, builtinScenarioPath, createSimulatedPair, loadScenario, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';

export interface ControlRun {
  clock: VirtualClock;
  plane: ControlPlane;
  evse: StationHandle;
  ev: StationHandle;
  emitted: { EVSE: StationEmitted[]; EV: StationEmitted[] };
  /** The simulated cable (plug and unplug at a chosen point of the session). */
  cable: VirtualCable;
  logs: string[];
  /** Steps the virtual clock until `done()` (or `maxMs` of simulated time). */
  until(done: () => boolean, maxMs?: number): Promise<boolean>;
  /**
   * The same, but giving real I/O (WebSocket round trips) time between steps: at most 2 s of
   * simulated time per 5 ms of real time, so a remote answer lands before a simulated timeout.
   */
  paced(done: () => boolean, maxMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ControlRunOptions {
  evBatteryWh?: number;
  /** A built-in scenario (sim/scenarios) with its EVSE host file, instead of the default session. */
  scenario?: string;
  /** The EVSE's certs_folder. */
  certsFolder?: string;
}

export async function startControlRun(control: ControlSettings, options: ControlRunOptions = {}): Promise<ControlRun> {
  const clock = new VirtualClock(1_700_000_000_000);
  const file = options.scenario !== undefined ? builtinScenarioPath(options.scenario) : undefined;
  const loaded = file !== undefined ? await loadScenario(file) : undefined;
  const hostFiles = file !== undefined && loaded?.hosts?.evse !== undefined ? [resolve(dirname(file), loaded.hosts.evse)] : [];
  const [evseSettings, configuredEv] = simStations(['EVSE', 'EV'], hostFiles) as [RunStation['settings'], RunStation['settings']];
  const evSettings = loaded ? carFromScenario(configuredEv, loaded).settings : configuredEv;
  if (options.certsFolder !== undefined && evseSettings.evse) evseSettings.evse.certsFolder = options.certsFolder;
  // A small battery from 90 % to the default 95 %: a session of a couple of simulated minutes.
  const capacityWh = options.evBatteryWh ?? 2000;
  if (!loaded && evSettings.ev) evSettings.ev.battery = { ...evSettings.ev.battery, capacityWh, levelWh: capacityWh * 0.9 };
  const pair = createSimulatedPair({
    clock,
    evseMac: evseSettings.mac,
    evMac: evSettings.mac,
    scenario: loaded ?? parseScenario({ ev: { battery: { capacityWh: options.evBatteryWh ?? 2000, socTargetPercent: 95 } } }),
  });
  const logs: string[] = [];
  const plane = await createControlPlane(control, clock, (t) => logs.push(t));
  const emitted = { EVSE: [] as StationEmitted[], EV: [] as StationEmitted[] };
  const handles: StationHandle[] = [];
  for (const settings of [evseSettings, evSettings]) {
    const role = settings.role;
    const st: RunStation = { settings, transport: role === 'EVSE' ? pair.evseHost : pair.evHost, hostMac: '02:00:00:00:00:01', moduleMac: settings.mac };
    const client = createHciClient({ transport: st.transport, clock });
    const authorize = plane.authorizerFor?.(role, st);
    const powerStage = plane.powerStageFor?.(role, st);
    const battery = plane.batteryFor?.(role, st);
    const handle = await startStation({ settings, client, clock, ...(authorize ? { authorize } : {}), ...(powerStage ? { powerStage } : {}), ...(battery ? { battery } : {}) });
    handle.onEvent((ev) => {
      emitted[role].push(ev);
      plane.event(role, ev);
    });
    plane.stationStarted(role, st, handle, client);
    handles.push(handle);
  }
  const [evse, ev] = handles as [StationHandle, StationHandle];
  return {
    clock,
    plane,
    evse,
    ev,
    emitted,
    cable: pair.cable,
    logs,
    until: (done, maxMs = 3_600_000) => clock.runUntil(done, maxMs),
    async paced(done, maxMs = 3_600_000) {
      const end = clock.now() + maxMs;
      while (!done() && clock.now() < end) {
        const before = clock.now();
        const window = Math.min(2000, end - clock.now());
        await clock.runUntil(done, window, window);
        await new Promise((r) => setTimeout(r, 5));
        if (clock.now() === before && clock.pending === 0) break;
      }
      return done();
    },
    async close() {
      for (const h of handles) h.shutdown();
      await clock.runUntil(() => false, 30_000);
      await plane.close();
      await pair.close();
    },
  };
}

export const phaseOf = (run: ControlRun, role: 'EVSE' | 'EV'): string | undefined => run.emitted[role].flatMap((e) => (e.type === 'phase' ? [e.phase] : [])).at(-1);
