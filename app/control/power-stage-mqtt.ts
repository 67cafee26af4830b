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
import { MqttDevice, type MqttDeviceOptions, MqttDeviceSet } from './mqtt-device.js';

/** Station id: the control API's `evse`, `evse-<serial>`. */
export type MqttPowerStageOptions = MqttDeviceOptions;

const ISOLATION: ReadonlySet<string> = new Set<IsolationResult>(['invalid', 'valid', 'warning', 'fault']);

/** A measurement from its JSON text, or the reason it is not one. */
export function parseMeasurement(text: string): PowerStageMeasurement | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  const { voltageV, currentA, isolation, fault } = body as Record<string, unknown>;
  if (typeof voltageV !== 'number' || !Number.isFinite(voltageV)) return 'voltageV must be a number';
  if (typeof currentA !== 'number' || !Number.isFinite(currentA)) return 'currentA must be a number';
  if (isolation !== undefined && (typeof isolation !== 'string' || !ISOLATION.has(isolation))) return `isolation must be one of ${[...ISOLATION].join(', ')}`;
  if (fault !== undefined && fault !== null && typeof fault !== 'string') return 'fault must be a string';
  return { voltageV, currentA, ...(isolation ? { isolation: isolation as IsolationResult } : {}), ...(fault ? { fault } : {}) };
}

export class MqttPowerStage implements PowerStage {
  private readonly link: MqttDevice<PowerStageSetpoint, PowerStageMeasurement>;
  readonly setpointTopic: string;
  readonly measuredTopic: string;

  constructor(options: MqttPowerStageOptions) {
    this.link = new MqttDevice(options, { label: 'Power stage', group: 'power', out: 'setpoint', in: 'measured', report: 'a measurement', parse: parseMeasurement });
    this.setpointTopic = this.link.outTopic;
    this.measuredTopic = this.link.inTopic;
  }

  setpoint(setpoint: PowerStageSetpoint): void {
    this.link.send(setpoint);
  }

  onMeasured(listener: (m: PowerStageMeasurement) => void): () => void {
    return this.link.listen(listener);
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void> {
    return this.link.ready(timeoutMs);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

/** One MqttPowerStage per EVSE station of a run, made when the station starts. */
export class MqttPowerStages extends MqttDeviceSet<MqttPowerStage> {
  constructor(private readonly options: { url: string; prefix?: string | undefined; log: (text: string) => void; broker: boolean; offConfirmTimeoutMs?: number | undefined }) {
    super();
  }

  bindingFor(id: string): PowerStageBinding {
    const { url, prefix, log, broker, offConfirmTimeoutMs } = this.options;
    // The embedded broker (aedes) speaks MQTT 3.1.1 only.
    const stage = this.add(new MqttPowerStage({ url, id, log, ...(prefix ? { prefix } : {}), ...(broker ? { protocolVersion: 4 as const } : {}) }));
    return { stage, ...(offConfirmTimeoutMs !== undefined ? { offConfirmTimeoutMs } : {}) };
  }
}
