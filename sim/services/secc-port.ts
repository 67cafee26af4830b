/**
 * The contract between the simulated station's SECC machine (secc-machine.ts) and the V2G EVSE
 * service that runs it (v2g-evse.ts): what the machine asks of the module (the port), the
 * deadlines it is started with, and the events the service sends it.
 */
import type { SessionFailure, V2gRequest, V2gResponse } from '../v2g-messages.js';

export interface SeccPort {
  /** Creates the session (ID, protocol), tells the host (18.12.1) and answers the car. */
  startSession(req: V2gRequest): void;
  respond(req: V2gRequest, extra?: Partial<V2gResponse>): void;
  refuse(req: V2gRequest, failure: SessionFailure): void;
  /** No session for this request: the failure the car learns (the last abort's, or unknown session). */
  refuseNoSession(req: V2gRequest): void;
  /** Session Error + Session Stopped to the host; a held request gets the failure, else the next one. */
  abort(failure: SessionFailure, held: V2gRequest | undefined): void;
  /** Session Stopped to the host once the car has its SessionStopRes (closure type from the request). */
  stopAfterResponse(req: V2gRequest): void;
  /** The station closes the car's TCP connection (no request within the sequence timeout). */
  closeConnection(): void;
  canStart(req: V2gRequest): boolean;
  modeSupported(req: V2gRequest): boolean;
  cableCheckLongEnough(): boolean;
  /** Host information (18.12): each call emits the status message(s). */
  paymentSelected(req: V2gRequest): void;
  /** Plug & Charge (18.12.15/16, 18.12.2): the host is asked; the contract is reported. */
  certificateRequested(req: V2gRequest): void;
  paymentDetails(req: V2gRequest): void;
  authorizationRequested(): void;
  schedulesRequested(req: V2gRequest): void;
  cableCheckRequested(): void;
  dcParameters(req: V2gRequest, withTargets: boolean): void;
  preCharge(req: V2gRequest): void;
  welding(req: V2gRequest): void;
  startChargingRequested(req: V2gRequest): void;
  stopChargingRequested(req: V2gRequest): void;
  /** A pending EVSE notification for the next loop response, taken once. */
  takeNotification(): Partial<V2gResponse>;
  /**
   * The charge loop's parameter deadline (FreeV2G 0x76): armed on entering the loop, re-armed by
   * the port itself on each host update, sent back as PARAMETER_TIMEOUT when missed. It runs on
   * the module's clock outside the machine: a host update is ~60 % of a session's frames, and an
   * XState re-entry per update (cancel and re-schedule a delayed event) cost more than the rest
   * of the update's path (issue 12 target 4).
   */
  armParameterDeadline(): void;
  disarmParameterDeadline(): void;
}

export interface SeccTimeouts {
  authorizationMs: number;
  schedulesMs: number;
  cableCheckMs: number;
  startChargingMs: number;
  stopChargingMs: number;
  certificateMs: number;
}

export type SeccEvent =
  | { type: 'REQ'; req: V2gRequest }
  | { type: 'LISTEN' }
  | { type: 'STOP_LISTEN' }
  | { type: 'AUTHORIZATION'; ok: boolean }
  | { type: 'SCHEDULES'; ok: boolean }
  | { type: 'CABLE_CHECK'; ok: boolean }
  | { type: 'START_CHARGING' }
  | { type: 'STOP_CHARGING' }
  | { type: 'PARAMETER_TIMEOUT' }
  | { type: 'CERTIFICATE'; ok: boolean; exiResponse: Uint8Array }
  | { type: 'ABORT'; failure: SessionFailure; req: V2gRequest }
  /** The PLC link dropped with the car still plugged in: nothing to act on at once (secc-machine.ts). */
  | { type: 'LINK_LOST' }
  /** The car was unplugged (CP state A): the session is over at once. */
  | { type: 'UNPLUGGED' }
  /** V2G_SECC_Sequence_Timeout: no request from the car since the last response (v2g-evse.ts). */
  | { type: 'SEQUENCE_TIMEOUT' };

/** What a SECC actor is started with: the module's side of the machine and its deadlines. */
export interface SeccInput {
  port: SeccPort;
  timeouts: SeccTimeouts;
}
