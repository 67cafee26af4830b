/**
 * The simulated car's V2G session (EVCC) as an XState machine: the ISO 15118-2 / DIN 70121
 * message sequence, driven by the EV host's commands (18.9.10-18.9.15) and the station's
 * responses. It speaks through a port (send a request, tell the host) so the statechart stays
 * free of HCI bytes; the V2G EV service (v2g-ev.ts) implements the port.
 */
import { assign, setup } from 'xstate';
import type { SessionPhase } from '../phases.js';
import type { SessionFailure, V2gKind, V2gRequest, V2gResponse } from '../v2g-messages.js';
import { type ChargeLoop, RESPONSE_TIMEOUT_MS } from './evcc-loop.js';

/** What the EVCC machine needs from the module around it. */
export interface EvccPort {
  send(kind: V2gKind, extra?: Partial<V2gRequest>): void;
  phase(p: SessionPhase): void;
  /** Status messages to the EV host (18.11). */
  sessionStarted(res: V2gResponse): void;
  chargeParametersDiscovered(res: V2gResponse): void;
  cableCheckReady(): void;
  cableCheckFinished(): void;
  preChargingReady(): void;
  chargingReady(): void;
  chargingStarted(): void;
  chargingStopped(): void;
  postChargingReady(): void;
  dcParameters(res: V2gResponse): void;
  loopResponse(res: V2gResponse): void;
  /** `paused`: the session ended with SessionStopReq ChargingSession=Pause (resumable). */
  sessionStopped(paused: boolean): void;
  sessionError(code: number): void;
  /** Pre-charge: is the EVSE's present voltage close enough to the target? */
  preChargeDone(res: V2gResponse, elapsedMs: number): boolean;
  isDc(): boolean;
  now(): number;
  /** Plug & Charge: the car pays by contract (the station offers it and the car has one). */
  contractPayment(): boolean;
  /** Plug & Charge: the certificate request the car sends before its contract, if any. */
  certificateRequest(): V2gKind | undefined;
}

export type EvccEvent =
  | { type: 'START' }
  | { type: 'RES'; res: V2gResponse }
  | { type: 'HOST_CABLE_CHECK' }
  | { type: 'HOST_PRE_CHARGE' }
  | { type: 'HOST_START_CHARGING' }
  | { type: 'HOST_STOP_CHARGING'; renegotiation: boolean }
  | { type: 'HOST_STOP_SESSION' }
  /** The car pauses (scenario ev.pause): PowerDelivery stop, then SessionStop with Pause. */
  | { type: 'PAUSE' }
  /** The charge loop's request got no response in time (evcc-loop.ts). */
  | { type: 'LOOP_TIMEOUT' }
  | { type: 'LINK_LOST' };

/** What an EVCC actor is started with: the module's side of the machine and the car's timing. */
export interface EvccInput {
  port: EvccPort;
  /** The charge loop's requests and ordinary responses (evcc-loop.ts), run in `chargeLoop`. */
  loop: ChargeLoop;
  loopIntervalMs: number;
  preChargeTimeoutMs: number;
}

interface EvccContext extends EvccInput {
  renegotiating: boolean;
  stopRequested: boolean;
  renegotiationRequested: boolean;
  chargingReadySent: boolean;
  /** The stop under way is a pause: no welding detection, SessionStopReq ChargingSession=Pause. */
  pausing: boolean;
  phaseStartedAt: number;
  lastSentAt: number;
  failure: SessionFailure | undefined;
}

/** 18.11.14 code 8: unspecified (no details delivered by the EVSE). */
const EV_UNSPECIFIED = 8;
/** 18.11.14 code 7: EVSE present voltage too low (pre-charge never reached the target). */
const EV_PRESENT_VOLTAGE_TOO_LOW = 7;

const res = (e: EvccEvent): V2gResponse | undefined => (e.type === 'RES' ? e.res : undefined);
/** An action on the station's response of a RES event (other events carry none: nothing to do). */
const withRes =
  (act: (port: EvccPort, res: V2gResponse) => void) =>
  ({ context, event }: { context: EvccContext; event: EvccEvent }): void => {
    const r = res(event);
    if (r) act(context.port, r);
  };

/**
 * One definition per process, the port passed as input: XState's per-state-node caches stay warm
 * across modules and sessions (docs/performance.md, issue 12 target 4).
 */
