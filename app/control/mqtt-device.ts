/**
 * One external device on the MQTT broker, as the power stage (power-stage-mqtt.ts) and the EV
 * battery (ev-battery-mqtt.ts) are: the host publishes commands to `<p>/<id>/<group>/<out>` (QoS
 * 1, not retained: a stale command must never reach a device that restarts; the latest one goes
 * out again on every (re)connection) and reads the device's reports from `<p>/<id>/<group>/<in>`,
 * each checked by `parse`; a report that is not one is logged in one line and ignored.
 */
import { type IClientOptions, type MqttClient, connect } from 'mqtt';

export interface MqttDeviceOptions {
  url: string;
  /** Station id (the control API's: `evse`, `ev-<serial>`, ...). */
  id: string;
  prefix?: string;
  log: (text: string) => void;
  protocolVersion?: 4 | 5;
  clientOptions?: IClientOptions;
}

/** What tells one kind of device from another. */
export interface MqttDeviceKind<In> {
  /** Log label, e.g. "Power stage". */
  label: string;
  /** Topic group and the two leaves: `power`, `setpoint`, `measured`. */
  group: string;
  out: string;
  in: string;
  /** What one report is called in the log ("a measurement"). */
  report: string;
  parse: (text: string) => In | string;
}

export class MqttDevice<Out, In> {
  private readonly client: MqttClient;
  private readonly listeners = new Set<(report: In) => void>();
  private last?: Out;
  readonly outTopic: string;
  readonly inTopic: string;

  constructor(
    private readonly options: MqttDeviceOptions,
    private readonly kind: MqttDeviceKind<In>,
  ) {
    const base = `${options.prefix ?? 'freev2g'}/${options.id}/${kind.group}`;
    this.outTopic = `${base}/${kind.out}`;
    this.inTopic = `${base}/${kind.in}`;
    this.client = connect(options.url, {
      clientId: `freev2g-${options.id}-${kind.group}-${process.pid}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      queueQoSZero: false,
      protocolVersion: options.protocolVersion ?? 5,
      ...options.clientOptions,
    });
    this.client.on('connect', () => {
      this.client.subscribe(this.inTopic, { qos: 1 });
      if (this.last !== undefined) this.publish(this.last);
    });
    this.client.on('error', (e) => options.log(`${kind.label} (MQTT): ${e.message}`));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload.toString('utf8')));
  }

  send(out: Out): void {
    this.last = out;
    // While the broker is away nothing is queued: the latest goes out on reconnection.
    if (this.client.connected) this.publish(out);
  }

  listen(listener: (report: In) => void): () => void {
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

  private publish(out: Out): void {
    this.client.publish(this.outTopic, JSON.stringify(out), { qos: 1 });
  }

  private onMessage(topic: string, text: string): void {
    if (topic !== this.inTopic) return;
    const r = this.kind.parse(text);
    if (typeof r === 'string') return this.options.log(`${this.kind.label} (MQTT): ignoring ${this.kind.report} on ${topic}: ${r}`);
    for (const l of this.listeners) l(r);
  }
}

/** A report's JSON text as an object, or the reason it is not one (the start of each kind's `parse`). */
export function parseJsonObject(text: string): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  return body as Record<string, unknown>;
}

/** Where the devices of a run connect: `broker` true for the embedded one. */
export interface MqttDeviceSetOptions {
  url: string;
  prefix?: string | undefined;
  log: (text: string) => void;
  broker: boolean;
}

/** The devices of one kind in a run, one per station, made when the station starts. */
export class MqttDeviceSet<D extends { ready(timeoutMs?: number): Promise<void>; close(): Promise<void> }> {
  private readonly devices: D[] = [];

  constructor(private readonly where: MqttDeviceSetOptions) {}

  /** Makes the device of station `id` (`make` is given its options) and keeps it. */
  protected addFor(id: string, make: (options: MqttDeviceOptions) => D): D {
    const { url, prefix, log, broker } = this.where;
    // The embedded broker (aedes) speaks MQTT 3.1.1 only.
    const device = make({ url, id, log, ...(prefix ? { prefix } : {}), ...(broker ? { protocolVersion: 4 as const } : {}) });
    this.devices.push(device);
    return device;
  }

  async ready(timeoutMs?: number): Promise<void> {
    await Promise.all(this.devices.map((d) => d.ready(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.close()));
  }
}
