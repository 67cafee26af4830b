/**
 * Control Pilot, EV side (manual 15, 21.9): configure the CP as EV, start it, switch in the
 * state B resistor and watch the EVSE's PWM. A duty cycle between 0.1 % and 10 % (the reference's
 * window; 5 % nominal) means an EVSE offering ISO 15118 communication.
 * The station switches state C in for energy transfer (`cp.resistor`).
 *
 * To the parent: cp.ready, cp.evseConnected, cp.evseDisconnected, cp.failed, cp.stopped, station.emit.
 */
import { type AnyActorRef, assign, enqueueActions, sendParent, setup } from 'xstate';
import { ControlPilot } from '../codec/modules/control-pilot.js';
import type { Clock } from '../util/clock.js';
import { type CommanderEvent, type SequenceEvent, SET_COMMAND_RESENDS, UNEXPECTED_MESSAGE, hciCommander, hciSequence, hciStatus, hciChildren, sendCommand } from './hci-actors.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { logEvent } from './station-events.js';
import { REREAD_AFTER_MS, type StateRereadInput, stateReread } from './state-reread.js';

export interface CpEvInput {
  client: HciClient;
  clock: Clock;
}

/**
 * `cp.watchLeave`: the station waits for the EVSE to leave high-level communication (100 % or
 * unplugged) and asks for a re-read of the duty cycle while it waits (see `connected`).
 */
export type CpEvCommand = { type: 'cp.resistor'; level: 'B' | 'C' } | { type: 'cp.stop' } | { type: 'cp.watchLeave'; on: boolean };

/**
 * To the EV session (a sibling, through the actor system): the module took the resistor level
 * (its Set Resistor Level answered), so the CP line shows that state now. The session waits for
 * state C before Start Charging (ISO 15118-2 [V2G2-847], v2g-ev-session.ts `closingS2`).
 */
export type CpResistorSet = { type: 'cp.resistorSet'; level: 'B' | 'C' };
/** Internal: the module answered the Set Resistor Level sent for `level`. */
type ResistorAnswered = { type: 'cp.resistorAnswered'; level: 'B' | 'C' };

/** 15.4.7: resistor levels. */
const RESISTOR = { B: 0, C: 1 } as const;

/** The reference's test: 0.1 % < duty < 10 %. */
export const hlcDutyCycle = (permill: number): boolean => permill > 1 && permill < 100;

type Done = Extract<SequenceEvent, { type: 'hci.sequenceDone' }>;
const polledDuty = (e: unknown): number => Number((e as Done).responses.duty?.dutyCyclePermill);
const statusDuty = (e: unknown): number => Number((e as StatusEvent).fields.dutyCyclePermill);

/** Waiting for 5 %, Get PWM duty cycle (15.4.6) is re-read: a lost Duty Cycle Changed left the EV waiting while the EVSE ran SLAC (fuzz seed 200065). */
const dutyReread = (c: CpEvInput): StateRereadInput => ({
  client: c.client,
  clock: c.clock,
  periodMs: REREAD_AFTER_MS,
  def: ControlPilot.GetDutyCycle,
  toStatus: (r) => ({ type: 'ControlPilot.DutyCycleChanged', module: 'ControlPilot', message: 'DutyCycleChanged', fields: { dutyCyclePermill: Number(r.dutyCyclePermill) } }),
});

