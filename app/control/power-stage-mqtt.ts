/**
 * An external power stage over MQTT (`--power-stage mqtt`, on the `--mqtt` broker): the EVSE's
 * charger publishes its setpoints and the power electronics (or their adapter) publish what they
 * measure. Topics, <p> the prefix (default freev2g), <id> the station id (`evse`, ...):
 *
 *   <p>/<id>/power/setpoint   (out) QoS 1  {"enabled","voltageV","currentA","voltageRampVPerMs","currentRampAPerMs","isolationCheck"}
 *   <p>/<id>/power/measured   (in)         {"voltageV","currentA","isolation"?,"fault"?}
 *
 * Setpoints are not retained (a stale "enabled" must never reach a stage that restarts); the
 * latest one is sent again on every (re)connection. A measurement that is not valid JSON of that
 * shape is logged in one line and ignored. Losing the broker is safe by the contract: a disable
 * that the stage cannot confirm within the bound is a fault (machines/power-stage.ts).
 */
import type { IsolationResult, PowerStage, PowerStageBinding, PowerStageMeasurement, PowerStageSetpoint } from '../../machines/power-stage.js';
import { MqttDevice, type MqttDeviceOptions, MqttDeviceSet, type MqttDeviceSetOptions, parseJsonObject } from './mqtt-device.js';

/** Station id: the control API's `evse`, `evse-<serial>`. */
export type MqttPowerStageOptions = MqttDeviceOptions;

const ISOLATION: ReadonlySet<string> = new Set<IsolationResult>(['invalid', 'valid', 'warning', 'fault']);

/** A measurement from its JSON text, or the reason it is not one. */
export function parseMeasurement(text: string): PowerStageMeasurement | string {
  const body = parseJsonObject(text);
  if (typeof body === 'string') return body;
  const { voltageV, currentA, isolation, fault } = body;
  if (typeof voltageV !== 'number' || !Number.isFinite(voltageV)) return 'voltageV must be a number';
  if (typeof currentA !== 'number' || !Number.isFinite(currentA)) return 'currentA must be a number';
  if (isolation !== undefined && (typeof isolation !== 'string' || !ISOLATION.has(isolation))) return `isolation must be one of ${[...ISOLATION].join(', ')}`;
  if (fault !== undefined && fault !== null && typeof fault !== 'string') return 'fault must be a string';
  return { voltageV, currentA, ...(isolation ? { isolation: isolation as IsolationResult } : {}), ...(fault ? { fault } : {}) };
}

export class MqttPowerStage extends MqttDevice<PowerStageSetpoint, PowerStageMeasurement> implements PowerStage {
  constructor(options: MqttPowerStageOptions) {
    super(options, { label: 'Power stage', group: 'power', out: 'setpoint', in: 'measured', report: 'a measurement', parse: parseMeasurement });
  }

  setpoint(setpoint: PowerStageSetpoint): void {
    this.send(setpoint);
  }

  onMeasured(listener: (m: PowerStageMeasurement) => void): () => void {
    return this.listen(listener);
  }
}

/** One MqttPowerStage per EVSE station of a run, made when the station starts. */
export class MqttPowerStages extends MqttDeviceSet<MqttPowerStage> {
  constructor(private readonly options: MqttDeviceSetOptions & { offConfirmTimeoutMs?: number | undefined }) {
    super(options);
  }

  bindingFor(id: string): PowerStageBinding {
    const stage = this.addFor(id, (o) => new MqttPowerStage(o));
    const { offConfirmTimeoutMs } = this.options;
    return { stage, ...(offConfirmTimeoutMs !== undefined ? { offConfirmTimeoutMs } : {}) };
  }
}
