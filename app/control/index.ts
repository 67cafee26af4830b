/**
 * The control plane of a run (`--mqtt`, `--external-auth`, the API and /metrics on the dashboard
 * server): the station controller, the MQTT bridge (and an embedded broker), the metrics, and
 * the HTTP routes, put together as one RunIntegration. Loaded only when one of them is asked for,
 * so a plain run pays nothing for MQTT or prom-client.
 */
import type { HciClientHandle } from '../../machines/hci-client.js';
import { policyFromConfig } from '../../machines/authorization-policy.js';
import type { StationEmitted } from '../../machines/station-events.js';
import type { Clock } from '../../util/clock.js';
import type { RunIntegration, RunStation } from '../run.js';
import type { StationHandle } from '../stations.js';
import type { EvseSettings } from '../config.js';
import { toEvseConfig } from '../station-config.js';
import { type EmbeddedBroker, embeddedPort, startEmbeddedBroker } from './broker.js';
import { StationController } from './controller.js';
import { type HttpRoutes, httpRoutes } from './http.js';
import { StationMetrics } from './metrics.js';
import { MqttBridge } from './mqtt.js';
import { MqttPowerStages } from './power-stage-mqtt.js';
import { MqttEvBatteries } from './ev-battery-mqtt.js';
import { OcppChargePoint } from '../ocpp/charge-point.js';
import { ocppCertificateProvider } from '../ocpp/certificate-provider.js';
import type { CertificateProvider } from '../../machines/certificate-provider.js';
import type { OcppSettings } from '../ocpp/url.js';
import type { AuthorizationPolicy } from '../../machines/authorization-policy.js';

/** What the command line asks for (RunSettings.control). */
export interface ControlSettings {
  /** Broker URL (mqtt://, mqtts://, ws://) or "embedded[:port]". */
  mqtt?: string;
  mqttPrefix?: string;
  /** Authorization asks the API first and falls back to the configured policy. */
  externalAuth?: boolean;
  /** Required for every API request when set (and to listen beyond 127.0.0.1). */
  httpToken?: string;
  /** The backend link: the EVSE stations as one OCPP 1.6J charge point. */
  ocpp?: OcppSettings;
  /** The EVSE's power electronics on the MQTT broker (power-stage-mqtt.ts); default: simulated. */
  powerStage?: 'mqtt';
  /** How long an external stage has to confirm 0 A after a disable (default 1000 ms). */
  powerStageOffTimeoutMs?: number;
  /** The EV's battery on the MQTT broker (ev-battery-mqtt.ts); default: simulated. */
  evBattery?: 'mqtt';
  /** How long an external battery may stay silent before that is a fault (default 2000 ms). */
  evBatterySilenceTimeoutMs?: number;
}

export interface ControlPlane extends RunIntegration {
  readonly controller: StationController;
  readonly metrics: StationMetrics;
  readonly routes: HttpRoutes;
  readonly broker?: EmbeddedBroker;
  readonly ocpp?: OcppChargePoint;
  /** The MQTT topic prefix in use. */
  readonly mqttPrefix: string;
  /** Resolves when the MQTT connections are up (immediately without MQTT). */
  ready(timeoutMs?: number): Promise<void>;
}

