/**
 * What a station file means, in our units and names (maxVoltageV, timeoutMs...): one
 * `StationSettings` per module. app/station-config.ts maps it onto the station machines' configs.
 */
import type { EvConfig, EvseConfig } from '../../machines/config.js';
import type { CertificateProviderSetting } from '../pnc/config.js';
import type { StationFile } from './schema.js';

export type Role = 'EVSE' | 'EV';

export interface ScheduleSetting {
  scheduleTupleId: number;
  entries: Array<{ startS: number; intervalS: number; powerW: number }>;
}

/** What an EVSE section of the file sets: the EVSE station's fields where they mean the same. */
export type EvseSettings = Pick<
  EvseConfig,
  | 'evseIdDin'
  | 'protocols'
  | 'paymentMethods'
  | 'energyTransferModes'
  | 'certificateInstallationSupport'
  | 'certificateUpdateSupport'
  | 'certsFolder'
  | 'scheduleCode'
  | 'meterReceipt'
  | 'setModuleTime'
> & {
  evseIdIso: string;
  /** The file's names; machines' ChargerConfig calls the deltas ramp rates. */
  charger: { minVoltageV: number; minCurrentA: number; maxVoltageV: number; maxCurrentA: number; maxPowerW: number; deltaVoltageV: number; deltaCurrentA: number };
  schedule: ScheduleSetting[];
  authorization: { policy: 'accept' | 'deny' | 'allowList'; allow: string[]; allowEmaid?: string[] };
  certificateProvider?: CertificateProviderSetting;
};

/** What an EV section of the file sets: the EV station's own config fields, not re-declared. */
export type EvSettings = Pick<EvConfig, 'evccId' | 'protocols' | 'paymentMethods' | 'energyTransferModes' | 'battery' | 'targetSocPercent' | 'setModuleTime'>;

export interface StationSettings {
  role: Role;
  /** The module's MAC (Ethernet host interface). */
  mac: string;
  interface?: { type: 'eth' | 'spi'; name: string };
  portMirror: boolean;
  evse?: EvseSettings;
  ev?: EvSettings;
  /** Where these settings came from (for messages). */
  source: string;
}

function evseSettings(e: NonNullable<StationFile['evse']>): EvseSettings {
  return {
    evseIdDin: e.configuration.id_din,
    evseIdIso: e.configuration.id_iso,
    protocols: e.configuration.protocol,
    paymentMethods: e.configuration.payment_method,
    energyTransferModes: e.configuration.energy_transfer_mode,
    certificateInstallationSupport: e.certificate_installation_support,
    certificateUpdateSupport: e.certificate_update_support,
    certsFolder: e.certs_folder,
    charger: {
      minVoltageV: e.charger.min_voltage,
      minCurrentA: e.charger.min_current,
      maxVoltageV: e.charger.max_voltage,
      maxCurrentA: e.charger.max_current,
      maxPowerW: e.charger.max_power,
      deltaVoltageV: e.charger.delta_u,
      deltaCurrentA: e.charger.delta_i,
    },
    scheduleCode: e.schedule.code,
    schedule: e.schedule.schedule_tuples.map((t) => ({
      scheduleTupleId: t.schedule_tuple_id,
      entries: t.schedules.map((s) => ({ startS: s.start, intervalS: s.interval, powerW: s.power })),
    })),
    authorization: { policy: e.authorization.policy === 'allow_list' ? 'allowList' : e.authorization.policy, allow: e.authorization.allow, allowEmaid: e.authorization.allow_emaid },
    ...(e.certificate_provider ? { certificateProvider: e.certificate_provider } : {}),
    meterReceipt: e.metering_receipt,
    setModuleTime: e.set_module_time,
  };
}

function evSettings(v: NonNullable<StationFile['ev']>): EvSettings {
  const b = v.battery;
  return {
    evccId: v.configuration.id,
    protocols: v.configuration.protocol,
    paymentMethods: v.configuration.payment_method,
    energyTransferModes: v.configuration.energy_transfer_mode,
    battery: {
      timestepMs: b.timestep,
      capacityWh: b.capacity,
      levelWh: b.level,
      fullSocPercent: b.full_soc,
      bulkSocPercent: b.bulk_soc,
      maxCurrentA: b.max_current,
      maxPowerW: b.max_power,
      maxVoltageV: b.max_voltage,
      targetCurrentA: b.target_current,
      targetVoltageV: b.target_voltage,
      targetVoltageDeltaV: b.target_voltage_delta,
      maxCurrentAcA: b.max_current_AC,
      maxVoltageAcV: b.max_voltage_AC,
      minCurrentAcA: b.min_current_AC,
    },
    targetSocPercent: v.target_soc ?? b.full_soc,
    setModuleTime: v.set_module_time,
  };
}

export function toSettings(f: StationFile, source: string, fallbackMac: string): StationSettings {
  const base = { mac: f.mac ?? fallbackMac, portMirror: f.portmirror, source, ...(f.interface ? { interface: f.interface } : {}) };
  if (f.evse) return { ...base, role: 'EVSE', evse: evseSettings(f.evse) };
  return { ...base, role: 'EV', ev: evSettings(f.ev as NonNullable<StationFile['ev']>) };
}
