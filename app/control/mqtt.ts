/**
 * The control and telemetry API over MQTT (`--mqtt <url>`): one MQTT connection per station, so
 * each has its own last will. Topic tree under a prefix (default `freev2g`), <id> the station's
 * id (`evse`, `ev`, `evse-000101637733` with several modules):
 *
 *   <p>/<id>/online              retained  "true" / "false" (the last will says "false")
 *   <p>/<id>/state               retained  the whole StationState as JSON
 *   <p>/<id>/state/<key>         retained  one field: phase, cp, slac, voltageV, currentA, powerW,
 *                                          socPercent, energyWh, available, limits,
 *                                          pendingAuthorization, sessions (empty = none)
 *   <p>/<id>/event/<type>                  log, phase and authorization events as JSON
 *   <p>/<id>/session             QoS 1     each session record as JSON
 *   <p>/<id>/cmd/<command>       (in)      stop | enable | disable | setLimits | authorize, JSON
 *                                          body (may be empty), optional "id" echoed in the reply
 *   <p>/<id>/reply/<command>     QoS 1     { ok, station, command, message, id? }; an MQTT 5
 *                                          response topic and correlation data are honoured too
 *
 * Charging never depends on the broker: publishing while it is away is dropped (telemetry) or
 * queued by the client (QoS 1), commands simply do not arrive, and errors are logged once per
 * outage. Telemetry driven by samples is sent at most every `sampleIntervalMs` (latest wins).
 */
import { type IClientOptions, type MqttClient, connect } from 'mqtt';
import type { CommandReply, ControlEvent, StationController, StationState } from './controller.js';

export interface MqttBridgeOptions {
  url: string;
  prefix?: string;
  /** Least time between two sample-driven state publications per station (ms, real time). */
  sampleIntervalMs?: number;
  /** One line per problem (connection lost, refused). */
  log: (text: string) => void;
  /** Extra client options (credentials, TLS). */
  clientOptions?: IClientOptions;
  /** MQTT 5 (default; response topics) or 3.1.1 (the embedded aedes broker speaks only that). */
  protocolVersion?: 4 | 5;
}

const SAMPLE_KEYS = new Set<keyof StationState>(['voltageV', 'currentA', 'powerW', 'socPercent', 'energyWh']);

