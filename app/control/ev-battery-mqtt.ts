/**
 * An external EV battery over MQTT (`--ev-battery mqtt`, on the `--mqtt` broker): the EV station
 * tells the car's battery (its BMS, or an adapter) whether it charges and what the EVSE delivers,
 * and the battery reports its SOC, limits and measurements. Topics, <p> the prefix (default
 * freev2g), <id> the station id (`ev`, ...):
 *
 *   <p>/<id>/battery/command  (out) QoS 1  {"charging","voltageV","currentA"}
 *   <p>/<id>/battery/status   (in)         {"socPercent","maxVoltageV"?,"maxCurrentA"?,"maxPowerW"?,"targetVoltageV"?,
 *                                           "voltageV"?,"currentA"?,"contactorClosed"?,"fault"?}
 *
 * Commands are not retained (a stale "charging" must never reach a battery that restarts); the
 * latest one is sent again on every (re)connection. A status that is not valid JSON of that
 * shape is logged in one line and ignored. Losing the broker is safe by the contract: a battery
 * that reports nothing for the silence bound is a fault (machines/ev-battery.ts).
 */
import type { EvBattery, EvBatteryBinding, EvBatteryCommand, EvBatteryReport } from '../../machines/ev-battery.js';
import { MqttDevice, type MqttDeviceOptions, MqttDeviceSet, type MqttDeviceSetOptions, parseJsonObject } from './mqtt-device.js';

/** Station id: the control API's `ev`, `ev-<serial>`. */
export type MqttEvBatteryOptions = MqttDeviceOptions;

const OPTIONAL_NUMBERS = ['maxVoltageV', 'maxCurrentA', 'maxPowerW', 'targetVoltageV', 'voltageV', 'currentA'] as const;

/** A status report from its JSON text, or the reason it is not one. */
export function parseBatteryStatus(text: string): EvBatteryReport | string {
  const b = parseJsonObject(text);
  if (typeof b === 'string') return b;
  if (typeof b.socPercent !== 'number' || !Number.isFinite(b.socPercent) || b.socPercent < 0 || b.socPercent > 100) return 'socPercent must be a number from 0 to 100';
  const report: EvBatteryReport = { socPercent: b.socPercent };
  for (const k of OPTIONAL_NUMBERS) {
    const v = b[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${k} must be a number`;
    report[k] = v;
  }
  if (b.contactorClosed !== undefined && typeof b.contactorClosed !== 'boolean') return 'contactorClosed must be true or false';
  if (b.fault !== undefined && b.fault !== null && typeof b.fault !== 'string') return 'fault must be a string';
  return { ...report, ...(typeof b.contactorClosed === 'boolean' ? { contactorClosed: b.contactorClosed } : {}), ...(b.fault ? { fault: b.fault as string } : {}) };
}

export class MqttEvBattery extends MqttDevice<EvBatteryCommand, EvBatteryReport> implements EvBattery {
  constructor(options: MqttEvBatteryOptions) {
    super(options, { label: 'EV battery', group: 'battery', out: 'command', in: 'status', report: 'a status', parse: parseBatteryStatus });
  }

  command(command: EvBatteryCommand): void {
    this.send(command);
  }

  onReport(listener: (r: EvBatteryReport) => void): () => void {
    return this.listen(listener);
  }
}

/** One MqttEvBattery per EV station of a run, made when the station starts. */
export class MqttEvBatteries extends MqttDeviceSet<MqttEvBattery> {
  constructor(private readonly options: MqttDeviceSetOptions & { silenceTimeoutMs?: number | undefined }) {
    super(options);
  }

  bindingFor(id: string): EvBatteryBinding {
    const battery = this.addFor(id, (o) => new MqttEvBattery(o));
    const { silenceTimeoutMs } = this.options;
    return { battery, ...(silenceTimeoutMs !== undefined ? { silenceTimeoutMs } : {}) };
  }
}
