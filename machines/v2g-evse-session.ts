/**
 * One V2G session, EVSE side (manual 18.10, 18.12, 21.8): configure and start listening, then
 * answer every status message 0x80-0x91 until the session stops or fails.
 *
 * Safety: `energyTransfer` (pre-charge and charging) is the only state in which the charger is
 * started. Leaving it for any reason (EV stop request, session error, unplug, shutdown, timeout)
 * stops the charger and sends EvseStopCharging; the other exits (session error, abort) send
 * EvseStopCharging too when it has not been sent yet.
 *
 * The module ends the session with error 23 when Update DC/AC Charging Parameters is not sent for
 * 500 ms after Set Schedules (18.10.4), so from then on an `updater` region sends it on a timer
 * (a child that sends them itself: v2g-evse/updates.ts).
 *
 * Events from the parent: session.abort {reason}. Output: SessionRecord.
 */
import { assign, enqueueActions, setup } from 'xstate';
import { V2g } from '../codec/catalog.js';
import { IsolationLevel } from '../codec/modules/v2g/common.js';
import { authorizationPolicyLogic } from './authorization-policy.js';
import { REREAD_AFTER_MS } from './state-reread.js';
import { authorizationProbePeriod } from './v2g-evse/authorization-probe.js';
import { certificateAnswerLogic } from './certificate-provider.js';
import { isolationWatch } from './cable-check.js';
import { type CommanderEvent, hciChildren, hciCommander, hciSequence, hciStatus } from './hci-actors.js';
import { HciError } from './hci-types.js';
import type { SessionRecord } from './station-events.js';
import { statusWatchdog } from './status-watchdog.js';
import { chargeActions } from './v2g-evse/charge-actions.js';
import {
  type EvseSessionContext,
  type EvseSessionInput,
  type Events,
  LISTEN_CONFIRM_MS,
  WRONG_STATE,
  certificateInput,
  chargerOf,
  emaidOf,
  evseSessionRecord,
  f,
  isDc,
  num,
  sendCharger,
} from './v2g-evse/common.js';
import { LOST_END_WATCHDOG_MS, PRE_CHARGE_LOST_END_MS, lostEndWatchdog } from './v2g-evse/lost-end.js';
import { dcParametersInPlace } from './v2g-evse/parameters.js';
import { probes, startChargingProbeInputOf } from './v2g-evse/probes.js';
import { START_LISTEN_STEP, presentationActions, schedulesProbeInputOf, sessionUnderWay, setupActions } from './v2g-evse/setup-actions.js';
import { S2_OPEN_END_MS, STATE_C_AFTER_POWER_DELIVERY_MS, s2Guards, s2OpenBound, stateCActions } from './v2g-evse/s2-open.js';
import { stopActions } from './v2g-evse/stop-actions.js';
import { unansweredUpdateActions, updatesUnansweredTooLong } from './v2g-evse/unanswered-updates.js';
import { newUpdateBook, updateTimer } from './v2g-evse/updates.js';

export { EVSE_STATION_SYSTEM_ID, LISTEN_CONFIRM_MS, type EvseSessionCommand, type EvseSessionContext, type EvseSessionInput, evseSessionRecord } from './v2g-evse/common.js';

export { LOST_END_WATCHDOG_MS, PRE_CHARGE_LOST_END_MS } from './v2g-evse/lost-end.js';

/** The sequence failed at Start Listen, unanswered or refused 0x11: the module may be listening (LISTEN_CONFIRM_MS). */
const startListenUncertain = ({ event }: { event: Events }): boolean =>
  event.type === 'hci.sequenceFailed' && event.error instanceof HciError && event.error.command === 'V2g.EvseStartListen' && (event.error.kind === 'timeout' || event.error.code === WRONG_STATE);

