/**
 * One V2G session, EV side (manual 18.9, 18.11, 21.9): configure, start the session, then react
 * to every EV status message 0xC0-0xCD: schedule -> charging profile, cable check (state C),
 * pre-charge, start charging once the EVSE's present values suit the battery, follow the
 * schedule's power entries while updating the parameters as the SOC rises, stop at the target
 * SOC (or when the EVSE asks), post-charge and stop the session.
 *
 * Siblings used through the actor system: 'battery' (SOC model) and 'cp' (resistor level).
 * Events from the parent: session.abort {reason}. Output: SessionRecord.
 */
import { assign, enqueueActions, or, setup, stateIn } from 'xstate';
import { V2g } from '../codec/catalog.js';
import { HciError } from './hci-types.js';
import { statusWatchdog } from './status-watchdog.js';
import type { SessionRecord } from './station-events.js';
import { hciChildren, hciCommander, hciSequence, hciStatus, sendCommand } from './hci-actors.js';
import { chargeTimer, dcParametersInPlace } from './v2g-ev/charge-loop.js';
import { STOP_UNCONFIRMED_ID, STOP_UNCONFIRMED_MS, chargeActions } from './v2g-ev/charge-actions.js';
import {
  type EvSessionContext,
  type EvSessionInput,
  type Events,
  SESSION_START_CONFIRM_MS,
  SESSION_START_UNANSWERED_CONFIRM_MS,
  TOLERATE,
  WRONG_STATE,
  command,
  START_SESSION_STEP,
  configurationSteps,
  evSessionRecord,
  isDc,
  mayStartCharging,
  sendBattery,
  sendCp,
} from './v2g-ev/common.js';
import { presentationActions, setupActions } from './v2g-ev/setup-actions.js';
import { MODULE_SESSION_END_BOUND_MS, abortActions, moduleSessionEnd } from './v2g-ev/abort.js';
import { STOP_CHARGING_GRACE_MS, evStop } from './v2g-ev/stop.js';
import { preChargeProbe, preChargeProbeInput } from './v2g-ev/pre-charge-probe.js';
import { chargingReadyProbe, chargingReadyProbeInput } from './v2g-ev/charging-ready-probe.js';
import { cableCheckProbe, cableCheckProbeInput } from './v2g-ev/cable-check-probe.js';
import { moduleEndUnseenActions, stopEndedUnseen } from './v2g-ev/session-end-wait.js';
import { stopSessionWasTaken, stopTakenActions } from './v2g-ev/stop-taken.js';

export {
  type EvSessionCommand,
  type EvSessionContext,
  type EvSessionInput,
  SESSION_START_CONFIRM_MS,
  SESSION_START_UNANSWERED_CONFIRM_MS,
  evSessionRecord,
  mayStartCharging,
  profilePowerW,
} from './v2g-ev/common.js';

/**
 * A car's pre-charge ends within 7 s (DIN 70121 V2G_EVCC_PreCharge_Timeout; the module reports
 * Charging Ready or fails the session). Still in pre-charge 3 s later, the Charging Ready status
 * was lost on the way (fuzz campaign, docs/reliability.md): the car would repeat PreChargeReq
 * for ever with the station's voltage on, so the host ends the session.
 */
export const PRE_CHARGE_WATCHDOG_MS = 10_000;

/**
 * Start Charging was accepted (or sent again) but no Charging Started came. The module reports
 * it once PowerDeliveryRes arrives, and fails the session (Session Error) when the EVSE does not
 * answer within the standard's 5 s; so 10 s later the status was lost on the way and the module
 * is charging (fuzz seed 661): the host goes on into the charge loop, as it would have.
 */
export const START_CHARGING_FALLBACK_MS = 10_000;

/**
 * ISO 15118-2 [V2G2-847]: "The EV shall signal CP State C or D no later than 250 ms after sending
 * the first PowerDeliveryReq with ChargeProgress equals Start". The module sends that request as
 * soon as it takes Start Charging (18.9.13), and the resistor is a command to another service
 * (ControlPilot, its own queue): sent side by side, a lost Set Resistor Level made C come a
 * command timeout (1 s) after the request, or never. So the host switches C first and sends Start
 * Charging once the module took it (`closingS2`): C is on the line before the request, whatever
 * the link does. The module takes the command within its answer time; a CP service that does not
 * take it in three tries (SET_COMMAND_RESENDS, 1 s each) cannot be charged through, so after this
 * bound the session is stopped (no Start Charging, IEC 61851-1: no energy in state B).
 */
