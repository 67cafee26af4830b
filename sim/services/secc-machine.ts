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
  | { type: 'LINK_LOST' }
  /** V2G_SECC_Sequence_Timeout: no request from the car since the last response (v2g-evse.ts). */
  | { type: 'SEQUENCE_TIMEOUT' };

interface SeccContext extends SeccInput {
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

const reqOf = (e: SeccEvent): V2gRequest | undefined => (e.type === 'REQ' ? e.req : undefined);
const is =
  (kind: V2gKind) =>
  ({ event }: { event: SeccEvent }) =>
    reqOf(event)?.kind === kind;

/** What a SECC actor is started with: the module's side of the machine and its deadlines. */
export interface SeccInput {
  port: SeccPort;
  timeouts: SeccTimeouts;
}

/**
 * One definition per process, the port passed as input: XState's per-state-node caches stay warm
 * across modules and sessions (docs/performance.md, issue 12 target 4).
 */
export const seccMachine = setup({
  types: { context: {} as SeccContext, events: {} as SeccEvent, input: {} as SeccInput },
  delays: {
    sdpWindow: SDP_WINDOW_MS,
    sdpConnect: SDP_CONNECT_MS,
    authorizationTimeout: ({ context }) => context.timeouts.authorizationMs,
    schedulesTimeout: ({ context }) => context.timeouts.schedulesMs,
    cableCheckTimeout: ({ context }) => context.timeouts.cableCheckMs,
    startChargingTimeout: ({ context }) => context.timeouts.startChargingMs,
    stopChargingTimeout: ({ context }) => context.timeouts.stopChargingMs,
    certificateTimeout: ({ context }) => context.timeouts.certificateMs,
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
    setupPossible: ({ context, event }) => {
      const r = reqOf(event);
      return r?.kind === 'sessionSetup' && context.port.canStart(r);
    },
    awaitingCanStart: ({ context }) => context.awaiting !== undefined && context.port.canStart(context.awaiting),
    /** Only ChargeParameterDiscovery carries the requested mode (other requests carry none). */
    modeUnsupported: ({ context, event }) => {
      const r = reqOf(event);
      return r?.kind === 'chargeParameterDiscovery' && !context.port.modeSupported(r);
    },
    accepted: ({ event }) => 'ok' in event && event.ok,
    cableCheckLongEnough: ({ context }) => context.port.cableCheckLongEnough(),
    renegotiation: ({ context }) => context.held?.chargeProgress === 'renegotiate',
  },
  actions: {
    startSession: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.startSession(r);
    },
    startAwaitedSession: ({ context }) => {
      if (context.awaiting) context.port.startSession(context.awaiting);
    },
    refuseAwaited: ({ context }) => {
      if (context.awaiting) context.port.refuse(context.awaiting, UNSPECIFIED);
    },
    rememberAwaited: assign({ awaiting: ({ event }) => reqOf(event) }),
    forgetAwaited: assign({ awaiting: undefined }),
    hold: assign({ held: ({ event }) => reqOf(event) }),
    release: assign({ held: undefined }),
    respond: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.respond(r);
    },
    respondOngoing: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.respond(r, { processing: 'ongoing' });
    },
    respondCableCheck: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.respond(r, { processing: context.port.cableCheckLongEnough() ? 'finished' : 'ongoing' });
    },
    respondLoop: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.respond(r, context.port.takeNotification());
    },
    respondHeld: ({ context }) => {
      if (context.held) context.port.respond(context.held);
    },
    certificateRequested: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.certificateRequested(r);
    },
    respondHeldCertificate: ({ context, event }) => {
      if (context.held && event.type === 'CERTIFICATE') context.port.respond(context.held, { exiResponse: event.exiResponse });
    },
    paymentDetails: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.paymentDetails(r);
    },
    refuseSetup: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.refuse(r, UNSPECIFIED);
    },
    refuseNoSession: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.refuseNoSession(r);
    },
    paymentSelected: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.paymentSelected(r);
    },
    authorizationRequested: ({ context }) => context.port.authorizationRequested(),
    schedulesRequested: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.schedulesRequested(r);
    },
    cableCheckRequested: ({ context }) => context.port.cableCheckRequested(),
    dcParameters: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.dcParameters(r, false);
    },
    dcTargets: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.dcParameters(r, true);
    },
    preCharge: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.preCharge(r);
    },
    welding: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.welding(r);
    },
    startChargingRequested: ({ context }) => {
      if (context.held) context.port.startChargingRequested(context.held);
    },
    stopChargingRequested: ({ context }) => {
      if (context.held) context.port.stopChargingRequested(context.held);
    },
    stopAfterResponse: ({ context, event }) => {
      const r = reqOf(event);
      if (r) context.port.stopAfterResponse(r);
    },
    armParameterDeadline: ({ context }) => context.port.armParameterDeadline(),
    disarmParameterDeadline: ({ context }) => context.port.disarmParameterDeadline(),
    /** A missed deadline or a refusal by the host. */
    abortUnspecified: ({ context }) => context.port.abort(UNSPECIFIED, context.held),
    abortParameterTimeout: ({ context }) => context.port.abort(PARAMETER_TIMEOUT, context.held),
    abortWrongMode: ({ context, event }) => context.port.abort(WRONG_MODE, reqOf(event)),
    abortScripted: ({ context, event }) => {
      if (event.type === 'ABORT') context.port.abort(event.failure, event.req);
    },
    /** The car closed the connection or the link dropped: nobody to answer. */
    abortQuietly: ({ context }) => context.port.abort(UNSPECIFIED, undefined),
    closeConnection: ({ context }) => context.port.closeConnection(),
  },
}).createMachine({
  id: 'secc',
  context: ({ input }) => ({ port: input.port, timeouts: input.timeouts, awaiting: undefined, held: undefined }),
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
            PARAMETER_TIMEOUT: { target: '#secc.listening', actions: 'abortParameterTimeout' },
            REQ: { guard: 'powerDeliveryStop', target: 'stopRequested', actions: 'hold' },
          },
          entry: 'armParameterDeadline',
          exit: 'disarmParameterDeadline',
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
