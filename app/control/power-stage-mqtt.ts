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
import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import type { IsolationResult, PowerStage, PowerStageBinding, PowerStageMeasurement, PowerStageSetpoint } from '../../machines/power-stage.js';

export interface MqttPowerStageOptions {
  url: string;
  /** Station id (the control API's: `evse`, `evse-<serial>`). */
  id: string;
  prefix?: string;
  log: (text: string) => void;
  protocolVersion?: 4 | 5;
  clientOptions?: IClientOptions;
}

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
  private readonly client: MqttClient;
  private readonly listeners = new Set<(m: PowerStageMeasurement) => void>();
  private last?: PowerStageSetpoint;
  readonly setpointTopic: string;
  readonly measuredTopic: string;

  constructor(private readonly options: MqttPowerStageOptions) {
    const base = `${options.prefix ?? 'freev2g'}/${options.id}/power`;
    this.setpointTopic = `${base}/setpoint`;
    this.measuredTopic = `${base}/measured`;
    this.client = connect(options.url, {
      clientId: `freev2g-${options.id}-power-${process.pid}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      queueQoSZero: false,
      protocolVersion: options.protocolVersion ?? 5,
      ...options.clientOptions,
    });
    this.client.on('connect', () => {
      this.client.subscribe(this.measuredTopic, { qos: 1 });
      if (this.last) this.publish(this.last);
    });
    this.client.on('error', (e) => options.log(`Power stage (MQTT): ${e.message}`));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload.toString('utf8')));
  }

  setpoint(setpoint: PowerStageSetpoint): void {
    this.last = setpoint;
    // While the broker is away nothing is queued: the latest goes out on reconnection.
    if (this.client.connected) this.publish(setpoint);
  }

  onMeasured(listener: (m: PowerStageMeasurement) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once connected and subscribed (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MQTT broker ${this.options.url} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.client.endAsync().catch(() => undefined);
  }

  private publish(setpoint: PowerStageSetpoint): void {
    this.client.publish(this.setpointTopic, JSON.stringify(setpoint), { qos: 1 });
  }

  private onMessage(topic: string, text: string): void {
    if (topic !== this.measuredTopic) return;
    const m = parseMeasurement(text);
    if (typeof m === 'string') return this.options.log(`Power stage (MQTT): ignoring a measurement on ${topic}: ${m}`);
    for (const l of this.listeners) l(m);
  }
}

/** One MqttPowerStage per EVSE station of a run, made when the station starts. */
export class MqttPowerStages {
  private readonly stages: MqttPowerStage[] = [];

  constructor(private readonly options: { url: string; prefix?: string | undefined; log: (text: string) => void; broker: boolean; offConfirmTimeoutMs?: number | undefined }) {}

  bindingFor(id: string): PowerStageBinding {
    const { url, prefix, log, broker, offConfirmTimeoutMs } = this.options;
    // The embedded broker (aedes) speaks MQTT 3.1.1 only.
    const stage = new MqttPowerStage({ url, id, log, ...(prefix ? { prefix } : {}), ...(broker ? { protocolVersion: 4 as const } : {}) });
    this.stages.push(stage);
    return { stage, ...(offConfirmTimeoutMs !== undefined ? { offConfirmTimeoutMs } : {}) };
  }

  async ready(timeoutMs?: number): Promise<void> {
    await Promise.all(this.stages.map((s) => s.ready(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.stages.map((s) => s.close()));
  }
}
