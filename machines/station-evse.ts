/**
 * The EVSE station: checks the module firmware, clears stale state like the reference (stop
 * listening, stop SLAC, stop CP; 0x05 and friends tolerated), then loops forever:
 * CP (X1, wait for state B) -> SLAC matching with 5 % PWM -> one V2G session -> back to 100 %
 * and waiting for the next car, until `shutdown`, which stops charging, listening, SLAC and CP.
 * A session the EV paused (Session Stopped closure type 1, 18.12.13) leads to `paused` instead:
 * output 0, 100 % (X1) for a moment, then 5 %, SLAC and listening again for the same car, which
 * resumes with the paused Session ID; no unplug needed (docs/service.md, pause and resume).
 *
 * Children (systemIds): charger (whole life), cp, slac (while running), session (per session).
 * Emits StationEmitted events (log, phase, sample, authorization, sessionEnded).
 */
import { assign, emit, enqueueActions, sendTo, setup } from 'xstate';
import { ControlPilot, Slac, V2g } from '../codec/catalog.js';
import { type ChargerSample, chargerMachine } from './charger.js';
import type { PowerStageLinkEvent } from './power-stage.js';
import { controlPilotEvseMachine } from './control-pilot-evse.js';
import { type HciStep, hciSequence } from './hci-actors.js';
import { livenessWatch } from './liveness.js';
import { slacMachine } from './slac.js';
import { setUpDelays, setUpGuards, setUpRetryActions, setUpRetryState, slacSetUpFailed } from './setup-retry.js';
import { STALE, endStates, initialisingState, owedStopCharging, runningCommon, stationActions, stationGuards } from './station-common.js';
import { StopChargingWire } from './stop-charging-wire.js';
import { type SessionRecord, type StationEmitted, logEvent } from './station-events.js';
import { type EvseSessionContext, evseSessionRecord, v2gEvseSessionMachine } from './v2g-evse-session.js';
import type { EvseStationContext, EvseStationEvent, EvseStationInput } from './station-evse-types.js';

/** How long a paused station stays in X1 before it offers 5 % again (see `paused`). */
export const PAUSE_WAKE_UP_MS = 3000;

const MODULE_NOT_SERVING_TEXT = "The module left the charge loop's updates unanswered: it is not serving the session, setting it up again";

/** Session errors after which the module is set up again (`moduleFailure`). */
const MODULE_FAILURES = new Set(['moduleNotResponding', 'moduleLostSession', 'updatesUnanswered']);

const DISABLED_TEXT = 'Station disabled: no new session until it is enabled';

const cleanupSteps = (): HciStep[] => [
  { text: 'Stop listening (stale V2G state)', def: V2g.EvseStopListen, tolerate: STALE, bestEffort: true },
  { text: 'Stop SLAC (stale state)', def: Slac.StopSlac, tolerate: STALE, bestEffort: true },
  { text: 'Stop the CP service (stale state)', def: ControlPilot.Stop, tolerate: STALE, bestEffort: true },
];

/** After the Stop Charging still owed, if any (endStates). */
const shutdownSteps = (): HciStep[] => [
  { text: 'Stop listening', def: V2g.EvseStopListen, bestEffort: true },
  { text: 'Stop SLAC', def: Slac.StopSlac, bestEffort: true },
  { text: 'Stop the CP service', def: ControlPilot.Stop, bestEffort: true },
];

/**
 * `running` watches the module (runningCommon, machines/liveness.ts): a module that dies or
 * restarts while nothing is expected from it (waiting, SLAC matching) is noticed within 2 s,
 * the output goes to 0 (a session in progress is recorded, moduleNotResponding) and the module
 * is initialised again; one still silent then fails the set-up, tried again later (setup-retry.ts).
 */
const evseRunning = runningCommon('EVSE');

