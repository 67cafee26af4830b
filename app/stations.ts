/**
 * The one place where the app meets the station machines: builds an EVSE or EV station actor on
 * an HCI client and gives the runner a small handle (events out, shutdown in, done). Everything
 * else in app/ is independent of how the machines are written.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { type EvStationActor, type EvseStationActor, createEvStation, createEvseStation } from '../machines/index.js';
import type { HciClient } from '../machines/hci-types.js';
import type { PowerStageBinding } from '../machines/power-stage.js';
import type { EvBatteryBinding } from '../machines/ev-battery.js';
import type { StationEmitted, StationRole } from '../machines/station-events.js';
import type { Clock } from '../util/clock.js';
import type { StationSettings } from './config.js';
import { activeStates } from './state-paths.js';
import { certificateProviderFrom } from './pnc/config.js';
import type { CertificateProvider } from '../machines/certificate-provider.js';
import { toEvConfig, toEvseConfig } from './station-config.js';

export interface AuthorizationRequest {
  evccId: string;
  /** Plug & Charge: the contract's EMAID. */
  emaid?: string;
  timeoutMs: number;
  /** Fires when the module's timeout ran out or the session ended: close the prompt. */
  signal: AbortSignal;
}

/** Control events a running station accepts from outside (operator, MQTT/HTTP API, backend). */
export type StationControlEvent =
  | { type: 'stopCharging' }
  | { type: 'station.disable' }
  | { type: 'station.enable' }
  | { type: 'renegotiate' }
  | { type: 'setLimits'; maxPowerW?: number; maxCurrentA?: number };

export interface StationHandle {
  readonly role: StationRole;
  /** Every event the station emits (log, phase, sample, authorization, sessionEnded). */
  onEvent(fn: (ev: StationEmitted) => void): void;
  /** Stop charging and the module's services, then stop (the station's `shutdown` event). */
  shutdown(): void;
  /** Hands a control event to the running station (ignored once it stopped; docs/machines.md). */
  send(event: StationControlEvent): void;
  /** Active states of a child machine by its systemId ('cp', 'slac', 'session'), if it runs. */
  childStates(systemId: string): string[] | undefined;
  /** Resolves when the station actor has stopped (final state or error). */
  readonly done: Promise<void>;
  /** Active state paths right now (for tests and the dashboard fallback). */
  activeStates(): string[];
}

export interface StartStationOptions {
  settings: StationSettings;
  client: HciClient;
  clock: Clock;
  inspect?: Observer<InspectionEvent> | ((ev: InspectionEvent) => void);
  /** EVSE: answers authorization requests itself (TTY prompt) instead of the configured policy. */
  authorize?: (req: AuthorizationRequest) => Promise<boolean>;
  /** EVSE: wraps the configured certificate provider (e.g. the OCPP backend first, app/ocpp/). */
  certificateProvider?: (configured: CertificateProvider | undefined) => CertificateProvider | undefined;
  /** EVSE: external power electronics instead of the simulated charger output. */
  powerStage?: PowerStageBinding;
  /** EV: the car's real battery instead of the simulated one. */
  battery?: EvBatteryBinding;
  /** Module set-ups in a row before the station gives up (machines/setup-retry.ts); default: no limit. */
  setUpAttempts?: number;
}

/** Builds the station actor for the settings' role and wraps it in a handle. */
export async function startStation(options: StartStationOptions): Promise<StationHandle> {
  const { settings, client, clock } = options;
  const common = { client, clock, ...(options.inspect ? { inspect: options.inspect } : {}), ...(options.setUpAttempts !== undefined ? { setUpAttempts: options.setUpAttempts } : {}) };
  if (settings.role === 'EVSE') {
    const evse = settings.evse;
    if (!evse) throw new Error(`${settings.source}: no evse section`);
    const ask = options.authorize;
    const config = toEvseConfig(evse, ask !== undefined);
    const configured = certificateProviderFrom(evse.certificateProvider, settings.source);
    const certificateProvider = options.certificateProvider ? options.certificateProvider(configured) : configured;
    const actor = createEvseStation({
      ...common,
      config,
      ...(ask ? { ask: (r: AuthorizationRequest) => ask(r) } : {}),
      ...(certificateProvider ? { certificateProvider } : {}),
      ...(options.powerStage ? { powerStage: options.powerStage } : {}),
    });
    return wrap('EVSE', actor satisfies EvseStationActor, (event) => actor.send(event));
  }
  const ev = settings.ev;
  if (!ev) throw new Error(`${settings.source}: no ev section`);
  const actor: EvStationActor = createEvStation({ ...common, config: toEvConfig(ev), ...(options.battery ? { battery: options.battery } : {}) });
  // The car takes stop and renegotiation requests; limits and availability are the EVSE's.
  return wrap('EV', actor, (e) => (e.type === 'stopCharging' || e.type === 'renegotiate' ? actor.send(e) : undefined));
}

/** The part of an XState actor the handle uses (both station actors have it). */
interface StationActor {
  getSnapshot(): { status: string; value: unknown };
  subscribe(observer: { next?: () => void; error?: () => void; complete?: () => void }): unknown;
  on(type: '*', handler: (emitted: unknown) => void): unknown;
  send(event: { type: 'shutdown' }): void;
  readonly system: { get(systemId: string): { getSnapshot(): { value?: unknown; status?: string } } | undefined };
}

/** `control` hands control events to the station (the EV takes stopCharging and renegotiate). */
function wrap(role: StationRole, actor: StationActor, control?: (event: StationControlEvent) => void): StationHandle {
  const done = new Promise<void>((resolve) => {
    const check = (): boolean => {
      const st = actor.getSnapshot().status;
      return st === 'done' || st === 'error' || st === 'stopped';
    };
    if (check()) return resolve();
    actor.subscribe({ next: () => (check() ? resolve() : undefined), error: () => resolve(), complete: () => resolve() });
  });
  return {
    role,
    onEvent(fn) {
      actor.on('*', (e) => fn(e as StationEmitted));
    },
    shutdown() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'shutdown' });
    },
    send(event) {
      if (actor.getSnapshot().status === 'active') control?.(event);
    },
    childStates(systemId) {
      const child = actor.system.get(systemId)?.getSnapshot();
      return child && child.status === 'active' ? activeStates(child.value) : undefined;
    },
    done,
    activeStates: () => activeStates(actor.getSnapshot().value),
  };
}
