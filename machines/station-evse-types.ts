/**
 * The EVSE station's interface (station-evse.ts): what it is started with, the events it takes
 * (operator commands and its children's reports) and its context.
 */
import type { FirmwareProfile } from '../firmware/profiles.js';
import type { AuthorizationPolicy } from './authorization-policy.js';
import type { CertificateProvider } from './certificate-provider.js';
import type { ChargerSample } from './charger.js';
import type { EvseConfig } from './config.js';
import type { CpToParent } from './control-pilot-evse.js';
import type { SequenceEvent } from './hci-actors.js';
import type { LivenessEvent } from './liveness.js';
import type { PowerStageBinding, PowerStageLinkEvent } from './power-stage.js';
import type { SlacToParent } from './slac.js';
import type { StationInput } from './station-common.js';
import type { ChildEmit, SessionRecord } from './station-events.js';
import type { StopChargingWire } from './stop-charging-wire.js';

export interface EvseStationInput extends StationInput<EvseConfig> {
  policy: AuthorizationPolicy;
  certificateProvider?: CertificateProvider;
  /** External power electronics; without it the charger simulates its output. */
  powerStage?: PowerStageBinding;
}

export type EvseStationEvent =
  | { type: 'shutdown' }
  /** The operator stops the charging in progress (the EV is asked to stop; the session ends normally). */
  | { type: 'stopCharging' }
  /**
   * Availability (operator, backend): a disabled station stops the charging in progress and
   * matches no new car until enabled again; the car that is plugged in meanwhile is served then.
   */
  | { type: 'station.disable' }
  | { type: 'station.enable' }
  /** Ask the EV to renegotiate while charging (EVSENotification ReNegotiation, 18.10.20). */
  | { type: 'renegotiate' }
  /**
   * The station's limits change (operator, load management). They hold for the rest of the
   * station's sessions and reach the car with the next parameter update (18.10.4/18.10.7).
   */
  | { type: 'setLimits'; maxPowerW?: number; maxCurrentA?: number }
  | ChildEmit
  | ChargerSample
  | Extract<PowerStageLinkEvent, { type: 'charger.fault' }>
  | SequenceEvent
  | CpToParent
  | SlacToParent
  | LivenessEvent
  | { type: 'owedStop.done'; notes: string[]; stopChargingOwed: boolean };

export interface EvseStationContext extends EvseStationInput {
  firmware?: string;
  /** Set by the firmware check (station-common.ts): the module's update deadline comes from it. */
  firmwareProfile?: FirmwareProfile;
  cpReady: boolean;
  slacReady: boolean;
  vehiclePresent: boolean;
  /** False while disabled by `station.disable`. */
  available: boolean;
  /** The charger limits of the configuration, kept while run-time limits override them. */
  configuredCharger?: EvseConfig['charger'];
  sessions: number;
  failure?: string;
  lastRecord?: SessionRecord;
  /** The Session ID of the session the EV paused on this plug-in (cleared by unplug or its end). */
  pausedSessionId?: string;
  /**
   * station-common.ts: a cut session's EvseStopCharging still owed (not sent by the session, or
   * unanswered): sent by the lost module's reset, the clean-up after it or the shutdown, once.
   */
  stopChargingOwed?: boolean;
  stopWire?: StopChargingWire;
}
