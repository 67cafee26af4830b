/**
 * The simulated station's V2G side (SECC) as an XState machine: closed (not listening) ->
 * listening -> a session whose states are the steps at which the station waits for its host
 * (authorization, schedules, cable check, start and stop charging) and the charge loop. The
 * deadlines the EVSE status messages announce are named delays; missing one aborts the session
 * the manual's way (18.12.14). Requests that need no host answer are answered in any session
 * state. The V2G EVSE service (v2g-evse.ts) implements the port.
 */
import { assign, setup } from 'xstate';
import type { SessionFailure, V2gKind, V2gRequest } from '../v2g-messages.js';
import type { SeccEvent, SeccInput, SeccPort } from './secc-port.js';

export type { SeccEvent, SeccInput, SeccPort, SeccTimeouts } from './secc-port.js';

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
/** An action on the car's request of a REQ event (other events carry none: nothing to do). */
const withReq =
  (act: (port: SeccPort, req: V2gRequest) => void) =>
  ({ context, event }: { context: SeccContext; event: SeccEvent }): void => {
    const r = reqOf(event);
    if (r) act(context.port, r);
  };

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
    startSession: withReq((port, r) => port.startSession(r)),
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
    respond: withReq((port, r) => port.respond(r)),
    respondOngoing: withReq((port, r) => port.respond(r, { processing: 'ongoing' })),
    respondCableCheck: withReq((port, r) => port.respond(r, { processing: port.cableCheckLongEnough() ? 'finished' : 'ongoing' })),
    respondLoop: withReq((port, r) => port.respond(r, port.takeNotification())),
    respondHeld: ({ context }) => {
      if (context.held) context.port.respond(context.held);
    },
    certificateRequested: withReq((port, r) => port.certificateRequested(r)),
    respondHeldCertificate: ({ context, event }) => {
      if (context.held && event.type === 'CERTIFICATE') context.port.respond(context.held, { exiResponse: event.exiResponse });
    },
    paymentDetails: withReq((port, r) => port.paymentDetails(r)),
    refuseSetup: withReq((port, r) => port.refuse(r, UNSPECIFIED)),
    refuseNoSession: withReq((port, r) => port.refuseNoSession(r)),
    paymentSelected: withReq((port, r) => port.paymentSelected(r)),
    authorizationRequested: ({ context }) => context.port.authorizationRequested(),
    schedulesRequested: withReq((port, r) => port.schedulesRequested(r)),
    cableCheckRequested: ({ context }) => context.port.cableCheckRequested(),
    dcParameters: withReq((port, r) => port.dcParameters(r, false)),
    dcTargets: withReq((port, r) => port.dcParameters(r, true)),
    preCharge: withReq((port, r) => port.preCharge(r)),
    welding: withReq((port, r) => port.welding(r)),
    startChargingRequested: ({ context }) => {
      if (context.held) context.port.startChargingRequested(context.held);
    },
    stopChargingRequested: ({ context }) => {
      if (context.held) context.port.stopChargingRequested(context.held);
    },
    stopAfterResponse: withReq((port, r) => port.stopAfterResponse(r)),
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
        UNPLUGGED: { target: '.idle', actions: 'forgetAwaited' },
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
          on: { LINK_LOST: { target: 'waiting', actions: 'forgetAwaited' }, UNPLUGGED: { target: 'waiting', actions: 'forgetAwaited' } },
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
        // Unplugged: the module sees the CP leave B/C (Sevenstax/FreeV2G#17's debug log "Change
        // State from B to A"), and the session ends at once.
        UNPLUGGED: { target: 'listening', actions: 'abortQuietly' },
        // The PLC link lost (the car gone from the network, CP still connected) does not end the
        // session: the station sees no request and no closed connection, only silence, and its
        // V2G timers end the session later (SEQUENCE_TIMEOUT below, or a host deadline that runs
        // out first): Session Error and Session Stopped to the host then, not at the loss. Field:
        // Sevenstax/FreeV2G#290 (the maintainer: with the PLC signal gone "it will run into a V2G
        // related timeout"; with crosstalk keeping the signal, the session goes on); the issue
        // gives no delay, so it is ISO 15118-2's V2G_SECC_Sequence_Timeout (60 s) after the last
        // response. Every firmware: no profile says otherwise (docs/reliability.md, sixth round).
        LINK_LOST: {},
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