export const controlPilotEvMachine = setup({
  types: {
    input: {} as CpEvInput,
    /**
     * `level`: the resistor asked for last (a request for the same level sends nothing);
     * `confirmed`: the level the module took last (its answer came).
     */
    context: {} as CpEvInput & { dutyPermill?: number; level?: 'B' | 'C'; confirmed?: 'B' | 'C'; watchLeave?: boolean },
    events: {} as CpEvCommand | ResistorAnswered | SequenceEvent | CommanderEvent | StatusEvent,
  },
  actors: { hciSequence, hciCommander, hciStatus, stateReread },
  actions: {
    logStep: sendParent(({ event }) => logEvent('EV', (event as { text: string }).text)),
    rememberDuty: assign({ dutyPermill: ({ event }) => statusDuty(event) }),
    setWatchLeave: assign({ watchLeave: ({ event }) => (event as Extract<CpEvCommand, { type: 'cp.watchLeave' }>).on }),
    logWaiting: sendParent(logEvent('EV', 'Wait until an EVSE connects')),
    logConnected: sendParent(logEvent('EV', 'EVSE connected')),
    logDisconnected: sendParent(logEvent('EV', 'EVSE left high-level communication')),
    reportReady: sendParent({ type: 'cp.ready' }),
    reportConnected: sendParent({ type: 'cp.evseConnected' }),
    reportDisconnected: sendParent({ type: 'cp.evseDisconnected' }),
    reportFailed: sendParent(({ event }) => ({ type: 'cp.failed', error: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message })),
    reportStopped: sendParent({ type: 'cp.stopped' }),
    setResistor: enqueueActions(({ enqueue, self, event }) => {
      const level = (event as Extract<CpEvCommand, { type: 'cp.resistor' }>).level;
      enqueue.assign({ level, confirmed: undefined });
      enqueue.sendParent(logEvent('EV', `Change State to State ${level}`));
      // Sent again when its answer is lost (SET_COMMAND_RESENDS): the EVSE waits for state C to switch on.
      const onAnswer = (): void => self.send({ type: 'cp.resistorAnswered', level });
      sendCommand(enqueue, self, { type: 'hci.send', tag: 'resistor', def: ControlPilot.SetResistorLevel, fields: { level: RESISTOR[level] }, resendOnTimeout: SET_COMMAND_RESENDS, onAnswer });
    }),
    /** The level the module took, to the session (an answer for a level no longer asked for is stale). */
    resistorSet: enqueueActions(({ enqueue, context, event, system }) => {
      const level = (event as ResistorAnswered | Extract<CpEvCommand, { type: 'cp.resistor' }>).level;
      if (context.level !== level) return;
      enqueue.assign({ confirmed: level });
      const session = system.get('session') as AnyActorRef | undefined;
      if (session) enqueue.sendTo(session, { type: 'cp.resistorSet', level } satisfies CpResistorSet);
    }),
    logCommandFailure: sendParent(({ event }) => logEvent('EV', `Warning: ${(event as Extract<CommanderEvent, { type: 'hci.failed' }>).error.message}`, 'warn')),
  },
  guards: {
    polledHlc: ({ event }) => hlcDutyCycle(polledDuty(event)),
    eventHlc: ({ event }) => hlcDutyCycle(statusDuty(event)),
    /** A (no EVSE voltage) or E (no CP at all): the cable is out. */
    cableOut: ({ event }) => [0, 4].includes(Number((event as StatusEvent).fields.state)),
  },
}).createMachine({
  id: 'controlPilotEv',
  context: ({ input }) => ({ ...input }),
  invoke: [...hciChildren(['ControlPilot'])],
  on: {
    'hci.failed': { actions: 'logCommandFailure' },
    // Charging Stopped and Session Stopped both ask for B: one command, one line. A level the
    // module already took is confirmed to the session at once (nothing sent).
    'cp.resistor': [
      { guard: ({ context, event }) => context.level !== event.level, actions: 'setResistor' },
      { guard: ({ context, event }) => context.confirmed === event.level, actions: 'resistorSet' },
    ],
    'cp.resistorAnswered': { actions: 'resistorSet' },
    'cp.watchLeave': { actions: 'setWatchLeave' },
    'cp.stop': '.stopping',
  },
  initial: 'configuring',
  states: {
    configuring: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: [
            { text: 'Set the CP mode to EV', def: ControlPilot.SetMode, fields: { mode: 0 } },
            // 0x05: already running, i.e. a Start resent after a lost answer got through the first time.
            { text: 'Start the CP service', def: ControlPilot.Start, fields: {}, tolerate: [UNEXPECTED_MESSAGE] },
            { text: 'Set the CP state to State B', def: ControlPilot.SetResistorLevel, fields: { level: RESISTOR.B } },
            { def: ControlPilot.GetDutyCycle, fields: {}, keep: 'duty' },
          ],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': [
          { guard: 'polledHlc', target: 'connected', actions: [assign({ level: 'B' as const, confirmed: 'B' as const }), 'reportReady', 'logConnected'] },
          { target: 'waiting', actions: [assign({ level: 'B' as const, confirmed: 'B' as const }), 'reportReady'] },
        ],
        'hci.sequenceFailed': { target: 'failed', actions: 'reportFailed' },
      },
    },
    waiting: {
      entry: 'logWaiting',
      invoke: { src: 'stateReread', input: ({ context }) => dutyReread(context) },
      on: {
        'ControlPilot.DutyCycleChanged': [{ guard: 'eventHlc', target: 'connected', actions: ['rememberDuty', 'logConnected'] }, { actions: 'rememberDuty' }],
      },
    },
    /**
     * The EVSE offers high-level communication. Its leaving (100 % at a session's end, unplugged)
     * is one Duty Cycle Changed; lost, the EV host waited for good after the session for an EVSE
     * that had left (`waitingForEvseToLeave`, station-ev.ts) and missed its next 5 %, which the
     * module reports as no change. So while the station waits for the leave (`cp.watchLeave`),
     * Get PWM duty cycle is re-read as in `waiting` (a read of 0 %, unplugged, is a leave too). Not
     * in a running session: there the V2G module's own end (Session Stopped, its timeouts) ends it,
     * and the EVSE's return to 5 % while the station waits is re-read in `waiting`. Nothing is sent
     * when nothing is waited for.
     */
    connected: {
      entry: 'reportConnected',
      initial: 'pick',
      states: {
        pick: { always: [{ guard: ({ context }) => context.watchLeave === true, target: 'rereading' }, { target: 'resting' }] },
        resting: {},
        rereading: { invoke: { src: 'stateReread', input: ({ context }) => dutyReread(context) } },
      },
      on: {
        'cp.watchLeave': { target: '.pick', actions: 'setWatchLeave' },
        'ControlPilot.DutyCycleChanged': [
          { guard: 'eventHlc', actions: 'rememberDuty' },
          { target: 'waiting', actions: ['rememberDuty', 'logDisconnected', 'reportDisconnected'] },
        ],
        'ControlPilot.StateChanged': { guard: 'cableOut', target: 'waiting', actions: ['logDisconnected', 'reportDisconnected'] },
      },
    },
    stopping: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: [
            { def: ControlPilot.SetResistorLevel, fields: { level: RESISTOR.B }, bestEffort: true },
            { text: 'Stop the CP service', def: ControlPilot.Stop, fields: {}, tolerate: [UNEXPECTED_MESSAGE] },
          ],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': 'stopped',
        'hci.sequenceFailed': 'stopped',
        'cp.stop': {},
        'cp.resistor': {},
      },
    },
    stopped: { type: 'final', entry: 'reportStopped' },
    failed: { type: 'final' },
  },
});
