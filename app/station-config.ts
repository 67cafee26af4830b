/**
 * Maps the settings read from the configuration files (app/config.ts) onto the station
 * machines' typed configs (machines/config.ts). The machines' defaults fill what the files do
 * not say (timings, update intervals, SLAC).
 */
import { type AuthorizationMode, type EvConfig, type EvseConfig, evConfig, evseConfig } from '../machines/config.js';
import type { EvSettings, EvseSettings } from './config.js';

const MODE: Record<EvseSettings['authorization']['policy'], AuthorizationMode> = {
  accept: 'acceptAll',
  deny: 'denyAll',
  allowList: 'allowList',
};

/** `interactive`: the app answers each request itself (TTY prompt). */
export function toEvseConfig(s: EvseSettings, interactive: boolean): EvseConfig {
  return evseConfig({
    evseId: s.evseIdIso,
    evseIdDin: s.evseIdDin,
    protocols: s.protocols,
    paymentMethods: s.paymentMethods,
    energyTransferModes: s.energyTransferModes,
    certificateInstallationSupport: s.certificateInstallationSupport,
    certificateUpdateSupport: s.certificateUpdateSupport,
    certsFolder: s.certsFolder,
    charger: {
      minVoltageV: s.charger.minVoltageV,
      minCurrentA: s.charger.minCurrentA,
      maxVoltageV: s.charger.maxVoltageV,
      maxCurrentA: s.charger.maxCurrentA,
      maxPowerW: s.charger.maxPowerW,
      voltageRampVPerMs: s.charger.deltaVoltageV,
      currentRampAPerMs: s.charger.deltaCurrentA,
    },
    schedule: s.schedule,
    authorization: { mode: interactive ? 'interactive' : MODE[s.authorization.policy], allowList: s.authorization.allow, allowEmaids: s.authorization.allowEmaid ?? [] },
    meterReceipt: s.meterReceipt,
    scheduleCode: s.scheduleCode,
    setModuleTime: s.setModuleTime,
  });
}

export function toEvConfig(s: EvSettings): EvConfig {
  return evConfig({
    evccId: s.evccId,
    protocols: s.protocols,
    paymentMethods: s.paymentMethods,
    energyTransferModes: s.energyTransferModes,
    battery: s.battery,
    targetSocPercent: s.targetSocPercent,
    setModuleTime: s.setModuleTime,
  });
}
