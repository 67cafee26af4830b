/**
 * What a scenario means for the stations of `freev2g sim` (the simulated modules read the rest):
 * its `ev` block is the car, so it overrides the EV station's settings (the scenario wins, and the
 * CLI says so); its `operator` block is a script of operator events sent to the running stations.
 */
import { ENERGY_TRANSFER_MODES, PROTOCOLS } from '../../codec/modules/v2g/common.js';
import type { HostAction, Scenario } from '../../sim/index.js';
import type { Clock } from '../../util/clock.js';
import type { StationSettings } from '../config.js';
import type { RunStation } from '../run.js';
import type { StationHandle } from '../stations.js';

/** The EV station's settings with the scenario's car (mode, protocol, battery, SOC) over them. */
export function carFromScenario(settings: StationSettings, scenario: Scenario): { settings: StationSettings; changes: string[] } {
  const ev = settings.ev;
  if (!ev) return { settings, changes: [] };
  const s = scenario.ev;
  const changes: string[] = [];
  const next = { ...ev, battery: { ...ev.battery } };
  if (s.energyTransferMode !== undefined) {
    next.energyTransferModes = [ENERGY_TRANSFER_MODES.indexOf(s.energyTransferMode)];
    changes.push(`mode ${s.energyTransferMode}`);
  }
  if (s.protocol !== undefined) {
    next.protocols = [PROTOCOLS.indexOf(s.protocol)];
    changes.push(`protocol ${s.protocol}`);
  }
  const b = s.battery;
  // A scenario always has a capacity (default 40 kWh); it is the car's only when SOC is scripted
  // too or when it was written out, which the parsed scenario cannot tell apart: take it whenever
  // the scenario scripts the battery's SOC, so SOC and energy agree on both sides.
  if (b.socStartPercent !== undefined || b.socTargetPercent !== undefined) {
    next.battery.capacityWh = b.capacityWh;
    const startPercent = b.socStartPercent ?? (ev.battery.levelWh / ev.battery.capacityWh) * 100;
    next.battery.levelWh = (b.capacityWh * startPercent) / 100;
    changes.push(`battery ${b.capacityWh / 1000} kWh from ${startPercent.toFixed(0)} %`);
  }
  if (b.socTargetPercent !== undefined) {
    next.targetSocPercent = b.socTargetPercent;
    changes.push(`to ${b.socTargetPercent} %`);
  }
  return { settings: { ...settings, ev: next }, changes };
}

/**
 * One car, two halves: the EV station stops at its target SOC (config `target_soc`, 95 % by
 * default), so the simulated module's car calls itself complete there too. Without this it
 * said "Charging complete: false" at 95 %, having only the host's full SOC (100 %) to go by,
 * while the EV's record said targetSocReached. A scenario that scripts its own target keeps it.
 */
export function carTargetInScenario(scenario: Scenario, ev: StationSettings): Scenario {
  const target = ev.ev?.targetSocPercent;
  if (target === undefined || scenario.ev.battery.socTargetPercent !== undefined) return scenario;
  return { ...scenario, ev: { ...scenario.ev, battery: { ...scenario.ev.battery, socTargetPercent: target } } };
}

/**
 * Sends each `operator` action to its station `afterChargingMs` after the station's charging phase
 * began, once per session (a renegotiated session charges again: the action does not repeat).
 */
export function hostScript(actions: readonly HostAction[], clock: Clock, note: (text: string) => void) {
  return (station: RunStation, handle: StationHandle): void => {
    const mine = actions.filter((a) => a.station === station.settings.role);
    if (mine.length === 0) return;
    let armed = true;
    handle.onEvent((ev) => {
      if (ev.type === 'sessionEnded') armed = true;
      if (ev.type !== 'phase' || ev.phase !== 'charging' || !armed) return;
      armed = false;
      for (const a of mine)
        clock.setTimeout(() => {
          note(`scenario: ${a.do} on the ${a.station} station`);
          handle.send(
            a.do === 'setLimits'
              ? { type: 'setLimits', ...(a.maxPowerW !== undefined ? { maxPowerW: a.maxPowerW } : {}), ...(a.maxCurrentA !== undefined ? { maxCurrentA: a.maxCurrentA } : {}) }
              : { type: a.do },
          );
        }, a.afterChargingMs);
    });
  };
}