export const STATE_C_CONFIRM_MS = 4_000;

/** The sequence failed at Start Session with 0x11: possibly started after all (SESSION_START_CONFIRM_MS). */
const startSessionRefused = ({ event }: { event: Events }): boolean =>
  event.type === 'hci.sequenceFailed' && event.error instanceof HciError && event.error.command === 'V2g.EvStartSession' && event.error.code === WRONG_STATE;

/** Every Start Session timed out: possibly started too, shorter wait (SESSION_START_UNANSWERED_CONFIRM_MS). */
const startSessionUnanswered = ({ event }: { event: Events }): boolean =>
  event.type === 'hci.sequenceFailed' && event.error instanceof HciError && event.error.command === 'V2g.EvStartSession' && event.error.kind === 'timeout';

/** A command that timed out (lost on the link or its answer lost), by its tag. */
const timedOut =
  (tag: string) =>
  ({ event }: { event: Events }): boolean =>
    event.type === 'hci.failed' && event.tag === tag && event.error instanceof HciError && event.error.kind === 'timeout';

export const v2gEvSessionMachine = setup({
  types: {
    input: {} as EvSessionInput,
    context: {} as EvSessionContext,
    events: {} as Events,
    output: {} as SessionRecord,
  },
  actors: { hciSequence, hciCommander, hciStatus, statusWatchdog, evStop, chargeTimer, moduleSessionEnd, preChargeProbe, chargingReadyProbe, cableCheckProbe },
  delays: {
    recheck: 500,
    postChargeFallback: 5000,
    preChargeWatchdog: PRE_CHARGE_WATCHDOG_MS,
    startChargingFallback: START_CHARGING_FALLBACK_MS,
    stateCConfirm: STATE_C_CONFIRM_MS,
    // Stop Charging's answer, the grace for leaving energy transfer and Stop Session's answer
    // (sent twice when the first gets none: 1 s each).
    stoppingBackstop: STOP_CHARGING_GRACE_MS + 4000,
    sessionStartConfirm: ({ context }) => context.startConfirmMs ?? SESSION_START_CONFIRM_MS,
    moduleSessionEndBound: ({ context }) => context.moduleEndBoundMs ?? MODULE_SESSION_END_BOUND_MS,
  },
  actions: {
    ...presentationActions,
    ...setupActions,
    ...chargeActions,
    ...abortActions,
    ...moduleEndUnseenActions,
    ...stopTakenActions,
  },
  guards: {
    /** Renegotiation resumes on the agreed output: no new pre-charge to wait for (DC). */
    mayStart: ({ context }) => (context.renegotiating === true && isDc(context.energyTransferMode)) || mayStartCharging(context, context.batteryLimits ?? context.config.battery),
    evseNotReady: ({ context }) => context.evseStatus !== 0,
    /** Start Charging went out (the module may be charging) and energy transfer has not ended. */
    charging: or([stateIn('#v2gEvSession.session.charging'), stateIn('#v2gEvSession.session.startRequested')]),
  },
}).createMachine({
  id: 'v2gEvSession',
  context: ({ input }) => ({
    ...input,
    startedAt: input.clock.now(),
    presentVoltageV: 0,
    presentCurrentA: 0,
    evseStatus: 0,
    targetCurrentA: input.config.battery.targetCurrentA,
    peakVoltageV: 0,
    peakCurrentA: 0,
    longestUpdateGapMs: 0,
    longestReactionMs: 0,
    stopChargingSent: false,
  }),
  // The status child takes the charge loop's DC Charge Parameters Changed in place (v2g-ev/charge-loop.ts).
  invoke: hciChildren(['V2g'], (self) => (e) => e.type === 'V2g.EvDcChargeParametersChanged' && dcParametersInPlace(self, e)),
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
        input: ({ context, self }) => configurationSteps(context, self),
      },
      on: {
        'hci.step': [{ guard: ({ event }) => event.text === START_SESSION_STEP, actions: ['logStep', assign({ startSessionSent: true })] }, { actions: 'logStep' }],
        'hci.sequenceDone': 'session',
        'hci.sequenceFailed': [
          { guard: startSessionRefused, target: 'session', actions: { type: 'startUnconfirmed', params: { waitMs: SESSION_START_CONFIRM_MS } } },
          { guard: startSessionUnanswered, target: 'session', actions: { type: 'startUnconfirmed', params: { waitMs: SESSION_START_UNANSWERED_CONFIRM_MS } } },
          { target: 'done', actions: 'failConfiguration' },
        ],
        // Status messages that beat Start Session's answer (or its retry's) are kept for the session.
        'V2g.*': { actions: 'keepEarly' },
        // Once Start Session went out the module may be in a session it will not stop: `aborting`.
        'session.abort': [
          { guard: ({ context }) => context.startSessionSent === true, target: 'aborting', actions: ['aborted', { type: 'unconfirmedStartBound', params: { configuring: true } }] },
          { target: 'done', actions: ['aborted', 'stopSession'] },
        ],
      },
    },
    session: {
      entry: 'replayEarly',
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      on: {
        // Ending while charging goes through Stop Charging first (`stopping`); otherwise Stop Session.
        'session.noModuleStatus': [
          { guard: 'charging', target: 'stopping', actions: ['noModuleStatus', 'noteWatchdogEnd'] },
          // The module's end was not seen: the station waits for it before configuring (v2g-ev/session-end-wait.ts).
          { target: 'done', actions: ['noModuleStatus', 'stopSession', 'moduleEndUnseen'] },
        ],
        'V2g.EvSessionStarted': { actions: 'sessionStarted' },
        'V2g.EvScheduleReceived': { actions: 'scheduleReceived' },
        'V2g.EvDcChargeParametersChanged': { actions: 'dcParametersChanged' },
        'V2g.EvAcChargeParametersChanged': { actions: 'acParametersChanged' },
        'V2g.EvCableCheckReady': { target: '.cableCheck', actions: 'startCableCheck' },
        'V2g.EvCableCheckFinished': { actions: { type: 'log', params: { text: '"Cable Check Finished" received' } } },
        'V2g.EvPreChargingReady': { target: '.preCharge', actions: 'startPreCharging' },
        'V2g.EvChargingReady': { target: '.chargingReady', actions: { type: 'log', params: { text: '"Charging Ready" received' } } },
        'V2g.EvChargingStarted': { target: '.charging' },
        'V2g.EvChargingStopped': { target: '.postCharge', actions: 'chargingStopped' },
        'V2g.EvPostChargingReady': { target: '.postCharge', actions: [{ type: 'log', params: { text: '"Post Charging Ready" received' } }, 'stopSession'] },
        'V2g.EvNotificationReceived': { actions: 'notification' },
        'V2g.EvSessionStopped': { target: 'done', actions: 'sessionStopped' },
        'V2g.EvSessionError': { target: 'done', actions: 'sessionError' },
        'session.stopSessionTaken': { actions: 'stopSessionTaken' },
        'session.stopTakenUnseen': { target: 'done', actions: 'stopTakenUnseen' },
        'session.abort': [
          { guard: 'charging', target: 'stopping', actions: 'aborted' },
          // The module took Stop Session: it ends its session, a refusal now means none is left (v2g-ev/stop-taken.ts).
          { guard: stopSessionWasTaken, target: 'done', actions: ['aborted', 'abortAfterStopTaken'] },
          { target: 'aborting', actions: ['aborted', { type: 'unconfirmedStartBound', params: { configuring: false } }] },
        ],
        'session.stopCharging': { actions: { type: 'requestStop', params: ({ event }) => ({ reason: event.reason }) } },
        // A lost EvStopSession (or answer) left the car in the V2G loop for ever, e.g. repeating
        // PreChargeReq with the station's voltage on after the pre-charge watchdog (fuzz seed
        // 567): sent again by the commander (v2g-ev/lost-answers.ts), and here once those timed out
        // too; one that did arrive makes the resend 0x11: taken, its answer lost (v2g-ev/stop-taken.ts).
        'hci.failed': [{ guard: timedOut('stopSession'), actions: ['logCommandFailure', 'stopSession'] }, { actions: 'logCommandFailure' }],
      },
      initial: 'starting',
      states: {
        starting: {
          entry: { type: 'phase', params: { phase: 'sessionStarted' } },
          // A lost Cable Check Ready is offered its answer (fuzz seed 300043, v2g-ev/cable-check-probe.ts).
          invoke: { src: 'cableCheckProbe', input: cableCheckProbeInput },
          on: { 'cableCheck.probeTaken': { target: 'cableCheck', actions: 'cableCheckProbeTaken' } },
          after: {
            sessionStartConfirm: {
              guard: ({ context }) => context.startUnconfirmed !== undefined,
              target: '#v2gEvSession.done',
              actions: ['startNotConfirmed', 'stopSession', { type: 'moduleEndUnseen', params: { unconfirmedStart: true } }],
            },
          },
        },
        cableCheck: {
          entry: { type: 'phase', params: { phase: 'cableCheck' } },
          // A lost Pre Charging Ready is offered its answer (fuzz seed 300176, v2g-ev/pre-charge-probe.ts).
          invoke: { src: 'preChargeProbe', input: preChargeProbeInput },
          on: { 'preCharge.probeTaken': { target: 'preCharge', actions: 'preChargeProbeTaken' } },
        },
        preCharge: {
          entry: { type: 'phase', params: { phase: 'preCharge' } },
          // A lost Charging Ready is offered its answer late in pre-charge (fuzz seed 300126, v2g-ev/charging-ready-probe.ts).
          invoke: { src: 'chargingReadyProbe', input: chargingReadyProbeInput },
          on: { 'chargingReady.probeTaken': { target: 'startRequested', actions: 'chargingReadyProbeTaken' } },
          after: {
            preChargeWatchdog: {
              actions: [
                { type: 'log', params: { text: `No Charging Ready ${PRE_CHARGE_WATCHDOG_MS / 1000} s into pre-charge: stopping the session`, level: 'warn' } },
                assign({ stopReason: ({ context }) => context.stopReason ?? 'preChargeTimeout' }),
                'stopSession',
              ],
            },
          },
        },
        chargingReady: {
          always: { guard: 'mayStart', target: 'closingS2' },
          on: {
            'V2g.EvDcChargeParametersChanged': { target: 'chargingReady', reenter: true, actions: 'dcParametersChanged' },
            'V2g.EvAcChargeParametersChanged': { target: 'chargingReady', reenter: true, actions: 'acParametersChanged' },
          },
          after: { recheck: { target: 'chargingReady', reenter: true } },
        },
        // State C on the line before Start Charging ([V2G2-847], STATE_C_CONFIRM_MS above).
        closingS2: {
          entry: 'askStateC',
          on: { 'cp.resistorSet': { guard: ({ event }) => event.level === 'C', target: 'startRequested', actions: 'startCharging' } },
          after: {
            stateCConfirm: {
              target: '#v2gEvSession.aborting',
              actions: [
                {
                  type: 'log',
                  params: { text: `The CP service did not take state C within ${STATE_C_CONFIRM_MS / 1000} s: not starting charging (ISO 15118-2 [V2G2-847]), stopping the session`, level: 'error' },
                },
                assign({ stopReason: ({ context }) => context.stopReason ?? 'stateCNotSet' }),
              ],
            },
          },
        },
        // A lost EvStartCharging or answer (timeout) is sent again (fuzz seeds 414 567 598); an
        // answer that was lost while the module did start makes the resend 0x11, and its
        // Charging Started status moves on.
        startRequested: {
          on: {
            'hci.failed': [{ guard: timedOut('startCharging'), target: 'chargingReady', actions: 'logCommandFailure' }, { actions: 'logCommandFailure' }],
          },
          // The Charging Started status was lost (fuzz seed 661): without this the car stayed in
          // CurrentDemand with no host updates and no stop, the EVSE's output on for ever.
          after: {
            startChargingFallback: {
              target: 'charging',
              actions: { type: 'log', params: { text: `No Charging Started ${START_CHARGING_FALLBACK_MS / 1000} s after Start Charging: charging as the module does`, level: 'warn' } },
            },
          },
        },
        charging: {
          entry: [{ type: 'phase', params: { phase: 'charging' } }, 'chargingStarted'],
          exit: enqueueActions(({ enqueue, system }) => {
            sendBattery(enqueue, system, { type: 'battery.charging', on: false });
            enqueue.cancel(STOP_UNCONFIRMED_ID);
          }),
          on: {
            'session.stopUnconfirmed': {
              target: '#v2gEvSession.stopping',
              actions: { type: 'log', params: { text: `No Charging Stopped ${STOP_UNCONFIRMED_MS / 1000} s after Stop Charging: ending the session`, level: 'warn' } },
            },
            'session.renegotiate': { actions: { type: 'requestStop', params: ({ event }) => ({ reason: event.reason, renegotiation: true }) } },
            // A lost EvStopCharging (or answer) would leave the car charging for ever: send it
            // again (fuzz seed 1006 on the EV-pinging tree); a stop that did arrive makes it 0x11.
            'hci.failed': [
              {
                guard: timedOut('stopCharging'),
                actions: [
                  'logCommandFailure',
                  enqueueActions(({ enqueue, self, context }) =>
                    sendCommand(enqueue, self, command(V2g.EvStopCharging, { renegotiation: context.renegotiating === true }, 'stopCharging', undefined, TOLERATE)),
                  ),
                ],
              },
              { actions: 'logCommandFailure' },
            ],
            'V2g.EvDcChargeParametersChanged': [
              { guard: 'evseNotReady', actions: ['dcParametersChanged', 'logEvseNotReady', { type: 'requestStop', params: { reason: 'evseNotReady' } }] },
              { actions: 'dcParametersChanged' },
            ],
          },
          initial: 'ticking',
          states: {
            // The first update on entry, then the timer child's (v2g-ev/charge-loop.ts): in place
            // below the target SOC, else a `session.tick` here.
            ticking: {
              entry: 'chargeTick',
              invoke: { src: 'chargeTimer', input: ({ context, self }) => ({ session: self, clock: context.clock, intervalMs: context.config.updateIntervalMs }) },
              on: { 'session.tick': { actions: 'chargeTick' } },
            },
          },
        },
        postCharge: {
          // Out of energy transfer by whatever message came first (Charging Stopped or straight
          // Post Charging Ready): the EV no longer asks for energy (state B; the CP skips repeats).
          entry: [
            { type: 'phase', params: { phase: 'postCharge' } },
            enqueueActions(({ enqueue, context, system }) => {
              if (context.resistorC) sendCp(enqueue, system, 'B');
            }),
          ],
          // AC ends by itself (21.9.5); if a DC module never says Post Charging Ready, ask anyway.
          after: { postChargeFallback: { guard: ({ context }) => context.renegotiating !== true, actions: 'stopSession' } },
        },
      },
    },
    // The session ends while the module may be charging (abort, status watchdog): Stop Charging
    // unless already sent, Post Charging Ready (DC) or the end (AC), Stop Session (v2g-ev/stop.ts).
    stopping: {
      invoke: {
        src: 'evStop',
        input: ({ context }) => ({ client: context.client, clock: context.clock, stopCharging: context.owesStopCharging === true }),
      },
      entry: [
        { type: 'log', params: ({ context }) => ({ text: context.stopChargingSent ? 'Stopping the session once charging has stopped' : 'Stop Charging, then Stop Session' }) },
        assign({ owesStopCharging: ({ context }) => !context.stopChargingSent, stopChargingSent: true }),
      ],
      on: {
        // The watchdog's end, its module's end still unseen: the station waits for it (v2g-ev/session-end-wait.ts).
        'evStop.done': [
          { guard: stopEndedUnseen, target: 'done', actions: ['logStopNotes', 'moduleEndUnseen'] },
          { target: 'done', actions: 'logStopNotes' },
        ],
        'evStop.stopChargingUnanswered': { actions: 'stopChargingUnanswered' },
        'V2g.EvChargingStopped': { actions: { type: 'log', params: { text: '"Charging Stopped" received' } } },
        'V2g.EvSessionStopped': { actions: { type: 'log', params: { text: '"Session Stopped" received' } } },
      },
      after: { stoppingBackstop: 'done' },
    },
    // Aborted before charging (v2g-ev/abort.ts): Stop Session; taken, the session is over (the
    // module ends it); refused or unanswered, the module's session goes on, and the host waits for
    // its end (bounded) so as not to configure a module that is still in a session (fuzz 204869).
    aborting: {
      invoke: { src: 'moduleSessionEnd', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      on: {
        'moduleSession.waiting': { actions: 'abortStopRefused' },
        'moduleSession.done': { target: 'done', actions: 'abortEnded' },
      },
      after: { moduleSessionEndBound: { target: 'done', actions: 'moduleSessionNotEnded' } },
    },
    done: {
      type: 'final',
      entry: { type: 'phase', params: { phase: 'sessionStopped' } },
    },
  },
  output: ({ context, self }) => evSessionRecord(context, self.system),
});
