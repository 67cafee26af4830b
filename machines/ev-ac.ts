/**
 * The EV's AC side (reference Ev.py, `_handleACChargeParametersChanged` and its start check):
 * which current the car draws per phase, what it tells its module, and when the EVSE's AC values
 * make it stop (RCD fault, nominal voltage above its maximum, a current outside its range).
 *
 * Power model: P = nominal voltage x current per phase x phases (1 for acSinglePhase, 3 for
 * acThreePhase). The battery and the records see the sum over the phases as one current.
 */
import type { BatteryConfig } from './config.js';

/** ENERGY_TRANSFER_MODES: 4 acSinglePhase, 5 acThreePhase. */
export const AC_THREE_PHASE = 5;

export function acPhases(mode: number | undefined): 1 | 3 {
  return mode === AC_THREE_PHASE ? 3 : 1;
}

/** What the EVSE last said in AC Charge Parameters Changed (18.11.3). */
export interface AcEvseValues {
  nominalVoltageV: number;
  maxCurrentA: number;
  rcd: boolean;
}

/**
 * Current per phase the car draws: the EVSE's maximum, the battery's AC maximum and the power the
 * profile allows now, whichever is lowest (one decimal, as it goes out in the update).
 */
export function acCurrentPerPhaseA(evse: Pick<AcEvseValues, 'nominalVoltageV' | 'maxCurrentA'>, battery: BatteryConfig, powerW: number, phases: number): number {
  if (!(evse.nominalVoltageV > 0)) return 0;
  const byPower = Math.min(powerW, battery.maxPowerW) / (evse.nominalVoltageV * phases);
  const i = Math.min(evse.maxCurrentA, battery.maxCurrentAcA, byPower);
  return Math.max(0, Math.floor(i * 10) / 10);
}

export type AcFault = 'rcdFault' | 'acVoltageOutOfRange' | 'acCurrentOutOfRange';

/**
 * Why the car must stop on these EVSE values, if it must (reference Ev.py): an RCD fault, a
 * nominal voltage above its AC maximum, or a current it would draw above its AC maximum or at or
 * below its AC minimum. `currentA` is what the car would draw per phase.
 */
export function acFault(evse: AcEvseValues, battery: BatteryConfig, currentA: number): AcFault | undefined {
  if (evse.rcd) return 'rcdFault';
  if (evse.nominalVoltageV > battery.maxVoltageAcV) return 'acVoltageOutOfRange';
  if (currentA > battery.maxCurrentAcA || currentA <= battery.minCurrentAcA) return 'acCurrentOutOfRange';
  return undefined;
}

/** Set/Update AC Charging Parameters (18.9.6/18.9.7): the reference's minimum of 220 V, 1 A. */
export function acParameters(c: BatteryConfig, maxCurrentA = c.maxCurrentAcA) {
  const minCurrentA = Math.max(1, c.minCurrentAcA);
  return {
    minVoltageV: 220,
    minCurrentA,
    minPowerW: 220 * minCurrentA,
    maxVoltageV: c.maxVoltageAcV,
    maxCurrentA,
    maxPowerW: c.maxPowerW,
  };
}
