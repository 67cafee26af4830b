/**
 * What the simulated EV module tells its host of the station (18.11.8): the fields of DC Charge
 * Parameters Changed from the station's side of a V2G response. The V2G EV service (v2g-ev.ts)
 * sends it with every response that carries the station's DC values.
 */
import type { EvseSnapshot } from '../v2g-messages.js';

export function dcChangedFields(evse: EvseSnapshot): Record<string, unknown> | undefined {
  const d = evse.dc;
  if (!d) return undefined;
  return {
    minVoltageV: d.minVoltageV,
    minCurrentA: d.minCurrentA,
    minPowerW: d.minVoltageV * d.minCurrentA,
    maxVoltageV: d.maxVoltageV,
    maxCurrentA: d.maxCurrentA,
    maxPowerW: d.maxPowerW,
    presentVoltageV: d.presentVoltageV,
    presentCurrentA: d.presentCurrentA,
    status: d.status,
    isolationStatus: d.isolationLevel,
    voltageLimitAchieved: d.presentVoltageV >= d.maxVoltageV,
    currentLimitAchieved: d.presentCurrentA >= d.maxCurrentA,
    powerLimitAchieved: d.presentVoltageV * d.presentCurrentA >= d.maxPowerW,
    peakCurrentRippleA: d.peakCurrentRippleA,
    ...(d.currentRegulationToleranceA !== undefined ? { currentRegulationToleranceA: d.currentRegulationToleranceA } : {}),
    ...(evse.energyToBeDeliveredWh !== undefined ? { energyToBeDeliveredWh: evse.energyToBeDeliveredWh } : {}),
  };
}
