/**
 * The OCPP 1.6 configuration keys this charge point has (GetConfiguration/ChangeConfiguration),
 * as one table: name, whether the CSMS may change it, its check, and its default. Values are
 * kept as the strings OCPP carries.
 */

export interface KeyDef {
  readonly: boolean;
  /** The value the key starts with. */
  initial: string;
  /** For writable keys: whether a new value is acceptable. */
  valid?: (value: string) => boolean;
}

const seconds = (min: number, max: number) => (v: string) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max;
const bool = (v: string) => v === 'true' || v === 'false';

export const MEASURANDS = ['Energy.Active.Import.Register', 'Power.Active.Import', 'Current.Import', 'Voltage', 'SoC'] as const;

export function configurationKeys(connectors: number): Record<string, KeyDef> {
  return {
    HeartbeatInterval: { readonly: false, initial: '300', valid: seconds(1, 86_400) },
    MeterValueSampleInterval: { readonly: false, initial: '60', valid: seconds(0, 3600) },
    ConnectionTimeOut: { readonly: false, initial: '60', valid: seconds(1, 3600) },
    AuthorizeRemoteTxRequests: { readonly: false, initial: 'false', valid: bool },
    LocalAuthorizeOffline: { readonly: false, initial: 'true', valid: bool },
    StopTransactionOnEVSideDisconnect: { readonly: true, initial: 'true' },
    StopTransactionOnInvalidId: { readonly: true, initial: 'true' },
    TransactionMessageAttempts: { readonly: false, initial: '3', valid: seconds(1, 10) },
    TransactionMessageRetryInterval: { readonly: false, initial: '30', valid: seconds(1, 3600) },
    NumberOfConnectors: { readonly: true, initial: String(connectors) },
    MeterValuesSampledData: { readonly: true, initial: MEASURANDS.join(',') },
    SupportedFeatureProfiles: { readonly: true, initial: 'Core,RemoteTrigger,SmartCharging' },
    ChargeProfileMaxStackLevel: { readonly: true, initial: '10' },
    ChargingScheduleAllowedChargingRateUnit: { readonly: true, initial: 'Current,Power' },
    ChargingScheduleMaxPeriods: { readonly: true, initial: '24' },
    MaxChargingProfilesInstalled: { readonly: true, initial: '20' },
    UnlockConnectorOnEVSideDisconnect: { readonly: true, initial: 'false' },
  };
}

export class Configuration {
  private readonly values = new Map<string, string>();

  constructor(private readonly defs: Record<string, KeyDef>) {
    for (const [k, d] of Object.entries(defs)) this.values.set(k, d.initial);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  seconds(key: string): number {
    return Number(this.values.get(key) ?? '0');
  }

  list(keys?: readonly string[]): { configurationKey: Array<{ key: string; readonly: boolean; value: string }>; unknownKey: string[] } {
    const wanted = keys && keys.length > 0 ? keys : Object.keys(this.defs);
    const known = wanted.filter((k) => this.defs[k] !== undefined);
    return {
      configurationKey: known.map((key) => ({ key, readonly: this.defs[key]?.readonly ?? true, value: this.values.get(key) ?? '' })),
      unknownKey: wanted.filter((k) => this.defs[k] === undefined),
    };
  }

  /** The charge point's own change of a key (read-only ones too, e.g. NumberOfConnectors). */
  setByChargePoint(key: string, value: string): void {
    if (this.defs[key]) this.values.set(key, value);
  }

  change(key: string, value: string): 'Accepted' | 'Rejected' | 'NotSupported' {
    const def = this.defs[key];
    if (!def) return 'NotSupported';
    if (def.readonly || !def.valid?.(value)) return 'Rejected';
    this.values.set(key, value);
    return 'Accepted';
  }
}
