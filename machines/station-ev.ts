/**
 * The EV station: checks the module firmware, clears stale state (stop session, SLAC, CP), then
 * loops: CP (state B, wait for the EVSE's 5 % PWM) -> SLAC matching -> one V2G session -> wait
 * for the EVSE to leave high-level communication (100 % or unplug) -> wait for the next 5 %,
 * until `shutdown`, which stops charging and the session, SLAC and CP.
 *
 * Children (systemIds): battery (whole life), cp, slac (while running), session (per session).
 *
 * With an external battery (ev-battery.ts) the station serves the EVSE only while the battery is
 * ok (reported, no fault); a fault or silence stops the session in progress: Stop Charging while
 * charging, else the session is aborted (Stop Session).
 */
import { type ActorRefFrom, assign, emit, enqueueActions, sendTo, setup } from 'xstate';
import { ControlPilot, Slac, V2g } from '../codec/catalog.js';
import { type BatterySample, batteryMachine } from './battery.js';
import type { EvConfig } from './config.js';
import type { EvBatteryBinding, EvBatteryLinkEvent } from './ev-battery.js';
import { controlPilotEvMachine } from './control-pilot-ev.js';
import { type HciStep, type SequenceEvent, hciSequence } from './hci-actors.js';
import { type LivenessEvent, livenessWatch } from './liveness.js';
import { type SlacToParent, slacMachine } from './slac.js';
import { setUpDelays, setUpGuards, setUpRetryActions, setUpRetryState, slacSetUpFailed } from './setup-retry.js';
import { STALE, type StationInput, endStates, initialisingState, owedStopCharging, runningCommon, stationActions, stationGuards } from './station-common.js';
import { StopChargingWire } from './stop-charging-wire.js';
import { type ChildEmit, type SessionRecord, type StationEmitted, logEvent } from './station-events.js';
import { type EvSessionContext, evSessionRecord, v2gEvSessionMachine } from './v2g-ev-session.js';
import { type EvStopEvent, evStop } from './v2g-ev/stop.js';
import { type ModuleSessionEndEvent, moduleEndBoundMs, moduleSessionEnd, startConfirmed } from './v2g-ev/abort.js';
import { type ModuleEndUnseenEvent, moduleSessionEndBound, moduleSessionEndWait } from './v2g-ev/session-end-wait.js';

export interface EvStationInput extends StationInput<EvConfig> {
  /** The car's real battery and the bound for its silence; without it the battery is simulated. */
  battery?: EvBatteryBinding;
}

export type EvStationEvent =
  | { type: 'shutdown' }
  /** Ask the EV to stop charging now (user request). */
  | { type: 'stopCharging' }
  /** Ask for new schedules while charging (Stop Charging with renegotiation, 18.9.14). */
  | { type: 'renegotiate' }
  | ChildEmit
  | BatterySample
  | Extract<EvBatteryLinkEvent, { type: 'battery.fault' | 'battery.ok' }>
  | SequenceEvent
  | { type: 'cp.ready' }
  | { type: 'cp.evseConnected' }
  | { type: 'cp.evseDisconnected' }
  | { type: 'cp.failed'; error: string }
  | { type: 'cp.stopped' }
  | SlacToParent
  | LivenessEvent
  | EvStopEvent
  | ModuleSessionEndEvent
  | ModuleEndUnseenEvent
  /** The session's Stop Charging went unanswered (v2g-ev-session `stopping`): it is owed still. */
  | { type: 'session.stopChargingOwed' }
  | { type: 'owedStop.done'; notes: string[]; stopChargingOwed: boolean };

