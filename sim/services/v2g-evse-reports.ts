/**
 * What the simulated EVSE module tells about itself and the car: the station's side of each V2G
 * response (its snapshot of the host's configuration and charging parameters, 18.10), and the
 * status messages that pass the car's parameters on to the host (18.12.4, 18.12.6, 18.12.7).
 * The V2G EVSE service (v2g-evse.ts) holds the state these are made from.
 */
import { V2g } from '../../codec/catalog.js';
import type { ModuleContext } from '../module.js';
import type { EvLimits, EvSnapshot, EvseSnapshot, ScheduleTuple, V2gRequest } from '../v2g-messages.js';

export type Fields = Record<string, unknown>;
export const num = (f: Fields, k: string): number => f[k] as number;

/** What the host configured (18.10): the station's side of every response is made of it. */
export interface EvseSettings {
  config: Fields | undefined;
  dc: Fields | undefined;
  ac: Fields | undefined;
  schedules: ScheduleTuple[];
  energyToBeDeliveredWh: number | undefined;
}

/** The station as the car sees it in a response; `protocol` 1 (ISO 15118-2) or 0 (DIN 70121). */
export function evseSnapshot(s: EvseSettings, protocol: number): EvseSnapshot {
  const { config, dc, ac } = s;
  return {
    evseId: String(protocol === 1 ? (config?.evseIdIso ?? '') : (config?.evseIdDin ?? '')),
    protocols: (config?.protocols as number[]) ?? [],
    paymentMethods: (config?.paymentMethods as number[]) ?? [0],
    energyTransferModes: (config?.energyTransferModes as number[]) ?? [],
    ...(dc
      ? {
          dc: {
            isolationLevel: num(dc, 'isolationLevel'),
            minVoltageV: num(dc, 'minVoltageV'),
            minCurrentA: num(dc, 'minCurrentA'),
            maxVoltageV: num(dc, 'maxVoltageV'),
            maxCurrentA: num(dc, 'maxCurrentA'),
            maxPowerW: num(dc, 'maxPowerW'),
            ...(dc.currentRegulationToleranceA !== undefined ? { currentRegulationToleranceA: num(dc, 'currentRegulationToleranceA') } : {}),
            peakCurrentRippleA: num(dc, 'peakCurrentRippleA'),
            presentVoltageV: (dc.presentVoltageV as number | undefined) ?? 0,
            presentCurrentA: (dc.presentCurrentA as number | undefined) ?? 0,
            status: num(dc, 'status'),
          },
        }
      : {}),
    ...(ac ? { ac: { rcd: ac.rcdStatus as boolean, nominalVoltageV: num(ac, 'nominalVoltageV'), maxCurrentA: num(ac, 'maxCurrentA') } } : {}),
    schedules: s.schedules,
    ...(s.energyToBeDeliveredWh !== undefined ? { energyToBeDeliveredWh: s.energyToBeDeliveredWh } : {}),
  };
}

/**
 * DC Charge Parameters Changed (18.12.6) for each DC request that carries them; it keeps the
 * last report to leave out a change of the SOC alone where the firmware does (Sevenstax/FreeV2G#68).
 */
export function dcChangedReporter(ctx: ModuleContext): (ev: EvSnapshot, withTargets: boolean) => void {
  let last: Fields | undefined;
  return (ev, withTargets) => {
    const d = ev.dc;
    if (!d) return;
    const fields = {
      maxVoltageV: d.maxVoltageV,
      maxCurrentA: d.maxCurrentA,
      maxPowerW: d.maxPowerW,
      ready: ev.ready,
      errorCode: ev.errorCode,
      socPercent: ev.socPercent,
      targetVoltageV: withTargets ? d.targetVoltageV : 0,
      targetCurrentA: withTargets ? d.targetCurrentA : 0,
      fullSocPercent: d.fullSocPercent,
      bulkSocPercent: d.bulkSocPercent,
      chargingComplete: ev.chargingComplete,
      bulkChargingComplete: ev.bulkChargingComplete,
    };
    const socOnly = last !== undefined && sameBut(fields, last, 'socPercent');
    last = fields;
    if (socOnly && ctx.quirks.dcChangedOmitsSocOnly) return;
    ctx.emit(V2g.EvseDcChargeParametersChanged, fields);
  };
}

/** What Energy Transfer Mode Selected reports alike for a DC and an AC car. */
const evLimits = (p: EvLimits) => ({
  departureTimeS: p.departureTimeS,
  energyRequestWh: p.energyRequestWh,
  maxVoltageV: p.maxVoltageV,
  minCurrentA: p.minCurrentA,
  maxCurrentA: p.maxCurrentA,
  maxPowerW: p.maxPowerW,
});

/** Energy Transfer Mode Selected (18.12.4) from ChargeParameterDiscoveryReq; for AC also AC Charge Parameters Changed (18.12.7). */
export function emitModeSelected(ctx: ModuleContext, req: V2gRequest): void {
  const ev = req.ev;
  const mode = req.energyTransferMode ?? 0;
  if (mode <= 3 && ev.dc) {
    const d = ev.dc;
    ctx.emit(V2g.EvseEnergyTransferModeSelected, {
      ...evLimits(d),
      selectedEnergyTransferMode: mode,
      dcParameters: {
        energyCapacityWh: ev.batteryCapacityWh,
        fullSocPercent: d.fullSocPercent,
        bulkSocPercent: d.bulkSocPercent,
        ready: ev.ready,
        errorCode: ev.errorCode,
        socPercent: ev.socPercent,
      },
    });
  } else if (ev.ac) {
    const a = ev.ac;
    ctx.emit(V2g.EvseEnergyTransferModeSelected, {
      ...evLimits(a),
      selectedEnergyTransferMode: mode,
    });
    ctx.emit(V2g.EvseAcChargeParametersChanged, {
      maxVoltageV: a.maxVoltageV,
      minCurrentA: a.minCurrentA,
      maxCurrentA: a.maxCurrentA,
      energyAmountWh: a.energyRequestWh,
    });
  }
}

/** Whether two field sets differ in nothing but `except`. */
function sameBut(a: Fields, b: Fields, except: string): boolean {
  return Object.keys(a).every((k) => k === except || a[k] === b[k]);
}
