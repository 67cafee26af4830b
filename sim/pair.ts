/**
 * A simulated EVSE module (WHITE-beet-EI) and EV module (WHITE-beet-PI) joined by a virtual
 * cable, each behind an in-memory HCI link whose host end is handed to the caller. The scenario
 * and fault configuration script the cable (plug, unplug, PLC link) and the modules.
 */
import { createMemoryPair } from '../transports/memory.js';
import type { Transport } from '../transports/transport.js';
import type { Clock, TimerId } from '../util/clock.js';
import { VirtualCable } from './cable.js';
import { type FaultConfig, type ModuleFaults, linkFaultHook } from './faults.js';
import type { SessionPhase } from './phases.js';
import { type Scenario, parseScenario } from './scenario.js';
import { DEFAULT_MACS, type SimulatedModule, createSimulatedModule } from './simulated-module.js';

export interface SimulatedPairOptions {
  clock: Clock;
  scenario?: Scenario;
  faults?: FaultConfig;
  evseMac?: string;
  evMac?: string;
}

export interface SimulatedPair {
  /** Host ends of the HCI links (give these to the station machines / HCI clients). */
  evseHost: Transport;
  evHost: Transport;
  evse: SimulatedModule;
  ev: SimulatedModule;
  cable: VirtualCable;
  readonly scenario: Scenario;
  close(): Promise<void>;
}

/** Adds the fault configuration's scripted errors to the scenario's. */
function withFaultErrors(s: Scenario, f: FaultConfig): Scenario {
  return {
    ...s,
    ev: { ...s.ev, errors: [...s.ev.errors, ...(f.evErrors ?? [])] },
    station: {
      ...s.station,
      errors: [...s.station.errors, ...(f.stationErrors ?? []).map((e) => ({ phase: e.phase, evseSessionError: e.evseSessionError ?? 0, evSessionError: e.evSessionError ?? 8 }))],
    },
  };
}

export function createSimulatedPair(opts: SimulatedPairOptions): SimulatedPair {
  const { clock } = opts;
  const faults = opts.faults ?? {};
  const seed = faults.seed ?? 1;
  const scenario = withFaultErrors(opts.scenario ?? parseScenario({}), faults);
  const cable = new VirtualCable(clock);
  const [evseHost, evseEnd] = createMemoryPair({ clock, fault: linkFaultHook(faults.links?.evse, seed * 7 + 1) });
  const [evHost, evEnd] = createMemoryPair({ clock, fault: linkFaultHook(faults.links?.ev, seed * 7 + 2) });
  const evse = createSimulatedModule({
    role: 'EVSE',
    clock,
    cable,
    scenario,
    faults: faults.modules?.evse,
    mac: opts.evseMac ?? DEFAULT_MACS.EVSE,
    transport: evseEnd,
    seed: seed * 7 + 3,
  });
  const ev = createSimulatedModule({
    role: 'EV',
    clock,
    cable,
    scenario,
    faults: faults.modules?.ev,
    mac: opts.evMac ?? DEFAULT_MACS.EV,
    transport: evEnd,
    seed: seed * 7 + 4,
  });

  const timers = new Set<TimerId>();
  const later = (fn: () => void, ms: number): void => {
    const id = clock.setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
  };

  scriptCable(cable, scenario, faults, later);
  scriptModule(evse, faults.modules?.evse, cable, later);
  scriptModule(ev, faults.modules?.ev, cable, later);

  return {
    evseHost,
    evHost,
    evse,
    ev,
    cable,
    scenario,
    async close() {
      for (const id of timers) clock.clearTimeout(id);
      timers.clear();
      await Promise.all([evse.close(), ev.close()]);
      await Promise.all([evseHost.close(), evHost.close(), evseEnd.close(), evEnd.close()]);
      cable.close();
    },
  };
}

type Later = (fn: () => void, ms: number) => void;

/** Plug-in, unplug after a session, replug; unplug or PLC loss in a named phase. */
function scriptCable(cable: VirtualCable, s: Scenario, f: FaultConfig, later: Later): void {
  const c = s.cable;
  if (c.plugInAfterMs !== null) later(() => cable.plug(), c.plugInAfterMs);
  let sessionRunning = false;
  // A session the car paused is not over: the car stays plugged in to resume it.
  let paused = false;
  cable.events$.subscribe((e) => {
    if (e.type === 'v2g' && e.pause) paused = true;
  });
  cable.onPhase((p: SessionPhase) => {
    if (c.unplugIn && p === c.unplugIn.phase) later(() => cable.unplug(), c.unplugIn.afterMs);
    if (f.unplugIn === p) cable.unplug();
    if (f.losePlcLinkIn === p) cable.setPlcLink(false);
    if (p !== 'idle') sessionRunning = true;
    else if (sessionRunning) {
      sessionRunning = false;
      if (c.unplugAfterSessionMs !== null && !paused) later(() => cable.unplug(), c.unplugAfterSessionMs);
      paused = false;
    }
  });
  let wasPlugged = cable.isPlugged;
  cable.onChange(() => {
    if (wasPlugged && !cable.isPlugged && c.replugAfterMs !== null) later(() => cable.plug(), c.replugAfterMs);
    wasPlugged = cable.isPlugged;
  });
}

/** Module faults tied to the session: reset in a phase, stop answering. */
function scriptModule(m: SimulatedModule, f: ModuleFaults | undefined, cable: VirtualCable, later: Later): void {
  if (!f) return;
  if (f.stopAnswering?.afterMs !== undefined) later(() => m.setSilent(true), f.stopAnswering.afterMs);
  cable.onPhase((p) => {
    if (f.stopAnswering?.phase === p) m.setSilent(true);
    if (f.resetIn === p) {
      m.reset();
      // The restarted module's PLC chip leaves the network: the other side loses the link.
      cable.setPlcLink(false);
    }
  });
}