export const evccMachine = setup({
  types: { context: {} as EvccContext, events: {} as EvccEvent, input: {} as EvccInput },
  delays: {
    responseTimeout: RESPONSE_TIMEOUT_MS,
    /** Repeated requests go out every context.loopIntervalMs (start to start). */
    loop: ({ context }) => Math.max(0, context.loopIntervalMs - (context.port.now() - context.lastSentAt)),
  },
  guards: {
    failed: ({ event }) => res(event)?.ok === false,
    ongoing: ({ event }) => res(event)?.processing === 'ongoing',
    isDc: ({ context }) => context.port.isDc(),
    contractPayment: ({ context }) => context.port.contractPayment(),
    certificateRequest: ({ context }) => context.port.certificateRequest() !== undefined,
    renegotiating: ({ context }) => context.renegotiating,
    stopRequested: ({ context }) => context.stopRequested,
    renegotiationRequested: ({ context }) => context.renegotiationRequested,
    chargingReadySent: ({ context }) => context.chargingReadySent,
    pausing: ({ context }) => context.pausing,
    loopWaiting: ({ context }) => context.loop.waiting(),
    preChargeJustDone: ({ context, event }) => {
      const r = res(event);
      return !context.chargingReadySent && r !== undefined && context.port.preChargeDone(r, context.port.now() - context.phaseStartedAt);
    },
    preChargeTimedOut: ({ context }) => !context.chargingReadySent && context.port.now() - context.phaseStartedAt > context.preChargeTimeoutMs,
  },
  actions: {
    markSent: assign({ lastSentAt: ({ context }) => context.port.now() }),
    startPhaseClock: assign({ phaseStartedAt: ({ context }) => context.port.now() }),
    sendSessionSetup: ({ context }) => context.port.send('sessionSetup'),
    sendServiceDiscovery: ({ context }) => context.port.send('serviceDiscovery'),
    sendPaymentSelection: ({ context }) => context.port.send('paymentSelection'),
    sendAuthorization: ({ context }) => context.port.send('authorization'),
    sendCertificateRequest: ({ context }) => context.port.send(context.port.certificateRequest() ?? 'certificateInstallation'),
    sendPaymentDetails: ({ context }) => context.port.send('paymentDetails'),
    sendChargeParameterDiscovery: ({ context }) => context.port.send('chargeParameterDiscovery'),
    sendCableCheck: ({ context }) => context.port.send('cableCheck'),
    sendPreCharge: ({ context }) => context.port.send('preCharge'),
    sendPowerDeliveryStart: ({ context }) => context.port.send('powerDelivery', { chargeProgress: 'start' }),
    sendPowerDeliveryStop: ({ context }) => context.port.send('powerDelivery', { chargeProgress: context.renegotiationRequested ? 'renegotiate' : 'stop' }),
    startLoop: ({ context }) => context.loop.start(),
    stopLoop: ({ context }) => context.loop.stop(),
    sendWeldingDetection: ({ context }) => context.port.send('weldingDetection'),
    sendSessionStop: ({ context }) => context.port.send('sessionStop', { chargingSession: context.pausing ? 'pause' : 'terminate' }),
    phaseSessionSetup: ({ context }) => context.port.phase('sessionSetup'),
    phaseServiceDiscovery: ({ context }) => context.port.phase('serviceDiscovery'),
    phasePaymentSelection: ({ context }) => context.port.phase('paymentSelection'),
    phaseAuthorization: ({ context }) => context.port.phase('authorization'),
    phaseChargeParameterDiscovery: ({ context }) => context.port.phase('chargeParameterDiscovery'),
    phaseCableCheck: ({ context }) => context.port.phase('cableCheck'),
    phasePreCharge: ({ context }) => context.port.phase('preCharge'),
    phasePowerDelivery: ({ context }) => context.port.phase('powerDelivery'),
    phaseChargeLoop: ({ context }) => context.port.phase('chargeLoop'),
    phasePowerDeliveryStop: ({ context }) => context.port.phase('powerDeliveryStop'),
    phaseWeldingDetection: ({ context }) => context.port.phase('weldingDetection'),
    phaseSessionStop: ({ context }) => context.port.phase('sessionStop'),
    phaseIdle: ({ context }) => context.port.phase('idle'),
    reportSessionStarted: withRes((port, r) => port.sessionStarted(r)),
    reportChargeParameters: withRes((port, r) => port.chargeParametersDiscovered(r)),
    reportDcParameters: withRes((port, r) => port.dcParameters(r)),
    reportLoopResponse: withRes((port, r) => port.loopResponse(r)),
    reportCableCheckReady: ({ context }) => context.port.cableCheckReady(),
    reportCableCheckFinished: ({ context }) => context.port.cableCheckFinished(),
    reportPreChargingReady: ({ context }) => context.port.preChargingReady(),
    reportChargingReady: ({ context }) => context.port.chargingReady(),
    markChargingReady: assign({ chargingReadySent: true }),
    reportChargingStarted: ({ context }) => context.port.chargingStarted(),
    reportChargingStopped: ({ context }) => context.port.chargingStopped(),
    reportPostChargingReady: ({ context }) => context.port.postChargingReady(),
    reportSessionStopped: ({ context }) => context.port.sessionStopped(context.pausing),
    rememberFailure: assign({ failure: ({ event }) => res(event)?.failure }),
    preChargeFailure: assign({ failure: { evSessionError: EV_PRESENT_VOLTAGE_TOO_LOW, evseSessionError: 0 } }),
    reportSessionError: ({ context }) => context.port.sessionError(context.failure?.evSessionError ?? EV_UNSPECIFIED),
    requestStop: assign({
      stopRequested: true,
      renegotiationRequested: ({ event }) => event.type === 'HOST_STOP_CHARGING' && event.renegotiation,
    }),
    requestPause: assign({ stopRequested: true, renegotiationRequested: false, pausing: true }),
    beginRenegotiation: assign({ renegotiating: true, stopRequested: false, chargingReadySent: false }),
    resetSession: assign({
      renegotiating: false,
      stopRequested: false,
      renegotiationRequested: false,
      chargingReadySent: false,
      pausing: false,
      failure: undefined,
    }),
  },
}).createMachine({
  id: 'evcc',
  context: ({ input }) => ({
    ...input,
    renegotiating: false,
    stopRequested: false,
    renegotiationRequested: false,
    chargingReadySent: false,
    pausing: false,
    phaseStartedAt: 0,
    lastSentAt: 0,
    failure: undefined,
  }),
  initial: 'idle',
  on: { LINK_LOST: '.failed' },
  states: {
    idle: {
      entry: ['phaseIdle', 'resetSession'],
      on: { START: 'sessionSetup', LINK_LOST: {} },
    },
    sessionSetup: {
      entry: ['phaseSessionSetup', 'markSent', 'sendSessionSetup'],
      on: {
        RES: [{ guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' }, { target: '#evcc.serviceDiscovery' }],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    serviceDiscovery: {
      entry: ['phaseServiceDiscovery', 'markSent', 'sendServiceDiscovery'],
      on: {
        RES: [{ guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' }, { target: '#evcc.paymentSelection' }],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    paymentSelection: {
      entry: ['phasePaymentSelection', 'markSent', 'sendPaymentSelection'],
      on: {
        RES: [
          { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
          { guard: 'contractPayment', target: '#evcc.contract', actions: ['reportSessionStarted'] },
          { target: '#evcc.authorization', actions: ['reportSessionStarted'] },
        ],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    /** Plug & Charge: certificate installation/update if the car needs one, then its contract. */
    contract: {
      initial: 'choosing',
      states: {
        choosing: { always: [{ guard: 'certificateRequest', target: 'certificate' }, { target: 'details' }] },
        certificate: {
          entry: ['markSent', 'sendCertificateRequest'],
          on: { RES: [{ guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' }, { target: 'details' }] },
          after: { responseTimeout: '#evcc.failed' },
        },
        details: {
          entry: ['markSent', 'sendPaymentDetails'],
          on: { RES: [{ guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' }, { target: '#evcc.authorization' }] },
          after: { responseTimeout: '#evcc.failed' },
        },
      },
    },
    authorization: {
      entry: ['phaseAuthorization'],
      initial: 'sending',
      states: {
        sending: {
          entry: ['markSent', 'sendAuthorization'],
          on: {
            RES: [{ guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' }, { guard: 'ongoing', target: 'waiting' }, { target: '#evcc.chargeParameterDiscovery' }],
          },
          after: { responseTimeout: '#evcc.failed' },
        },
        waiting: { after: { loop: 'sending' } },
      },
    },
    chargeParameterDiscovery: {
      entry: ['phaseChargeParameterDiscovery'],
      initial: 'sending',
      states: {
        sending: {
          entry: ['markSent', 'sendChargeParameterDiscovery'],
          on: {
            RES: [
              { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
              { guard: 'ongoing', target: 'waiting' },
              { guard: 'renegotiating', target: '#evcc.chargingReady', actions: ['reportChargeParameters', 'reportChargingReady'] },
              { guard: 'isDc', target: '#evcc.cableCheckReady', actions: ['reportChargeParameters', 'reportCableCheckReady'] },
              { target: '#evcc.chargingReady', actions: ['reportChargeParameters', 'reportChargingReady'] },
            ],
          },
          after: { responseTimeout: '#evcc.failed' },
        },
        waiting: { after: { loop: 'sending' } },
      },
    },
    cableCheckReady: { on: { HOST_CABLE_CHECK: 'cableCheck', HOST_STOP_SESSION: 'sessionStop' } },
    cableCheck: {
      entry: ['phaseCableCheck'],
      initial: 'sending',
      states: {
        sending: {
          entry: ['markSent', 'sendCableCheck'],
          on: {
            RES: [
              { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
              { guard: 'ongoing', target: 'waiting', actions: ['reportDcParameters'] },
              { target: '#evcc.preChargeReady', actions: ['reportDcParameters', 'reportCableCheckFinished', 'reportPreChargingReady'] },
            ],
          },
          after: { responseTimeout: '#evcc.failed' },
        },
        waiting: { after: { loop: 'sending' } },
      },
    },
    preChargeReady: { on: { HOST_PRE_CHARGE: 'preCharge', HOST_STOP_SESSION: 'sessionStop' } },
    preCharge: {
      entry: ['phasePreCharge', 'startPhaseClock'],
      initial: 'sending',
      on: {
        HOST_START_CHARGING: { guard: 'chargingReadySent', target: 'powerDelivery' },
        HOST_STOP_SESSION: 'sessionStop',
      },
      states: {
        sending: {
          entry: ['markSent', 'sendPreCharge'],
          on: {
            RES: [
              { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
              { guard: 'preChargeJustDone', target: 'waiting', actions: ['reportDcParameters', 'markChargingReady', 'reportChargingReady'] },
              { guard: 'preChargeTimedOut', target: '#evcc.failed', actions: ['reportDcParameters', 'preChargeFailure'] },
              { target: 'waiting', actions: 'reportDcParameters' },
            ],
          },
          after: { responseTimeout: '#evcc.failed' },
        },
        waiting: { after: { loop: 'sending' } },
      },
    },
    chargingReady: { on: { HOST_START_CHARGING: 'powerDelivery', HOST_STOP_SESSION: 'sessionStop' } },
    powerDelivery: {
      entry: ['phasePowerDelivery', 'markSent', 'sendPowerDeliveryStart'],
      on: {
        RES: [
          { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
          { target: '#evcc.chargeLoop', actions: ['reportChargingStarted'] },
        ],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    // The requests and the ordinary responses are the loop's (evcc-loop.ts); the decisions here.
    chargeLoop: {
      entry: ['phaseChargeLoop', 'startPhaseClock', 'startLoop'],
      exit: 'stopLoop',
      on: {
        // Between requests a stop goes out at once; during one, with its response.
        HOST_STOP_CHARGING: [{ guard: 'loopWaiting', target: 'powerDeliveryStop', actions: 'requestStop' }, { actions: 'requestStop' }],
        PAUSE: [{ guard: 'loopWaiting', target: 'powerDeliveryStop', actions: 'requestPause' }, { actions: 'requestPause' }],
        // The responses the loop leaves to the machine: a failure, or one after a stop request.
        RES: [
          { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
          { guard: 'stopRequested', target: '#evcc.powerDeliveryStop', actions: 'reportLoopResponse' },
        ],
        LOOP_TIMEOUT: '#evcc.failed',
      },
    },
    powerDeliveryStop: {
      entry: ['phasePowerDeliveryStop', 'markSent', 'sendPowerDeliveryStop'],
      on: {
        RES: [
          { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
          { guard: 'renegotiationRequested', target: '#evcc.chargeParameterDiscovery', actions: ['reportChargingStopped', 'beginRenegotiation'] },
          // A pause goes straight to SessionStop (welding detection is the EV's choice, ISO 15118-2).
          { guard: 'pausing', target: '#evcc.sessionStop', actions: ['reportChargingStopped'] },
          { guard: 'isDc', target: '#evcc.weldingDetection', actions: ['reportChargingStopped', 'reportPostChargingReady'] },
          { target: '#evcc.sessionStop', actions: ['reportChargingStopped'] },
        ],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    weldingDetection: {
      entry: ['phaseWeldingDetection'],
      initial: 'sending',
      on: { HOST_STOP_SESSION: '#evcc.sessionStop' },
      states: {
        sending: {
          entry: ['markSent', 'sendWeldingDetection'],
          on: {
            RES: [
              { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
              { target: 'waiting', actions: 'reportDcParameters' },
            ],
          },
          after: { responseTimeout: '#evcc.failed' },
        },
        waiting: { after: { loop: 'sending' } },
      },
    },
    sessionStop: {
      entry: ['phaseSessionStop', 'markSent', 'sendSessionStop'],
      on: {
        RES: [
          { guard: 'failed', target: '#evcc.failed', actions: 'rememberFailure' },
          { target: '#evcc.idle', actions: ['reportSessionStopped'] },
        ],
      },
      after: { responseTimeout: '#evcc.failed' },
    },
    failed: {
      entry: [assign({ pausing: false }), 'reportSessionError', 'reportSessionStopped'],
      always: 'idle',
    },
  },
});
