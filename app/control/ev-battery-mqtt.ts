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
import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import type { EvBattery, EvBatteryBinding, EvBatteryCommand, EvBatteryReport } from '../../machines/ev-battery.js';

export interface MqttEvBatteryOptions {
  url: string;
  /** Station id (the control API's: `ev`, `ev-<serial>`). */
  id: string;
  prefix?: string;
  log: (text: string) => void;
  protocolVersion?: 4 | 5;
  clientOptions?: IClientOptions;
}

const OPTIONAL_NUMBERS = ['maxVoltageV', 'maxCurrentA', 'maxPowerW', 'targetVoltageV', 'voltageV', 'currentA'] as const;

/** A status report from its JSON text, or the reason it is not one. */
export function parseBatteryStatus(text: string): EvBatteryReport | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  const b = body as Record<string, unknown>;
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

export class MqttEvBattery implements EvBattery {
  private readonly client: MqttClient;
  private readonly listeners = new Set<(r: EvBatteryReport) => void>();
  private last?: EvBatteryCommand;
  readonly commandTopic: string;
  readonly statusTopic: string;

  constructor(private readonly options: MqttEvBatteryOptions) {
    const base = `${options.prefix ?? 'freev2g'}/${options.id}/battery`;
    this.commandTopic = `${base}/command`;
    this.statusTopic = `${base}/status`;
    this.client = connect(options.url, {
      clientId: `freev2g-${options.id}-battery-${process.pid}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      queueQoSZero: false,
      protocolVersion: options.protocolVersion ?? 5,
      ...options.clientOptions,
    });
    this.client.on('connect', () => {
      this.client.subscribe(this.statusTopic, { qos: 1 });
      if (this.last) this.publish(this.last);
    });
    this.client.on('error', (e) => options.log(`EV battery (MQTT): ${e.message}`));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload.toString('utf8')));
  }

  command(command: EvBatteryCommand): void {
    this.last = command;
    // While the broker is away nothing is queued: the latest goes out on reconnection.
    if (this.client.connected) this.publish(command);
  }

  onReport(listener: (r: EvBatteryReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
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

  private publish(command: EvBatteryCommand): void {
    this.client.publish(this.commandTopic, JSON.stringify(command), { qos: 1 });
  }

  private onMessage(topic: string, text: string): void {
    if (topic !== this.statusTopic) return;
    const r = parseBatteryStatus(text);
    if (typeof r === 'string') return this.options.log(`EV battery (MQTT): ignoring a status on ${topic}: ${r}`);
    for (const l of this.listeners) l(r);
  }
}

/** One MqttEvBattery per EV station of a run, made when the station starts. */
export class MqttEvBatteries {
  private readonly batteries: MqttEvBattery[] = [];

  constructor(private readonly options: { url: string; prefix?: string | undefined; log: (text: string) => void; broker: boolean; silenceTimeoutMs?: number | undefined }) {}

  bindingFor(id: string): EvBatteryBinding {
    const { url, prefix, log, broker, silenceTimeoutMs } = this.options;
    // The embedded broker (aedes) speaks MQTT 3.1.1 only.
    const battery = new MqttEvBattery({ url, id, log, ...(prefix ? { prefix } : {}), ...(broker ? { protocolVersion: 4 as const } : {}) });
    this.batteries.push(battery);
    return { battery, ...(silenceTimeoutMs !== undefined ? { silenceTimeoutMs } : {}) };
  }

  async ready(timeoutMs?: number): Promise<void> {
    await Promise.all(this.batteries.map((b) => b.ready(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.batteries.map((b) => b.close()));
  }
}
