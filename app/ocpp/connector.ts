/**
 * One OCPP connector = one EVSE station: its status as OCPP names it (from the station's phase,
 * availability and output), its transaction, its energy register and its charging profiles.
 * Pure bookkeeping; the charge point (charge-point.ts) does the talking.
 */
import type { SessionRecord } from '../../machines/station-events.js';
import type { StationState } from '../control/controller.js';
import type { ChargingProfile } from './smart-charging.js';

export type ConnectorStatus = 'Available' | 'Preparing' | 'Charging' | 'SuspendedEV' | 'SuspendedEVSE' | 'Finishing' | 'Unavailable' | 'Faulted';

export interface Transaction {
  localTx: number;
  idTag: string;
  startedAt: number;
  meterStartWh: number;
  /** Set when the station was stopped by RemoteStopTransaction, Reset or ChangeAvailability. */
  stopReason?: string;
  /**
   * The EV paused the session (closure "pause", 18.12.13): the transaction stays open over the
   * pause, its meter flat, until energy flows in the resumed segment (docs/ocpp.md).
   */
  paused?: boolean;
}

const PREPARING = new Set(['slac', 'v2gSetup', 'sessionStarted', 'authorization', 'chargeParameterDiscovery', 'cableCheck', 'preCharge']);
const FINISHING = new Set(['stoppingCharging', 'postCharge', 'sessionStopped']);

/** The OCPP status of a station (OCPP 1.6 section 4.9's states). */
export function statusOf(s: StationState, sessionOpen: boolean, paused = false): ConnectorStatus {
  // A module set-up that failed and waits to be tried again (machines/setup-retry.ts) is a fault
  // too: no energy until the module is set up; the status returns to Available then.
  if (s.phase === 'error' || s.phase === 'setUpRetry') return 'Faulted';
  // The EV paused its session and may resume it (its transaction is still open): from the pause
  // over the wake-up, SLAC and the resumed session's set-up, the EV is what holds energy back.
  if (paused && s.phase !== 'charging') return 'SuspendedEV';
  if (s.phase === 'charging') {
    if (s.limits.maxCurrentA === 0 || s.limits.maxPowerW === 0) return 'SuspendedEVSE';
    // Energy flowed and stopped while the session stays in its charge loop: the EV paused.
    return s.energyWh > 0 && s.currentA < 0.1 ? 'SuspendedEV' : 'Charging';
  }
  if (s.phase !== undefined && (PREPARING.has(s.phase) || FINISHING.has(s.phase))) return PREPARING.has(s.phase) ? 'Preparing' : 'Finishing';
  // After a session the car may still be plugged in: Finishing until the station waits again.
  if (sessionOpen) return 'Finishing';
  return s.available ? 'Available' : 'Unavailable';
}

/**
 * A connector's status from its station's state. While its transaction is open, the stopping
 * phases keep the status it had: whether the transaction ends (Finishing, once the record closes
 * it) or the EV paused it (SuspendedEV) is known only from the record that follows.
 */
export function connectorStatus(c: Connector, s: StationState): ConnectorStatus {
  if (c.tx && !c.tx.paused && s.phase !== undefined && FINISHING.has(s.phase)) return c.status;
  return statusOf(s, c.sessionOpen, c.tx?.paused);
}

/** Why a transaction stopped, in OCPP 1.6's words. */
export function stopReasonOf(record: SessionRecord, requested: string | undefined): string {
  if (requested !== undefined) return requested;
  if (record.error) return 'Other';
  switch (record.stopReason) {
    case 'unplugged':
      return 'EVDisconnected';
    case 'operatorStop':
      return 'Local';
    case 'shutdown':
      return 'Reboot';
    case 'authorizationRejected':
      return 'DeAuthorized';
    default:
      return 'Local';
  }
}

export class Connector {
  status: ConnectorStatus = 'Available';
  tx?: Transaction;
  /** Energy delivered by this connector over its life (Wh): the meter register OCPP reports. */
  registerWh = 0;
  /** The session's energy as last sampled (added to the register when the session ends). */
  sessionWh = 0;
  /** Between the end of a session and the station waiting for the next car. */
  sessionOpen = false;
  idTag?: string;
  /** Plug & Charge: the contract of the running session (Payment Selected). */
  contract?: { emaid: string; certificateChain: string[] };
  /** RemoteStartTransaction's id tag for the next vehicle, until it expires. */
  remote?: { idTag: string; until: number };
  /** RemoteStopTransaction or Reset stopped a paused transaction: the resume is refused. */
  refuseResume = false;
  /** A vehicle the CSMS did not know waits here for a RemoteStartTransaction. */
  waiting?: (accepted: boolean) => void;
  profiles: ChargingProfile[] = [];
  /** ChangeAvailability while a transaction runs: applied when it ends. */
  scheduledAvailability?: 'Operative' | 'Inoperative';
  meterTimer?: number;
  limitTimer?: number;

  constructor(
    readonly id: number,
    readonly station: string,
  ) {}

  meterWh(): number {
    return Math.round(this.registerWh + this.sessionWh);
  }
}
