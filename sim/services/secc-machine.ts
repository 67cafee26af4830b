/**
 * The simulated station's V2G side (SECC) as an XState machine: closed (not listening) ->
 * listening -> a session whose states are the steps at which the station waits for its host
 * (authorization, schedules, cable check, start and stop charging) and the charge loop. The
 * deadlines the EVSE status messages announce are named delays; missing one aborts the session
 * the manual's way (18.12.14). Requests that need no host answer are answered in any session
 * state. The V2G EVSE service (v2g-evse.ts) implements the port.
 */
import { assign, setup } from 'xstate';
import type { SessionFailure, V2gKind, V2gRequest, V2gResponse } from '../v2g-messages.js';

export interface SeccPort {
  /** Creates the session (ID, protocol), tells the host (18.12.1) and answers the car. */
  startSession(req: V2gRequest): void;
  respond(req: V2gRequest, extra?: Partial<V2gResponse>): void;
  refuse(req: V2gRequest, failure: SessionFailure): void;
  /** No session for this request: the failure the car learns (the last abort's, or unknown session). */
  refuseNoSession(req: V2gRequest): void;
  /** Session Error + Session Stopped to the host; a held request gets the failure, else the next one. */
  abort(failure: SessionFailure, held: V2gRequest | undefined): void;
  /** Session Stopped to the host once the car has its SessionStopRes. */
  stopAfterResponse(): void;
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
  chargeParameterMs(): number;
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
  | { type: 'PARAMETERS' }
  | { type: 'CERTIFICATE'; ok: boolean; exiResponse: Uint8Array }
  | { type: 'ABORT'; failure: SessionFailure; req: V2gRequest }
  | { type: 'LINK_LOST' }
  /** V2G_SECC_Sequence_Timeout: no request from the car since the last response (v2g-evse.ts). */
  | { type: 'SEQUENCE_TIMEOUT' };

interface SeccContext {
  /** A session setup that came before Start Listen (the car repeating SDP). */
  awaiting: V2gRequest | undefined;
  /** The power delivery request the station holds until its host answers. */
  held: V2gRequest | undefined;
}

/** ISO 15118-2: the car repeats SDP every 250 ms, 50 times, before it gives up. */
export const SDP_WINDOW_MS = 50 * 250;
/**
 * From Start Listen to the held car's SessionSetupReq: its next SDP repetition (up to 250 ms
 * later), then TCP connect and supportedAppProtocol.
 */
export const SDP_CONNECT_MS = 250;
/** 18.12.14 code 0 for the host, 18.11.14 code 8 for the car: a missed deadline, a refusal. */
const UNSPECIFIED: SessionFailure = { evseSessionError: 0, evSessionError: 8 };
const PARAMETER_TIMEOUT: SessionFailure = { evseSessionError: 23, evSessionError: 8 };
const WRONG_MODE: SessionFailure = { evseSessionError: 19, evSessionError: 2 };
/** setTimeout's ceiling: a disabled charge-parameter deadline. */
const NEVER_MS = 2 ** 31 - 1;

const reqOf = (e: SeccEvent): V2gRequest | undefined => (e.type === 'REQ' ? e.req : undefined);
const is =
  (kind: V2gKind) =>
  ({ event }: { event: SeccEvent }) =>
    reqOf(event)?.kind === kind;

export function createSeccMachine(port: SeccPort, t: SeccTimeouts) {
  return setup({
    types: { context: {} as SeccContext, events: {} as SeccEvent },
    delays: {
      sdpWindow: SDP_WINDOW_MS,
      sdpConnect: SDP_CONNECT_MS,
      authorizationTimeout: t.authorizationMs,
      schedulesTimeout: t.schedulesMs,
      cableCheckTimeout: t.cableCheckMs,
      startChargingTimeout: t.startChargingMs,
      stopChargingTimeout: t.stopChargingMs,
      certificateTimeout: t.certificateMs,
      chargeParameterTimeout: () => port.chargeParameterMs() || NEVER_MS,
    },
    guards: {
      sessionSetup: is('sessionSetup'),
      serviceDiscovery: is('serviceDiscovery'),
      paymentSelection: is('paymentSelection'),
      authorization: is('authorization'),
      certificateRequest: ({ event }) => reqOf(event)?.kind === 'certificateInstallation' || reqOf(event)?.kind === 'certificateUpdate',
      paymentDetails: is('paymentDetails'),
      chargeParameterDiscovery: is('chargeParameterDiscovery'),
      cableCheck: is('cableCheck'),
      preCharge: is('preCharge'),
      currentDemand: is('currentDemand'),
      chargingStatus: is('chargingStatus'),
      weldingDetection: is('weldingDetection'),
      sessionStop: is('sessionStop'),
      powerDeliveryStart: ({ event }) => reqOf(event)?.kind === 'powerDelivery' && reqOf(event)?.chargeProgress === 'start',
      powerDeliveryStop: ({ event }) => reqOf(event)?.kind === 'powerDelivery' && reqOf(event)?.chargeProgress !== 'start',
      carAborted: ({ event }) => reqOf(event)?.aborted === true,
      setupPossible: ({ event }) => {
        const r = reqOf(event);
        return r?.kind === 'sessionSetup' && port.canStart(r);
      },
      awaitingCanStart: ({ context }) => context.awaiting !== undefined && port.canStart(context.awaiting),
      /** Only ChargeParameterDiscovery carries the requested mode (other requests carry none). */
      modeUnsupported: ({ event }) => {
        const r = reqOf(event);
        return r?.kind === 'chargeParameterDiscovery' && !port.modeSupported(r);
      },
      accepted: ({ event }) => 'ok' in event && event.ok,
      cableCheckLongEnough: () => port.cableCheckLongEnough(),
      renegotiation: ({ context }) => context.held?.chargeProgress === 'renegotiate',
    },
    actions: {
      startSession: ({ event }) => {
        const r = reqOf(event);
        if (r) port.startSession(r);
      },
      startAwaitedSession: ({ context }) => {
        if (context.awaiting) port.startSession(context.awaiting);
      },
      refuseAwaited: ({ context }) => {
        if (context.awaiting) port.refuse(context.awaiting, UNSPECIFIED);
      },
      rememberAwaited: assign({ awaiting: ({ event }) => reqOf(event) }),
      forgetAwaited: assign({ awaiting: undefined }),
      hold: assign({ held: ({ event }) => reqOf(event) }),
      release: assign({ held: undefined }),
      respond: ({ event }) => {
        const r = reqOf(event);
        if (r) port.respond(r);
      },
      respondOngoing: ({ event }) => {
        const r = reqOf(event);
        if (r) port.respond(r, { processing: 'ongoing' });
      },
      respondCableCheck: ({ event }) => {
        const r = reqOf(event);
        if (r) port.respond(r, { processing: port.cableCheckLongEnough() ? 'finished' : 'ongoing' });
      },
      respondLoop: ({ event }) => {
        const r = reqOf(event);
        if (r) port.respond(r, port.takeNotification());
      },
      respondHeld: ({ context }) => {
        if (context.held) port.respond(context.held);
      },
      certificateRequested: ({ event }) => {
        const r = reqOf(event);
        if (r) port.certificateRequested(r);
      },
      respondHeldCertificate: ({ context, event }) => {
        if (context.held && event.type === 'CERTIFICATE') port.respond(context.held, { exiResponse: event.exiResponse });
      },
      paymentDetails: ({ event }) => {
        const r = reqOf(event);
        if (r) port.paymentDetails(r);
      },
      refuseSetup: ({ event }) => {
        const r = reqOf(event);
        if (r) port.refuse(r, UNSPECIFIED);
      },
      refuseNoSession: ({ event }) => {
        const r = reqOf(event);
        if (r) port.refuseNoSession(r);
      },
      paymentSelected: ({ event }) => {
        const r = reqOf(event);
        if (r) port.paymentSelected(r);
      },
      authorizationRequested: () => port.authorizationRequested(),
      schedulesRequested: ({ event }) => {
        const r = reqOf(event);
        if (r) port.schedulesRequested(r);
      },
      cableCheckRequested: () => port.cableCheckRequested(),
      dcParameters: ({ event }) => {
        const r = reqOf(event);
        if (r) port.dcParameters(r, false);
      },
      dcTargets: ({ event }) => {
        const r = reqOf(event);
        if (r) port.dcParameters(r, true);
      },
      preCharge: ({ event }) => {
        const r = reqOf(event);
        if (r) port.preCharge(r);
      },
      welding: ({ event }) => {
        const r = reqOf(event);
        if (r) port.welding(r);
      },
      startChargingRequested: ({ context }) => {
        if (context.held) port.startChargingRequested(context.held);
      },
      stopChargingRequested: ({ context }) => {
        if (context.held) port.stopChargingRequested(context.held);
      },
      stopAfterResponse: () => port.stopAfterResponse(),
      /** A missed deadline or a refusal by the host. */
      abortUnspecified: ({ context }) => port.abort(UNSPECIFIED, context.held),
      abortParameterTimeout: ({ context }) => port.abort(PARAMETER_TIMEOUT, context.held),
      abortWrongMode: ({ event }) => port.abort(WRONG_MODE, reqOf(event)),
      abortScripted: ({ event }) => {
        if (event.type === 'ABORT') port.abort(event.failure, event.req);
      },
      /** The car closed the connection or the link dropped: nobody to answer. */
      abortQuietly: () => port.abort(UNSPECIFIED, undefined),
      closeConnection: () => port.closeConnection(),
    },
  }).createMachine({
    id: 'secc',
    context: { awaiting: undefined, held: undefined },
    initial: 'closed',
    states: {
      closed: {
        entry: 'release',
        initial: 'idle',
        on: {
          LISTEN: [{ guard: 'awaitingCanStart', target: 'listening.connecting' }, { target: 'listening' }],
          REQ: [{ guard: 'sessionSetup', target: '.holding', reenter: true, actions: 'rememberAwaited' }, { guard: 'carAborted' }, { actions: 'refuseNoSession' }],
          LINK_LOST: { target: '.idle', actions: 'forgetAwaited' },
        },
        states: {
          idle: {},
          /** The car keeps repeating SDP until the host listens, or gives up. */
          holding: { after: { sdpWindow: { target: 'idle', actions: ['refuseAwaited', 'forgetAwaited'] } } },
        },
      },
      listening: {
        entry: 'release',
        initial: 'waiting',
        on: {
          STOP_LISTEN: { target: 'closed', actions: 'forgetAwaited' },
          REQ: [
            { guard: 'setupPossible', target: 'session', actions: ['forgetAwaited', 'startSession'] },
            { guard: 'sessionSetup', actions: 'refuseSetup' },
            { guard: 'carAborted' },
            { actions: 'refuseNoSession' },
          ],
        },
        states: {
          waiting: {},
          connecting: {
            on: { LINK_LOST: { target: 'waiting', actions: 'forgetAwaited' } },
            after: {
              sdpConnect: [
                { guard: 'awaitingCanStart', target: '#secc.session', actions: ['startAwaitedSession', 'forgetAwaited'] },
                { target: 'waiting', actions: ['refuseAwaited', 'forgetAwaited'] },
              ],
            },
          },
        },
      },
      session: {
        initial: 'discovery',
        on: {
          STOP_LISTEN: { target: 'closed', actions: 'abortUnspecified' },
          LINK_LOST: { target: 'listening', actions: 'abortQuietly' },
          ABORT: { target: 'listening', actions: 'abortScripted' },
          // The car went quiet mid-session (e.g. it never sends CableCheckReq, Sevenstax/FreeV2G#340):
          // the station ends the session and closes the connection rather than wait for ever.
          SEQUENCE_TIMEOUT: { target: 'listening', actions: ['abortQuietly', 'closeConnection'] },
          REQ: [
            { guard: 'carAborted', target: 'listening', actions: 'abortQuietly' },
            { guard: 'sessionSetup', actions: 'refuseSetup' },
            { guard: 'serviceDiscovery', actions: 'respond' },
            { guard: 'paymentSelection', actions: ['paymentSelected', 'respond'] },
            { guard: 'preCharge', actions: ['preCharge', 'dcTargets', 'respond'] },
            { guard: 'currentDemand', actions: ['dcTargets', 'respondLoop'] },
            { guard: 'chargingStatus', actions: 'respondLoop' },
            { guard: 'weldingDetection', actions: ['welding', 'dcParameters', 'respond'] },
            { guard: 'sessionStop', target: 'listening', actions: ['respond', 'stopAfterResponse'] },
            { guard: 'chargeParameterDiscovery', actions: 'respond' },
            { guard: 'authorization', actions: 'respond' },
          ],
        },
        states: {
          discovery: {
            on: {
              REQ: [
                { guard: 'authorization', target: 'authorizing', actions: ['authorizationRequested', 'respondOngoing'] },
                { guard: 'certificateRequest', target: 'certificate', actions: ['hold', 'certificateRequested'] },
                { guard: 'paymentDetails', actions: ['paymentDetails', 'respond'] },
              ],
            },
          },
          /** Plug & Charge: the host answers the car's certificate request in time, or the session ends. */
          certificate: {
            on: {
              CERTIFICATE: [
                { guard: 'accepted', target: 'discovery', actions: ['respondHeldCertificate', 'release'] },
                { target: '#secc.listening', actions: 'abortUnspecified' },
              ],
            },
            after: { certificateTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          authorizing: {
            on: {
              REQ: { guard: 'authorization', actions: 'respondOngoing' },
              AUTHORIZATION: [
                { guard: 'accepted', target: 'authorized' },
                { target: '#secc.listening', actions: 'abortUnspecified' },
              ],
            },
            after: { authorizationTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          authorized: {
            on: {
              REQ: [
                { guard: 'modeUnsupported', target: '#secc.listening', actions: 'abortWrongMode' },
                { guard: 'chargeParameterDiscovery', target: 'schedulesRequested', actions: ['schedulesRequested', 'respondOngoing'] },
              ],
            },
          },
          schedulesRequested: {
            on: {
              REQ: { guard: 'chargeParameterDiscovery', actions: 'respondOngoing' },
              SCHEDULES: [
                { guard: 'accepted', target: 'schedulesSet' },
                { target: '#secc.listening', actions: 'abortUnspecified' },
              ],
            },
            after: { schedulesTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          schedulesSet: {
            on: { REQ: { guard: 'chargeParameterDiscovery', target: 'parametersKnown', actions: 'respond' } },
          },
          parametersKnown: {
            on: {
              REQ: [
                { guard: 'cableCheck', target: 'cableChecking', actions: ['cableCheckRequested', 'dcParameters', 'respondOngoing'] },
                { guard: 'powerDeliveryStart', target: 'startRequested', actions: 'hold' },
              ],
            },
          },
          cableChecking: {
            on: {
              REQ: { guard: 'cableCheck', actions: ['dcParameters', 'respondOngoing'] },
              CABLE_CHECK: [
                { guard: 'accepted', target: 'cableChecked' },
                { target: '#secc.listening', actions: 'abortUnspecified' },
              ],
            },
            after: { cableCheckTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          cableChecked: {
            on: {
              REQ: [
                { guard: 'cableCheck', actions: ['dcParameters', 'respondCableCheck'] },
                { guard: 'powerDeliveryStart', target: 'startRequested', actions: 'hold' },
              ],
            },
          },
          startRequested: {
            entry: 'startChargingRequested',
            on: { START_CHARGING: { target: 'charging', actions: ['respondHeld', 'release'] } },
            after: { startChargingTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          /** The charge loop: the host must update its parameters within the deadline. */
          charging: {
            on: {
              PARAMETERS: { target: 'charging', reenter: true },
              REQ: { guard: 'powerDeliveryStop', target: 'stopRequested', actions: 'hold' },
            },
            after: { chargeParameterTimeout: { target: '#secc.listening', actions: 'abortParameterTimeout' } },
          },
          stopRequested: {
            entry: 'stopChargingRequested',
            on: {
              STOP_CHARGING: [
                { guard: 'renegotiation', target: 'authorized', actions: ['respondHeld', 'release'] },
                { target: 'stopped', actions: ['respondHeld', 'release'] },
              ],
            },
            after: { stopChargingTimeout: { target: '#secc.listening', actions: 'abortUnspecified' } },
          },
          stopped: {},
        },
      },
    },
  });
}