export const evseStationMachine = setup({
  types: {
    input: {} as EvseStationInput,
    context: {} as EvseStationContext,
    events: {} as EvseStationEvent,
    emitted: {} as StationEmitted,
  },
  actors: {
    hciSequence,
    owedStop: owedStopCharging((client) => client.request(V2g.EvseStopCharging, {})),
    liveness: livenessWatch,
    charger: chargerMachine,
    cp: controlPilotEvseMachine,
    slac: slacMachine,
    session: v2gEvseSessionMachine,
  },
  actions: {
    ...stationActions<EvseStationContext, EvseStationEvent, EvseSessionContext>('EVSE', evseSessionRecord, (session) => session.stopChargingSent),
    ...setUpRetryActions<EvseStationContext, EvseStationEvent>('EVSE'),
    forgetVehicle: assign({ vehiclePresent: false }),
    sample: emit(({ event }) => {
      const s = event as ChargerSample;
      return {
        type: 'sample' as const,
        station: 'EVSE' as const,
        at: s.at,
        voltageV: s.voltageV,
        currentA: s.currentA,
        powerW: s.powerW,
        energyWh: s.energyWh,
        ...(s.socPercent !== undefined ? { socPercent: s.socPercent } : {}),
      };
    }),
    chargerOff: sendTo('charger', { type: 'charger.stop' }),
    /** Limits set at run time hold for the next sessions too (they start from the config). */
    keepLimits: enqueueActions(({ enqueue, context, event }) => {
      const { type: _, ...limits } = event as Extract<EvseStationEvent, { type: 'setLimits' }>;
      // The event carries the whole set of run-time limits: a value left out is the configured
      // one again (a cleared charging profile, a lifted operator limit).
      const configured = context.configuredCharger ?? context.config.charger;
      const charger = { ...configured };
      if (limits.maxPowerW !== undefined) charger.maxPowerW = Math.min(limits.maxPowerW, configured.maxPowerW);
      if (limits.maxCurrentA !== undefined) charger.maxCurrentA = Math.min(limits.maxCurrentA, configured.maxCurrentA);
      enqueue.assign({ configuredCharger: configured, config: { ...context.config, charger } });
      enqueue.sendTo('charger', { type: 'charger.limits', maxPowerW: charger.maxPowerW, maxCurrentA: charger.maxCurrentA });
    }),
    cpHlc: sendTo('cp', { type: 'cp.hlc' }),
    cpIdle: sendTo('cp', { type: 'cp.idle' }),
    slacStart: sendTo('slac', { type: 'slac.start' }),
    slacMatch: sendTo('slac', { type: 'slac.match' }),
    abortSession: sendTo('session', { type: 'session.abort', reason: 'unplugged' }),
    markUnavailable: assign({ available: false }),
    /** The charger already commanded 0: record it, and serve no new car until enabled again. */
    powerStageFault: enqueueActions(({ enqueue, event }) => {
      const e = event as Extract<PowerStageLinkEvent, { type: 'charger.fault' }>;
      enqueue.assign({ available: false });
      enqueue.emit(logEvent('EVSE', `Power stage fault (${e.reason}: ${e.detail}): output to 0, station disabled until enabled`, 'error').event);
    }),
    rememberPause: assign({ pausedSessionId: ({ event }) => (event as unknown as { output: SessionRecord }).output.sessionId }),
    forgetPause: assign({ pausedSessionId: undefined }),
    /**
     * The session ended on a module failure (silent in the charge loop, say) after Session
     * Started: its EvseStopCharging (ensureStopCharging) went to a module that had stopped
     * answering, so it is owed until answered (issue 12 item 12): the reset or the clean-up sends
     * it once the one pending settled unanswered.
     */
    owedAfterModuleFailure: assign({
      stopChargingOwed: ({ context, event }) => (event as unknown as { output: SessionRecord }).output.protocol !== undefined && (context.stopWire?.owedAtEnd(true) ?? true),
    }),
    logModuleNotServing: enqueueActions(({ enqueue, event }) => {
      if ((event as unknown as { output: SessionRecord }).output.error?.name === 'updatesUnanswered') enqueue.emit(logEvent('EVSE', MODULE_NOT_SERVING_TEXT, 'warn').event);
    }),
    abortForPowerStage: sendTo('session', ({ event }) => ({ type: 'session.abort' as const, reason: (event as Extract<PowerStageLinkEvent, { type: 'charger.fault' }>).reason })),
  },
  delays: {
    ...setUpDelays,
    /** X1 after a pause before 5 % again: long enough for the EV to see the EVSE leave HLC. */
    pauseWakeUp: PAUSE_WAKE_UP_MS,
  },
  guards: {
    ...stationGuards,
    ...setUpGuards,
    allReady: ({ context }) => context.cpReady && context.slacReady,
    vehiclePresent: ({ context }) => context.vehiclePresent,
    available: ({ context }) => context.available,
    vehicleToServe: ({ context }) => context.vehiclePresent && context.available,
    firstAttempt: ({ event }) => (event as { attempt?: number }).attempt === 1,
    /** 18.12.13 closure type 1: the EV paused the session and may resume it. */
    sessionPaused: ({ event }) => (event as unknown as { output: SessionRecord }).output.closure === 'pause',
    resumable: ({ context }) => context.pausedSessionId !== undefined,
    /**
     * The module restarted or went silent (moduleNotResponding, moduleLostSession), or its V2G
     * service left the charge loop's updates unanswered while Ping went on (updatesUnanswered,
     * unanswered-updates.ts): either way it is set up again.
     */
    moduleFailure: ({ event }) => MODULE_FAILURES.has((event as unknown as { output: SessionRecord }).output.error?.name ?? ''),
  },
}).createMachine({
  id: 'evseStation',
  context: ({ input }) => ({
    ...input,
    cpReady: false,
    slacReady: false,
    vehiclePresent: false,
    available: true,
    sessions: 0,
    stopWire: new StopChargingWire(input.client, input.clock, 'EvseStopCharging'),
  }),
  invoke: {
    id: 'charger',
    src: 'charger',
    systemId: 'charger',
    input: ({ context }) => ({ clock: context.clock, config: context.config.charger, ...(context.powerStage ? { powerStage: context.powerStage } : {}) }),
  },
  on: {
    'station.emit': { actions: 'reemit' },
    'hci.tolerated': { actions: 'logTolerated' },
    'charger.sample': { actions: 'sample' },
    'charger.fault': { actions: 'powerStageFault' },
    'cp.vehicleConnected': { actions: assign({ vehiclePresent: true }) },
    'cp.vehicleDisconnected': { actions: assign({ vehiclePresent: false }) },
    // The vehicle opened or closed S2 (CP B <-> C/D): the charger holds its output while open
    // during energy transfer; the session's own stop or pause goes on (charger-gates.ts).
    'cp.s2': { actions: sendTo('charger', ({ event }) => ({ type: 'charger.s2' as const, closed: event.closed })) },
    'station.disable': { guard: 'available', actions: ['markUnavailable', { type: 'log', params: { text: DISABLED_TEXT } }] },
    'station.enable': { guard: ({ context }) => !context.available, actions: [assign({ available: true }), { type: 'log', params: { text: 'Station enabled' } }] },
    setLimits: { actions: 'keepLimits' },
  },
  initial: 'initialising',
  states: {
    initialising: initialisingState('evseStation', cleanupSteps, { src: 'owedStop', done: 'owedStop.done' }),
    running: {
      ...evseRunning,
      initial: 'starting',
      states: {
        starting: { always: { guard: 'allReady', target: 'waitingForVehicle', actions: 'setUpDone' } },
        waitingForVehicle: {
          entry: { type: 'phase', params: { phase: 'waitingForVehicle' } },
          always: { guard: 'vehicleToServe', target: 'slac' },
        },
        slac: {
          entry: [{ type: 'phase', params: { phase: 'slac' } }, 'slacMatch'],
          on: {
            'slac.matchingStarted': { guard: 'firstAttempt', actions: 'cpHlc' },
            'slac.matched': 'session',
            // While a paused session may still resume, a car that does not match yet (asleep) is
            // given another window after the next sleep instead of waiting for an unplug.
            'slac.failed': [...slacSetUpFailed('#evseStation.'), { guard: 'resumable', target: 'paused' }, { target: 'afterSession' }],
            'cp.vehicleDisconnected': { target: 'waitingForVehicle', actions: [assign({ vehiclePresent: false }), 'forgetPause'] },
          },
        },
        session: {
          entry: 'stopWireNewSession',
          exit: 'sessionInterrupted',
          invoke: {
            id: 'session',
            src: 'session',
            systemId: 'session',
            input: ({ context }) => ({
              client: context.client,
              clock: context.clock,
              config: context.config,
              policy: context.policy,
              ...(context.certificateProvider ? { certificateProvider: context.certificateProvider } : {}),
              ...(context.pausedSessionId ? { resumeSessionId: context.pausedSessionId } : {}),
              ...(context.firmwareProfile ? { updateDeadlineMs: context.firmwareProfile.behaviours.dcUpdatePeriodMs.value } : {}),
            }),
            onDone: [
              // The module restarted or went silent: its CP and SLAC state is gone too, so start over.
              // One whose V2G service stopped answering in the charge loop while Ping went on is not
              // a module to go on with as if nothing happened: set up again the same way.
              { guard: 'moduleFailure', target: '#evseStation.reinitialising', actions: ['sessionEnded', 'owedAfterModuleFailure', 'forgetPause', 'logModuleNotServing'] },
              { guard: 'sessionPaused', target: 'paused', actions: ['sessionEnded', 'rememberPause'] },
              { target: 'afterSession', actions: ['sessionEnded', 'forgetPause'] },
            ],
          },
          on: {
            'cp.vehicleDisconnected': { actions: [assign({ vehiclePresent: false }), 'abortSession', 'forgetPause'] },
            // The charger holds its output at once (as above); the session bounds how long the
            // car may keep S2 open in the charge loop before it ends (v2g-evse-session.ts).
            'cp.s2': {
              actions: [
                sendTo('charger', ({ event }) => ({ type: 'charger.s2' as const, closed: event.closed })),
                sendTo('session', ({ event }) => ({ type: 'session.s2' as const, closed: event.closed })),
              ],
            },
            stopCharging: { actions: sendTo('session', { type: 'session.stopCharging', reason: 'operatorStop' }) },
            // Safety: the session ends at once (EvseStopCharging), whatever the EV is doing.
            'charger.fault': { actions: ['powerStageFault', 'abortForPowerStage'] },
            // Disabling ends the charging in progress through the same path as an operator stop.
            'station.disable': {
              guard: 'available',
              actions: ['markUnavailable', { type: 'log', params: { text: DISABLED_TEXT } }, sendTo('session', { type: 'session.stopCharging', reason: 'operatorStop' })],
            },
            renegotiate: { actions: sendTo('session', { type: 'session.renegotiate', reason: 'operatorRequest' }) },
            // The session gets the limits as resolved (configured where the event leaves one out).
            setLimits: {
              actions: [
                'keepLimits',
                sendTo('session', ({ context }) => ({ type: 'session.setLimits' as const, maxPowerW: context.config.charger.maxPowerW, maxCurrentA: context.config.charger.maxCurrentA })),
              ],
            },
          },
        },
        // Whatever happened, the output is 0 and the module stops listening before the next car.
        afterSession: {
          entry: ['chargerOff', 'cpIdle'],
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({ client: context.client, steps: [{ def: V2g.EvseStopListen, tolerate: STALE, bestEffort: true }] }),
          },
          on: {
            'hci.sequenceDone': [{ guard: 'vehiclePresent', target: 'waitingForUnplug' }, { target: 'waitingForVehicle' }],
          },
        },
        /**
         * The EV paused (18.12.13 closure type 1; ISO 15118-2 8.4.1, Sevenstax/FreeV2G#21): output
         * 0, listening stopped and X1 (100 %, the sleep of a paused link) as after any session,
         * but no wait for an unplug: after `pauseWakeUp` the station offers 5 %, SLAC and
         * listening again, the way the field resumes a WHITE-beet session without re-plugging
         * (Sevenstax/FreeV2G#20: 5 % again, SLAC and V2G restarted). The car resumes when it
         * wants with the paused Session ID; an unplug ends the pause.
         */
        paused: {
          entry: ['chargerOff', 'cpIdle', { type: 'phase', params: { phase: 'paused' } }, { type: 'log', params: { text: 'Session paused by the EV: output 0, the session can be resumed' } }],
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({ client: context.client, steps: [{ def: V2g.EvseStopListen, tolerate: STALE, bestEffort: true }] }),
          },
          after: {
            pauseWakeUp: [
              { guard: 'vehicleToServe', target: 'slac' },
              { target: 'waitingForVehicle', actions: 'forgetPause' },
            ],
          },
          on: { 'cp.vehicleDisconnected': { target: 'waitingForVehicle', actions: [assign({ vehiclePresent: false }), 'forgetPause'] } },
        },
        waitingForUnplug: {
          entry: { type: 'log', params: { text: 'Waiting for the vehicle to leave' } },
          always: { guard: ({ context }) => !context.vehiclePresent, target: 'waitingForVehicle' },
          on: { 'cp.vehicleDisconnected': { target: 'waitingForVehicle', actions: assign({ vehiclePresent: false }) } },
        },
      },
    },
    // Output 0; set up again from the firmware check on (still silent: a failed set-up, retried).
    // A session cut before its EvseStopCharging gets it first, before Stop Listen ends the module's
    // session (issue 12 item 12); unanswered, it stays owed for the module that answers again.
    reinitialising: {
      entry: ['chargerOff', { type: 'log', params: { text: 'Module lost its state: initialising it again', level: 'warn' } }],
      initial: 'stopCharging',
      states: {
        stopCharging: {
          always: { guard: ({ context }) => context.stopChargingOwed !== true, target: 'reset' },
          invoke: { src: 'owedStop', input: ({ context }) => ({ client: context.client, wire: context.stopWire }) },
          on: { 'owedStop.done': { target: 'reset', actions: ['logStopNotes', 'owedStopDone'] } },
        },
        reset: {
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({
              client: context.client,
              steps: [
                { text: 'Set the CP duty cycle to 100%', def: ControlPilot.SetDutyCycle, fields: { dutyCyclePermill: 1000 }, bestEffort: true },
                { def: V2g.EvseStopListen, bestEffort: true },
              ],
            }),
          },
          on: { 'hci.sequenceDone': { target: '#evseStation.initialising', actions: assign({ cpReady: false, slacReady: false, vehiclePresent: false }) } },
        },
      },
      on: {
        'hci.step': { actions: 'logStep' },
        shutdown: 'shuttingDown',
      },
    },
    setUpRetry: setUpRetryState('evseStation', 'chargerOff', 'forgetVehicle'),
    ...endStates('evseStation', 'chargerOff', shutdownSteps, { src: 'owedStop', done: 'owedStop.done' }),
  },
});