export const v2gEvseSessionMachine = setup({
  types: {
    input: {} as EvseSessionInput,
    context: {} as EvseSessionContext,
    events: {} as Events,
    output: {} as SessionRecord,
  },
  actors: { hciSequence, hciCommander, hciStatus, statusWatchdog, updateTimer, policy: authorizationPolicyLogic, certificate: certificateAnswerLogic, isolationWatch, ...probes },
  delays: {
    cableCheckTimeout: ({ context }) => context.cableCheckTimeoutMs,
    authorizationTimeout: ({ context }) => context.authorizationTimeoutMs,
    lostEndWatchdog: LOST_END_WATCHDOG_MS,
    preChargeLostEnd: PRE_CHARGE_LOST_END_MS,
    listenConfirm: LISTEN_CONFIRM_MS,
    s2OpenEnd: S2_OPEN_END_MS,
    stateCDeadline: STATE_C_AFTER_POWER_DELIVERY_MS,
  },
  actions: {
    ...presentationActions,
    ...setupActions,
    ...chargeActions,
    ...stopActions,
    ...unansweredUpdateActions,
    ...stateCActions,
    lostEnd: assign({ stopReason: ({ context }) => context.stopReason ?? 'sessionEndLost' }),
  },
  guards: {
    updatesUnansweredTooLong,
    ...s2Guards,
    dcMode: ({ context }) => isDc(context.energyTransferMode),
    /** The EV reports a DC_EVErrorCode while energy flows (first time only). */
    evFault: ({ context, event }) => !context.evFaultHandled && num(f(event).errorCode) > 0,
    /** A failure that means the module no longer carries this session (see moduleFailed). */
    moduleGone: ({ event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      if (e.tolerated) return false;
      if (e.moduleSilent === true) return true;
      return e.tag === 'update' && e.error instanceof HciError && e.error.code === WRONG_STATE;
    },
  },
}).createMachine({
  id: 'v2gEvseSession',
  context: ({ input }) => ({
    ...input,
    startedAt: input.clock.now(),
    cableCheckDone: false,
    cableCheckTimeoutMs: 0,
    stopChargingSent: false,
    energyFlowing: false,
    updates: newUpdateBook(),
    longestReactionMs: 0,
    evTargetVoltageV: 0,
    evTargetCurrentA: 0,
    authorizationTimeoutMs: 0,
    limits: {},
    renegotiations: 0,
  }),
  // The status child takes the charge loop's DC Charge Parameters Changed in place (v2g-evse/parameters.ts).
  invoke: hciChildren(['V2g'], (self) => (e) => e.type === 'V2g.EvseDcChargeParametersChanged' && dcParametersInPlace(self, e)),
  on: {
    'hci.reaction': { actions: 'noteSent' },
    'hci.failed': { actions: 'logCommandFailure' },
    'hci.takenUnanswered': { actions: 'logTakenUnanswered' },
  },
  initial: 'configuring',
  states: {
    configuring: {
      entry: { type: 'phase', params: { phase: 'v2gSetup' } },
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => {
          const c = context.config;
          return {
            client: context.client,
            steps: [
              { text: 'Set V2G mode to EVSE', def: V2g.SetMode, fields: { mode: 1 } },
              {
                def: V2g.EvseSetConfiguration,
                fields: {
                  evseIdDin: c.evseIdDin,
                  evseIdIso: c.evseId,
                  protocols: c.protocols,
                  paymentMethods: c.paymentMethods,
                  energyTransferModes: c.energyTransferModes,
                  certificateInstallationSupported: c.certificateInstallationSupport,
                  certificateUpdateSupported: c.certificateUpdateSupport,
                },
              },
              {
                def: V2g.EvseSetDcChargingParameters,
                fields: {
                  isolationLevel: IsolationLevel.invalid,
                  minVoltageV: c.charger.minVoltageV,
                  minCurrentA: c.charger.minCurrentA,
                  maxVoltageV: c.charger.maxVoltageV,
                  maxCurrentA: c.charger.maxCurrentA,
                  maxPowerW: c.charger.maxPowerW,
                  currentRegulationToleranceA: undefined,
                  peakCurrentRippleA: c.charger.peakCurrentRippleA,
                  status: 0,
                },
              },
              { def: V2g.EvseSetAcChargingParameters, fields: { rcdStatus: false, nominalVoltageV: c.charger.maxVoltageV, maxCurrentA: c.charger.maxCurrentA } },
              { text: START_LISTEN_STEP, def: V2g.EvseStartListen, fields: {} },
            ],
          };
        },
      },
      on: {
        'hci.step': { actions: ['logStep', 'forgetStale'] },
        'V2g.*': { actions: 'keepEarly' },
        'hci.sequenceDone': 'listening',
        'hci.sequenceFailed': [
          { guard: startListenUncertain, target: 'listening', actions: 'listenUnconfirmed' },
          { target: 'done', actions: 'failConfiguration' },
        ],
        'session.abort': { target: 'done', actions: 'aborted' },
      },
    },
    listening: {
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      entry: 'replayEarly',
      after: { listenConfirm: { guard: ({ context }) => context.listenUnconfirmed !== undefined, target: 'done', actions: ['listenNotConfirmed', 'evseStopListen'] } },
      on: {
        'V2g.EvseSessionStarted': { target: 'session', actions: ['listenConfirmed', 'sessionStarted'] },
        'V2g.*': { guard: ({ event }) => sessionUnderWay(event), target: 'session', actions: ['listenConfirmed', 'sessionStartLost'] },
        'session.abort': { target: 'done', actions: ['aborted', 'evseStopListen'] },
        'session.noModuleStatus': { target: 'done', actions: 'noModuleStatus' },
        'hci.failed': [{ guard: 'moduleGone', target: 'done', actions: 'moduleFailed' }, { actions: 'logCommandFailure' }],
      },
    },
    session: {
      type: 'parallel',
      entry: [{ type: 'phase', params: { phase: 'sessionStarted' } }, 'replayRest'],
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      on: {
        'session.noModuleStatus': { target: 'done', actions: ['noModuleStatus', 'ensureStopCharging'] },
        'V2g.EvsePaymentSelected': { actions: 'paymentSelected' },
        'V2g.EvseEnergyTransferModeSelected': { actions: 'energyTransferModeSelected' },
        'V2g.EvseDcChargeParametersChanged': { actions: ['dcParametersChanged', 'sendUpdate'] },
        'V2g.EvseAcChargeParametersChanged': { actions: ['acParametersChanged', 'sendUpdate'] },
        'V2g.EvseMeteringReceiptStatus': { actions: 'meteringReceiptStatus' },
        'V2g.EvseSessionStopped': { target: 'done', actions: 'sessionStopped' },
        'V2g.EvseSessionError': { target: 'done', actions: ['sessionError', 'ensureStopCharging'] },
        'session.abort': { target: 'done', actions: ['aborted', 'ensureStopCharging', 'evseStopListen'] },
        'session.setLimits': { actions: 'setLimits' },
        'hci.failed': [{ guard: 'moduleGone', target: 'done', actions: ['moduleFailed', 'ensureStopCharging'] }, { actions: 'logCommandFailure' }],
      },
      states: {
        /** Certificate installation/update (PnC): the provider answers within the module's timeout. */
        certificate: {
          initial: 'idle',
          on: {
            'V2g.EvseCertificateInstallationRequested': { target: '.answering', reenter: true, actions: 'certificateRequested' },
            'V2g.EvseCertificateUpdateRequested': { target: '.answering', reenter: true, actions: 'certificateRequested' },
          },
          states: {
            idle: {},
            answering: {
              invoke: {
                id: 'certificate',
                src: 'certificate',
                input: ({ context }) => certificateInput(context),
                onDone: { target: 'idle', actions: { type: 'answerCertificate', params: ({ event }) => event.output } },
              },
            },
          },
        },
        updater: {
          initial: 'idle',
          states: {
            idle: {
              invoke: { src: 'schedulesProbe', input: schedulesProbeInputOf }, // a lost Schedules Requested is offered its answer (fuzz seed 300003)
              on: { 'V2g.EvseSchedulesRequested': { target: 'running', actions: 'schedulesRequested' }, 'schedules.probeTaken': { target: 'running', actions: 'schedulesProbeTaken' } },
            },
            // The timer sends the updates itself, without a macrostep each (v2g-evse/updates.ts).
            running: {
              invoke: { src: 'updateTimer', input: ({ context, self }) => ({ session: self, clock: context.clock, intervalMs: context.config.updateIntervalMs }) },
              on: { 'V2g.EvseSchedulesRequested': { actions: 'schedulesRequested' } },
            },
          },
        },
        phase: {
          initial: 'started',
          on: {
            'V2g.EvseAuthorizationStatusRequested': { target: '.authorizing', actions: 'authorizationRequested' },
            'V2g.EvseCableCheckRequested': { target: '.cableCheck', actions: 'cableCheckRequested' },
            'V2g.EvsePreChargeStarted': { target: '.energyTransfer.preCharge' },
            'V2g.EvseStartChargingRequested': { target: '.energyTransfer.charging', actions: 'startChargingRequested' },
            'V2g.EvseStopChargingRequested': { target: '.postCharge', actions: 'stopChargingRequested' },
            'V2g.EvseWeldingDetectionStarted': { target: '.postCharge', actions: { type: 'log', params: { text: '"Welding Detection Started" received' } } },
          },
          states: {
            // Session set-up and service discovery: a PLC link lost here (fuzz campaign seed
            // 110572) left the session in `started` with nothing from the module for ever. A lost
            // Authorization Status Requested is offered its answer (fuzz seed 200201,
            // v2g-evse/authorization-probe.ts).
            started: {
              ...lostEndWatchdog,
              invoke: {
                src: 'authorizationProbe',
                input: ({ context }) => ({ client: context.client, clock: context.clock, periodMs: authorizationProbePeriod(context.policy, context.evccId, REREAD_AFTER_MS) }),
              },
              on: { 'authorization.probeTaken': { target: 'authorized', actions: 'authorizationProbeTaken' } },
            },
            authorizing: {
              entry: { type: 'phase', params: { phase: 'authorization' } },
              invoke: {
                id: 'policy',
                src: 'policy',
                input: ({ context }) => ({ policy: context.policy, evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs: context.authorizationTimeoutMs }),
                onDone: { target: 'authorized', actions: { type: 'answerAuthorization', params: ({ event }) => ({ accepted: event.output === true }) } },
                onError: { target: 'authorized', actions: { type: 'answerAuthorization', params: { accepted: false } } },
              },
              after: { authorizationTimeout: { target: 'authorized', actions: { type: 'answerAuthorization', params: { accepted: false, timedOut: true } } } },
            },
            authorized: {
              entry: { type: 'phase', params: { phase: 'chargeParameterDiscovery' } },
              ...lostEndWatchdog,
            },
            cableCheck: {
              entry: { type: 'phase', params: { phase: 'cableCheck' } },
              initial: 'waitingForIsolation',
              states: {
                waitingForIsolation: {
                  // However the wait ends (answer, abort, session end), the stage stops its test.
                  exit: enqueueActions(({ enqueue, system }) => sendCharger(enqueue, system, { type: 'charger.cableCheck', on: false })),
                  invoke: { src: 'isolationWatch', input: ({ self }) => ({ charger: chargerOf(self.system) }) },
                  on: { 'cableCheck.isolation': { target: 'answered', actions: { type: 'answerCableCheck', params: ({ event }) => ({ result: event.result }) } } },
                  after: { cableCheckTimeout: { target: 'answered', actions: { type: 'answerCableCheck', params: { result: 'none' } } } },
                },
                // The car repeats CableCheckReq until the isolation is valid, each one re-arms it
                // (fuzz seeds 1264 1304 1497: the sequence timeout's end lost here).
                answered: { ...lostEndWatchdog },
              },
            },
            energyTransfer: {
              entry: 'startEnergyTransfer',
              exit: 'stopEnergyTransfer',
              initial: 'preCharge',
              on: {
                // Handled here so that moving inside energy transfer never exits it (the exit
                // would stop the charger).
                'V2g.EvsePreChargeStarted': {},
                // Updates unanswered for a bound of their own end it (v2g-evse/unanswered-updates.ts);
                // leaving energy transfer puts the output to 0 and sends EvseStopCharging.
                'hci.failed': [
                  { guard: 'moduleGone', target: '#v2gEvseSession.done', actions: ['moduleFailed', 'ensureStopCharging'] },
                  { guard: 'updatesUnansweredTooLong', target: '#v2gEvseSession.done', actions: 'updatesUnanswered' },
                  { actions: ['noteUnansweredUpdate', 'logCommandFailure'] },
                ],
              },
              states: {
                preCharge: {
                  entry: [
                    { type: 'phase', params: { phase: 'preCharge' } },
                    { type: 'log', params: { text: '"Pre Charge Started" received' } },
                  ],
                  invoke: { src: 'startChargingProbe', input: startChargingProbeInputOf }, // a lost Start Charging Requested is offered its answer (fuzz seed 300249)
                  on: {
                    'V2g.EvseStartChargingRequested': { target: 'charging', actions: 'startChargingRequested' },
                    'startCharging.probeTaken': { target: 'charging', actions: 'startChargingProbeTaken' },
                  },
                  // Leaving energy transfer stops the charger and sends EvseStopCharging (its exit).
                  after: {
                    preChargeLostEnd: {
                      target: '#v2gEvseSession.done',
                      actions: [
                        { type: 'log', params: { text: `Still in pre-charge ${PRE_CHARGE_LOST_END_MS / 1000} s after it started: the session's end was lost, ending it`, level: 'warn' } },
                        { type: 'lostEnd' },
                      ],
                    },
                  },
                },
                charging: {
                  entry: [{ type: 'phase', params: { phase: 'charging' } }, 'endPreCharge', 'meterReceipt'],
                  on: {
                    'V2g.EvseStartChargingRequested': { actions: 'startChargingRequested' },
                    'V2g.EvseDcChargeParametersChanged': [{ guard: 'evFault', actions: ['dcParametersChanged', 'sendUpdate', 'stopForEvFault'] }, { actions: ['dcParametersChanged', 'sendUpdate'] }],
                    'session.stopCharging': { actions: 'stopOnRequest' },
                    'session.renegotiate': { actions: 'askRenegotiation' },
                  },
                  // The car opened S2 in the charge loop with no stop request (s2-open.ts).
                  ...s2OpenBound,
                },
              },
            },
            postCharge: {
              entry: { type: 'phase', params: { phase: 'postCharge' } },
              ...lostEndWatchdog,
            },
          },
        },
      },
    },
    done: {
      type: 'final',
      entry: { type: 'phase', params: { phase: 'sessionStopped' } },
    },
  },
  output: ({ context, self }) => evseSessionRecord(context, self.system),
});