/** A field as a retained payload: text as is, numbers and booleans as text, the rest as JSON. */
function fieldPayload(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export class MqttBridge {
  private readonly clients = new Map<string, MqttClient>();
  private readonly prefix: string;
  private readonly sampleIntervalMs: number;
  private readonly lastSampleAt = new Map<string, number>();
  private readonly trailing = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly unobserve: () => void;
  private readonly down = new Set<string>();

  constructor(
    private readonly controller: StationController,
    private readonly options: MqttBridgeOptions,
  ) {
    this.prefix = options.prefix ?? 'freev2g';
    this.sampleIntervalMs = options.sampleIntervalMs ?? 500;
    this.unobserve = controller.observe((ev) => this.onControlEvent(ev));
    for (const id of controller.ids()) this.connectStation(id);
  }

  topic(id: string, ...rest: string[]): string {
    return [this.prefix, id, ...rest].join('/');
  }

  /** Resolves once every station's connection is up (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 5000): Promise<void> {
    await Promise.all(
      [...this.clients.values()].map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            if (c.connected) return resolve();
            const timer = setTimeout(() => reject(new Error(`MQTT broker ${this.options.url} did not answer within ${timeoutMs} ms`)), timeoutMs);
            c.once('connect', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.unobserve();
    for (const t of this.trailing.values()) clearTimeout(t);
    await Promise.all(
      [...this.clients.entries()].map(async ([id, c]) => {
        // A clean end says offline itself (the broker sends the will only on an unclean loss).
        if (c.connected) await c.publishAsync(this.topic(id, 'online'), 'false', { retain: true, qos: 1 }).catch(() => undefined);
        await c.endAsync().catch(() => undefined);
      }),
    );
  }

  private connectStation(id: string): void {
    const client = connect(this.options.url, {
      clientId: `freev2g-${id}-${process.pid}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      queueQoSZero: false,
      protocolVersion: this.options.protocolVersion ?? 5,
      will: { topic: this.topic(id, 'online'), payload: Buffer.from('false'), retain: true, qos: 1 },
      ...this.options.clientOptions,
    });
    this.clients.set(id, client);
    client.on('connect', () => {
      if (this.down.delete(id)) this.options.log(`MQTT: ${id} connected to ${this.options.url} again`);
      client.subscribe(this.topic(id, 'cmd', '+'), { qos: 1 });
      client.publish(this.topic(id, 'online'), 'true', { retain: true, qos: 1 });
      const state = this.controller.state(id);
      if (state) this.publishState(id, state, Object.keys(state) as Array<keyof StationState>);
    });
    client.on('error', (e) => this.lost(id, e.message));
    client.on('offline', () => this.lost(id, 'broker unreachable'));
    client.on('message', (topic, payload, packet) => {
      const command = topic.slice(this.topic(id, 'cmd').length + 1);
      let body: Record<string, unknown> = {};
      try {
        const text = payload.toString('utf8').trim();
        body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not a JSON object');
      } catch (e) {
        return this.reply(client, id, command, { ok: false, station: id, command, message: `payload: ${(e as Error).message}` }, undefined, packet.properties);
      }
      const { id: correlation, ...rest } = body;
      const result = this.controller.execute(id, { ...rest, command });
      this.reply(client, id, command, result, correlation, packet.properties);
    });
  }

  private lost(id: string, why: string): void {
    if (this.down.has(id)) return;
    this.down.add(id);
    this.options.log(`MQTT: ${id}: ${why}; charging goes on, retrying`);
  }

  private reply(client: MqttClient, id: string, command: string, reply: CommandReply, correlation: unknown, props?: { responseTopic?: string; correlationData?: Buffer }): void {
    const body = JSON.stringify({ ...reply, ...(correlation !== undefined ? { id: correlation } : {}) });
    const topic = props?.responseTopic ?? this.topic(id, 'reply', command);
    const properties = props?.correlationData ? { properties: { correlationData: props.correlationData } } : {};
    client.publish(topic, body, { qos: 1, ...properties });
  }

  private onControlEvent(ev: ControlEvent): void {
    const client = this.clients.get(ev.station);
    if (!client) {
      if (ev.kind === 'state') this.connectStation(ev.station);
      return;
    }
    if (!client.connected) return;
    switch (ev.kind) {
      case 'state':
        return this.onState(ev.station, ev.state, ev.changed);
      case 'event':
        client.publish(this.topic(ev.station, 'event', ev.event.type), JSON.stringify(ev.event));
        return;
      case 'record':
        client.publish(this.topic(ev.station, 'session'), JSON.stringify(ev.record), { qos: 1 });
        return;
    }
  }

  /** Sample-only changes are rate limited (latest wins); anything else goes out at once. */
  private onState(id: string, state: StationState, changed: ReadonlyArray<keyof StationState>): void {
    if (!changed.every((k) => SAMPLE_KEYS.has(k))) return this.publishState(id, state, changed);
    const now = performance.now();
    const last = this.lastSampleAt.get(id) ?? -Infinity;
    if (now - last >= this.sampleIntervalMs) return this.publishState(id, state, changed);
    if (this.trailing.has(id)) return;
    this.trailing.set(
      id,
      setTimeout(
        () => {
          this.trailing.delete(id);
          const latest = this.controller.state(id);
          if (latest) this.publishState(id, latest, [...SAMPLE_KEYS]);
        },
        this.sampleIntervalMs - (now - last),
      ),
    );
  }

  private publishState(id: string, state: StationState, changed: ReadonlyArray<keyof StationState>): void {
    const client = this.clients.get(id);
    if (!client?.connected) return;
    if (changed.some((k) => SAMPLE_KEYS.has(k))) this.lastSampleAt.set(id, performance.now());
    for (const key of changed) {
      if (key === 'id' || key === 'role') continue;
      client.publish(this.topic(id, 'state', key), fieldPayload(state[key]), { retain: true });
    }
    client.publish(this.topic(id, 'state'), JSON.stringify(state), { retain: true });
  }
}
