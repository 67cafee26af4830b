/**
 * The one place where the app meets the station machines: builds an EVSE or EV station actor on
 * an HCI client and gives the runner a small handle (events out, shutdown in, done). Everything
 * else in app/ is independent of how the machines are written.
 */
import type { InspectionEvent, Observer } from 'xstate';
import type { HciClient } from '../machines/hci-types.js';
import type { StationEmitted, StationRole } from '../machines/station-events.js';
import type { Clock } from '../util/clock.js';
import type { StationSettings } from './config.js';
import { toEvConfig, toEvseConfig } from './station-config.js';

export interface AuthorizationRequest {
  evccId: string;
  timeoutMs: number;
}

export interface StationHandle {
  readonly role: StationRole;
  /** Every event the station emits (log, phase, sample, authorization, sessionEnded). */
  onEvent(fn: (ev: StationEmitted) => void): void;
  /** Stop charging and the module's services, then stop (the station's `shutdown` event). */
  shutdown(): void;
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
}

/** Set by startStation once the machines are wired (see below). */
export async function startStation(options: StartStationOptions): Promise<StationHandle> {
  const machinesPath = '../machines/index.js';
  const machines = (await import(machinesPath)) as MachinesModule;
  const { settings, client, clock } = options;
  const common = { client, clock, ...(options.inspect ? { inspect: options.inspect } : {}) };
  if (settings.role === 'EVSE') {
    const evse = settings.evse;
    if (!evse) throw new Error(`${settings.source}: no evse section`);
    const config = toEvseConfig(evse, options.authorize !== undefined);
    return machines.createEvseStation({ ...common, config, ...(options.authorize ? { authorize: options.authorize } : {}) });
  }
  const ev = settings.ev;
  if (!ev) throw new Error(`${settings.source}: no ev section`);
  return machines.createEvStation({ ...common, config: toEvConfig(ev) });
}

/** What machines/index.ts is expected to export (checked when it lands). */
interface MachinesModule {
  createEvseStation(o: object): StationHandle;
  createEvStation(o: object): StationHandle;
}