export interface EvStationContext extends EvStationInput {
  firmware?: string;
  cpReady: boolean;
  slacReady: boolean;
  evsePresent: boolean;
  /** The battery may be charged: always when simulated; an external one once it reported ok. */
  batteryReady: boolean;
  sessions: number;
  failure?: string;
  lastRecord?: SessionRecord;
  /**
   * The session was cut short while the module may have been charging (Start Charging sent, energy
   * transfer not over): setting the module up again stops it first (v2g-ev/stop.ts), with Stop
   * Charging if `stopChargingOwed`.
   */
  chargingCut?: boolean;
  /**
   * station-common.ts: a cut session's Stop Charging still owed (not sent by the session, or
   * unanswered): sent by the lost module's stop, the clean-up after it or the shutdown, once.
   */
  stopChargingOwed?: boolean;
  stopWire?: StopChargingWire;
  /**
   * The EVSE offered high-level communication again (5 %) after its departure aborted the
   * session, while the session waited for its module's end (v2g-ev/abort.ts): that offer is a
   * new one, taken once the session has ended, not one to wait out.
   */
  evseOfferedAgain?: boolean;
  /**
   * The session was cut (module lost) after Start Session and before its module reported the
   * end: setting the module up again waits for that end first (v2g-ev/abort.ts), as an abort does.
   */
  moduleSessionOpen?: boolean;
  /**
   * The session ended without seeing its module's end (watchdog, unconfirmed start) or was cut
   * with its module's session open: the bound on the wait for that end (v2g-ev/session-end-wait.ts).
   */
  moduleEndWaitMs?: number;
}

const cleanupSteps = (): HciStep[] => [
  { text: 'Stop session (stale V2G state)', def: V2g.EvStopSession, tolerate: STALE, bestEffort: true },
  { text: 'Stop SLAC (stale state)', def: Slac.StopSlac, tolerate: STALE, bestEffort: true },
  { text: 'Stop the CP service (stale state)', def: ControlPilot.Stop, tolerate: STALE, bestEffort: true },
];

/** After the Stop Charging still owed, if any (endStates). */
const shutdownSteps = (): HciStep[] => [
  { text: 'Stop session', def: V2g.EvStopSession, bestEffort: true },
  { text: 'Set the CP state to State B', def: ControlPilot.SetResistorLevel, fields: { level: 0 }, bestEffort: true },
  { text: 'Stop SLAC', def: Slac.StopSlac, bestEffort: true },
  { text: 'Stop the CP service', def: ControlPilot.Stop, bestEffort: true },
];

/**
 * As on the EVSE station, `running` watches the module (runningCommon, machines/liveness.ts): a
 * module that dies or restarts in any phase is noticed within 2 s; the battery stops taking
 * current, a session in progress is recorded (moduleNotResponding), the CP goes back to state B
 * and the module is initialised again (one still silent then fails the set-up, tried again later).
 */
const evRunning = runningCommon('EV');

/** After a session whose module's end was not seen (watchdog, unconfirmed start), before the next. */
const endedSessionWait = moduleSessionEndWait({ target: 'afterSession', onEnd: [], who: "The ended session's module" });