export async function createControlPlane(settings: ControlSettings, clock: Clock, log: (text: string) => void): Promise<ControlPlane> {
  const controller = new StationController({ clock });
  const metrics = new StationMetrics();
  const routes = httpRoutes(controller, metrics, settings.httpToken);
  let broker: EmbeddedBroker | undefined;
  let bridge: MqttBridge | undefined;
  if (settings.mqtt !== undefined) {
    const port = embeddedPort(settings.mqtt);
    if (port !== undefined) {
      broker = await startEmbeddedBroker(port);
      log(`MQTT broker (embedded): ${broker.url}`);
    }
    bridge = new MqttBridge(controller, {
      url: broker?.url ?? settings.mqtt,
      log,
      ...(broker ? { protocolVersion: 4 as const } : {}),
      ...(settings.mqttPrefix ? { prefix: settings.mqttPrefix } : {}),
    });
  }
  const ids = new Map<string, string>();
  const idOf = (key: string): string => {
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = StationController.idOf(key)));
    return id;
  };
  const phases = new Map<string, string>();
  /** Each EVSE station's configured policy: decides when the API or the backend cannot. */
  const policies = new Map<string, AuthorizationPolicy>();
  const policyOf = (evse: EvseSettings): AuthorizationPolicy => {
    const configured = toEvseConfig(evse, false).authorization;
    return configured.mode === 'interactive' ? { mode: 'denyAll' } : policyFromConfig(configured);
  };
  const stages =
    settings.powerStage === 'mqtt'
      ? new MqttPowerStages({ url: broker?.url ?? settings.mqtt ?? '', prefix: settings.mqttPrefix, log, broker: broker !== undefined, offConfirmTimeoutMs: settings.powerStageOffTimeoutMs })
      : undefined;
  const batteries =
    settings.evBattery === 'mqtt'
      ? new MqttEvBatteries({ url: broker?.url ?? settings.mqtt ?? '', prefix: settings.mqttPrefix, log, broker: broker !== undefined, silenceTimeoutMs: settings.evBatterySilenceTimeoutMs })
      : undefined;
  const ocpp = settings.ocpp ? new OcppChargePoint(controller, clock, settings.ocpp, log, (id) => policies.get(id) ?? { mode: 'denyAll' }) : undefined;

  return {
    controller,
    metrics,
    routes,
    ...(broker ? { broker } : {}),
    ...(ocpp ? { ocpp } : {}),
    mqttPrefix: settings.mqttPrefix ?? 'freev2g',
    ready: async (timeoutMs?: number) => void (await Promise.all([bridge?.ready(timeoutMs), stages?.ready(timeoutMs), batteries?.ready(timeoutMs)])),

    stationStarted(key: string, station: RunStation, handle: StationHandle, client: HciClientHandle): void {
      const id = idOf(key);
      controller.addStation(id, station.settings.role, handle);
      if (ocpp && station.settings.role === 'EVSE') ocpp.addStation(id, station.settings.evse?.certsFolder);
      metrics.stationUp(id, true);
      void handle.done.then(() => metrics.stationUp(id, false));
      client.traffic$.subscribe((t) => metrics.traffic(id, t, phases.get(id) === 'charging'));
      station.transport.linkState$.subscribe((s) => metrics.link(id, s));
    },

    event(key: string, ev: StationEmitted): void {
      const id = idOf(key);
      if (ev.type === 'phase') {
        phases.set(id, ev.phase);
        metrics.phase(id, ev.phase);
      } else if (ev.type === 'sessionEnded') metrics.session(id, ev.record);
      controller.onStationEvent(id, ev);
    },

    certificateProviderFor() {
      return ocpp ? (configured: CertificateProvider | undefined) => ocppCertificateProvider(ocpp, configured) : undefined;
    },

    authorizerFor(key: string, station: RunStation) {
      const evse = station.settings.evse;
      if (!evse) return undefined;
      const id = idOf(key);
      policies.set(id, policyOf(evse));
      // The backend decides first; without one, the API when asked for.
      if (ocpp) return ocpp.authorizer(id);
      return settings.externalAuth ? controller.authorizer(id, policyOf(evse)) : undefined;
    },

    powerStageFor: (key: string, station: RunStation) => (station.settings.role === 'EVSE' ? stages?.bindingFor(idOf(key)) : undefined),

    batteryFor: (key: string, station: RunStation) => (station.settings.role === 'EV' ? batteries?.bindingFor(idOf(key)) : undefined),

    async close(): Promise<void> {
      routes.close();
      await stages?.close();
      await batteries?.close();
      await ocpp?.close();
      await bridge?.close();
      await broker?.close();
    },
  };
}