export const evStationMachine = setup({
  types: {
    input: {} as EvStationInput,
    context: {} as EvStationContext,
    events: {} as EvStationEvent,
    emitted: {} as StationEmitted,
  },
  actors: {
    hciSequence,
    evStop,
    moduleSessionEnd,
    owedStopCharging: owedStopCharging((client) => client.request(V2g.EvStopCharging, { renegotiation: false })),
    liveness: livenessWatch,
    battery: batteryMachine,
    cp: controlPilotEvMachine,
    slac: slacMachine,
    session: v2gEvSessionMachine,
  },
  actions: {
    ...stationActions<EvStationContext, EvStationEvent, EvSessionContext>('EV', evSessionRecord, (session) => session.stopChargingSent && session.stopChargingUnanswered !== true),
    ...setUpRetryActions<EvStationContext, EvStationEvent>('EV'),
    forgetEvse: assign({ evsePresent: false }),
    sample: emit(({ event }) => {
      const s = event as BatterySample;
      return { type: 'sample' as const, station: 'EV' as const, at: s.at, voltageV: s.voltageV, currentA: s.currentA, powerW: s.voltageV * s.currentA, socPercent: s.socPercent, energyWh: s.energyWh };
    }),
    batteryOff: sendTo('battery', { type: 'battery.charging', on: false }),
    /**
     * The module is set up again from scratch. After the stop of a session cut while charging,
     * `owedStopDone` (run next) keeps Stop Charging owed if it went unanswered; after Stop
     * Session alone (cut before charging) nothing is owed (issue 12 item 12).
     */
    moduleStopped: assign({ cpReady: false, slacReady: false, evsePresent: false, chargingCut: undefined, stopChargingOwed: false, moduleSessionOpen: undefined, moduleEndWaitMs: undefined }),
    /** As `moduleStopped`, after `sessionEnd`: a Stop Charging still owed by the stop before it stays owed. */
    moduleSessionWaited: assign({ cpReady: false, slacReady: false, evsePresent: false, chargingCut: undefined, moduleSessionOpen: undefined, moduleEndWaitMs: undefined }),
    batteryNewSession: sendTo('battery', { type: 'battery.reset' }),
    slacStart: sendTo('slac', { type: 'slac.start' }),
    slacMatch: sendTo('slac', { type: 'slac.match' }),
    abortSession: sendTo('session', { type: 'session.abort', reason: 'evseDisconnected' }),
    stopChargingNow: sendTo('session', { type: 'session.stopCharging', reason: 'userRequest' }),
    batteryFault: enqueueActions(({ enqueue, event }) => {
      const e = event as Extract<EvBatteryLinkEvent, { type: 'battery.fault' }>;
      enqueue.assign({ batteryReady: false });
      enqueue.emit(logEvent('EV', `Battery fault (${e.reason}: ${e.detail}): requesting 0 A, no charging until it reports ok`, 'error').event);
    }),
    batteryOk: enqueueActions(({ enqueue }) => {
      enqueue.assign({ batteryReady: true });
      enqueue.emit(logEvent('EV', 'Battery ok').event);
    }),
    /** On leaving the session state: a session cut short in energy transfer owes the module a stop. */
    noteChargingCut: assign(({ system }) => {
      const snap = (system.get('session') as ActorRefFrom<typeof v2gEvSessionMachine> | undefined)?.getSnapshot();
      if (snap?.status !== 'active') return {};
      const inTransfer = snap.matches({ session: 'charging' }) || snap.matches({ session: 'startRequested' }) || snap.matches('stopping');
      if (inTransfer) return { chargingCut: true };
      // Before charging: a module that took Start Session runs its session until it reports the end.
      const started = snap.matches('session') || snap.matches('aborting') || snap.context.startSessionSent === true;
      // A start the module never confirmed (its answer outstanding, or no Session Started after a refusal): the shorter wait.
      const c = snap.context;
      return started ? { moduleSessionOpen: true, moduleEndWaitMs: c.moduleEndBoundMs ?? moduleEndBoundMs(startConfirmed(c, snap.matches('configuring'))) } : {};
    }),
    /** Safety: Stop Charging while energy flows, else the session ends (Stop Session). */
    stopForBattery: enqueueActions(({ enqueue, event, system }) => {
      const reason = (event as Extract<EvBatteryLinkEvent, { type: 'battery.fault' }>).reason;
      const session = system.get('session') as ActorRefFrom<typeof v2gEvSessionMachine> | undefined;
      if (!session) return;
      const charging = session.getSnapshot().matches({ session: 'charging' });
      enqueue.sendTo(session, charging ? { type: 'session.stopCharging', reason } : { type: 'session.abort', reason });
    }),
  },
  delays: { ...setUpDelays, evseGoneGrace: 2000, moduleSessionEndBound },
  guards: {
    ...stationGuards,
    ...setUpGuards,
    allReady: ({ context }) => context.cpReady && context.slacReady,
    evsePresent: ({ context }) => context.evsePresent,
    evseAndBattery: ({ context }) => context.evsePresent && context.batteryReady,
  },
}).createMachine({
  id: 'evStation',
  context: ({ input }) => ({
    ...input,
    cpReady: false,
    slacReady: false,
    evsePresent: false,
    batteryReady: input.battery === undefined,
    sessions: 0,
    stopWire: new StopChargingWire(input.client, input.clock, 'EvStopCharging'),
  }),
  invoke: {
    id: 'battery',
    src: 'battery',
    systemId: 'battery',
    input: ({ context }) => ({
      clock: context.clock,
      config: context.config.battery,
      sampleMs: context.config.battery.timestepMs,
      ...(context.battery ? { external: context.battery } : {}),
    }),
  },
  on: {
    'station.emit': { actions: 'reemit' },
    'hci.tolerated': { actions: 'logTolerated' },
    'battery.sample': { actions: 'sample' },
    'battery.fault': { actions: 'batteryFault' },
    'battery.ok': { actions: 'batteryOk' },
    'cp.evseConnected': { actions: assign({ evsePresent: true }) },
    'cp.evseDisconnected': { actions: assign({ evsePresent: false }) },
  },
  initial: 'initialising',
  states: {
    initialising: initialisingState('evStation', cleanupSteps, { src: 'evStop', done: 'evStop.done' }),
    running: {
      ...evRunning,
      initial: 'starting',
      states: {
        starting: { always: { guard: 'allReady', target: 'waitingForEvse', actions: 'setUpDone' } },
        waitingForEvse: {
          entry: { type: 'phase', params: { phase: 'waitingForVehicle' } },
          always: { guard: 'evseAndBattery', target: 'slac' },
          on: { 'cp.evseConnected': { guard: ({ context }) => context.batteryReady, target: 'slac', actions: assign({ evsePresent: true }) } },
        },
        slac: {
          entry: [{ type: 'phase', params: { phase: 'slac' } }, 'slacMatch'],
          on: {
            'slac.matched': 'session',
            'slac.failed': [...slacSetUpFailed('#evStation.'), { target: 'afterSession' }],
            'cp.evseDisconnected': { target: 'waitingForEvse', actions: assign({ evsePresent: false }) },
          },
        },
        session: {
          // A Stop Charging still owed from a previous session is moot once the module runs a new one.
          entry: ['batteryNewSession', 'stopWireNewSession', assign({ chargingCut: undefined, stopChargingOwed: false, evseOfferedAgain: undefined, moduleEndWaitMs: undefined })],
          exit: ['noteChargingCut', 'sessionInterrupted'],
          invoke: {
            id: 'session',
            src: 'session',
            systemId: 'session',
            // A station gives a new session a fresh random ID (ISO 15118-2): the previous session's
            // ID again means the car resumed it (pause and resume, docs/service.md).
            input: ({ context }) => ({
              client: context.client,
              clock: context.clock,
              config: context.config,
              ...(context.lastRecord?.sessionId ? { resumeSessionId: context.lastRecord.sessionId } : {}),
            }),
            onDone: [
              // The module's end not seen (watchdog, unconfirmed start): wait for it before configuring again.
              { guard: ({ context }) => context.moduleEndWaitMs !== undefined, target: 'moduleSessionEnd', actions: 'sessionEnded' },
              { target: 'afterSession', actions: 'sessionEnded' },
            ],
          },
          on: {
            stopCharging: { actions: 'stopChargingNow' },
            // Owed also after the session ends by itself: a lost module gets it once back (reinitialising).
            'session.stopChargingOwed': { actions: assign({ stopChargingOwed: true }) },
            'session.moduleEndUnseen': { actions: assign({ moduleEndWaitMs: ({ event }) => event.boundMs }) },
            'battery.fault': { actions: ['batteryFault', 'stopForBattery'] },
            renegotiate: { actions: sendTo('session', { type: 'session.renegotiate', reason: 'userRequest' }) },
          },
          initial: 'active',
          states: {
            active: {
              on: { 'cp.evseDisconnected': { target: 'evseGone', actions: assign({ evsePresent: false }) } },
            },
            // The EVSE left high-level communication (100 % or unplugged). Its module usually
            // reports the end of the session just after; abort only if it does not.
            evseGone: {
              on: { 'cp.evseConnected': { target: 'active', actions: assign({ evsePresent: true }) } },
              after: { evseGoneGrace: { target: 'aborted', actions: 'abortSession' } },
            },
            // The session may outlive the abort (its module refused Stop Session, v2g-ev/abort.ts).
            aborted: {
              on: { 'cp.evseConnected': { actions: assign({ evsePresent: true, evseOfferedAgain: true }) } },
            },
          },
        },
        // The session ended with its module's session maybe running on (v2g-ev/session-end-wait.ts):
        // no configuration before it ended. An EVSE offering 5 % meanwhile is served after.
        moduleSessionEnd: {
          entry: 'batteryOff',
          exit: assign({ moduleEndWaitMs: undefined }),
          ...endedSessionWait,
          on: {
            ...endedSessionWait.on,
            'cp.evseConnected': { actions: assign({ evsePresent: true, evseOfferedAgain: true }) },
          },
        },
        afterSession: {
          entry: 'batteryOff',
          always: [{ guard: ({ context }) => context.evsePresent && context.evseOfferedAgain !== true, target: 'waitingForEvseToLeave' }, { target: 'waitingForEvse' }],
        },
        // The EVSE's leave is re-read while waited for: a lost 100 % left the station here for good.
        waitingForEvseToLeave: {
          entry: sendTo('cp', { type: 'cp.watchLeave', on: true }),
          exit: sendTo('cp', { type: 'cp.watchLeave', on: false }),
          always: { guard: ({ context }) => !context.evsePresent, target: 'waitingForEvse' },
          on: { 'cp.evseDisconnected': { target: 'waitingForEvse', actions: assign({ evsePresent: false }) } },
        },
      },
    },
    // The battery takes no current; CP state B and no session before the module is set up again.
    // A session cut short while charging is stopped first, as the session itself would (Stop
    // Charging, Post Charging Ready, Stop Session): the module refuses Stop Session in the charge
    // loop (0x11) and goes on charging (fuzz seed 684, where the silence was a lost Ping Reply).
    reinitialising: {
      entry: ['batteryOff', { type: 'log', params: { text: 'Module lost its state: initialising it again', level: 'warn' } }],
      initial: 'cp',
      states: {
        cp: {
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({ client: context.client, steps: [{ text: 'Set the CP state to State B', def: ControlPilot.SetResistorLevel, fields: { level: 0 }, bestEffort: true }] }),
          },
          on: {
            'hci.sequenceDone': [
              { guard: ({ context }) => context.chargingCut === true || context.stopChargingOwed === true, target: 'stopping' },
              { guard: ({ context }) => context.moduleSessionOpen === true, target: 'sessionEnd' },
              { target: 'session' },
            ],
          },
        },
        stopping: {
          entry: { type: 'log', params: { text: 'The session was cut short while charging: stopping it' } },
          invoke: {
            src: 'evStop',
            input: ({ context }) => ({ client: context.client, clock: context.clock, stopCharging: context.stopChargingOwed === true, wire: context.stopWire }),
          },
          // A module silent through this stop may still be charging: its Stop Charging stays owed
          // and goes first once it answers again (initialising, `owedStop`).
          on: {
            'evStop.done': [
              // Refused before charging (the module in authorization, say): wait for its session's end.
              {
                guard: ({ context, event }) => context.moduleSessionOpen === true && event.stopSessionRefused && !event.sessionEnded,
                target: 'sessionEnd',
                actions: ['logStopNotes', 'owedStopDone'],
              },
              { target: '#evStation.initialising', actions: ['logStopNotes', 'moduleStopped', 'owedStopDone'] },
            ],
          },
        },
        // Cut after Start Session, before charging: a module judged lost on one missing Ping Reply
        // may be running that session still, refusing Stop Session (fuzz seeds 211969 237380);
        // configured again, it refused each command while the session went on. Wait for its end.
        sessionEnd: moduleSessionEndWait({ target: '#evStation.initialising', onEnd: ['moduleSessionWaited'], who: "The cut session's module" }),
        session: {
          invoke: { src: 'hciSequence', input: ({ context }) => ({ client: context.client, steps: [{ def: V2g.EvStopSession, bestEffort: true }] }) },
          on: { 'hci.sequenceDone': { target: '#evStation.initialising', actions: 'moduleStopped' } },
        },
      },
      on: {
        'hci.step': { actions: 'logStep' },
        shutdown: 'shuttingDown',
      },
    },
    setUpRetry: setUpRetryState('evStation', 'batteryOff', 'forgetEvse'),
    ...endStates('evStation', 'batteryOff', shutdownSteps, { src: 'owedStopCharging', done: 'owedStop.done' }),
  },
});
