/**
 * Control Pilot, EVSE side (manual 15, 21.2): configure the CP as EVSE with a 100 % duty cycle
 * (state X1), start it, and report vehicles coming and going from the measured CP state.
 * The station asks for 5 % (`cp.hlc`, ISO 15118 high-level communication) once SLAC matching
 * runs, and for 100 % again (`cp.idle`) after the session. The state comes from State Changed
 * (15.5.2) and, so that one lost notification strands nothing, from Get State (15.4.9) re-read
 * in every state that waits on it: with or without a car (issue 12 item 13).
 *
 * To the parent: cp.ready, cp.vehicleConnected, cp.vehicleDisconnected, cp.s2 (the vehicle opened
 * or closed S2: B <-> C/D while connected), cp.failed, station.emit.
 */
import { and, assign, enqueueActions, sendParent, setup } from 'xstate';
import { ControlPilot, CP_STATES } from '../codec/modules/control-pilot.js';
import type { Clock } from '../util/clock.js';
import { type CommanderEvent, type SequenceEvent, SET_COMMAND_RESENDS, hciCommander, hciSequence, hciStatus, UNEXPECTED_MESSAGE, hciChildren, sendCommand } from './hci-actors.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { logEvent } from './station-events.js';
import { CAR_WAIT_REREAD_MS, cpStatePollInput } from './cp-state-poll.js';
import { REREAD_AFTER_MS, stateReread } from './state-reread.js';

export interface CpEvseInput {
  client: HciClient;
  clock: Clock;
  /** Poll Get State this often: firmware without StateChanged (module-quirks.ts, Sevenstax/FreeV2G#90). */
  pollStateMs?: number;
}

export type CpEvseCommand =
  | { type: 'cp.hlc' }
  | { type: 'cp.idle' }
  | { type: 'cp.stop' }
  /**
   * From the session: the car should close S2 now (Start Charging Requested, ISO 15118-2
   * [V2G2-847]); read the state back every S2_REREAD_MS until `cp.unwatchS2`, so that a lost
   * State Changed C does not look like a car that stays in B.
   */
  | { type: 'cp.watchS2' }
  | { type: 'cp.unwatchS2' };

/** Inside [V2G2-847]'s 250 ms, so that the first read's answer is in when the session judges the car late. */
export const S2_REREAD_MS = 200;
/** What the CP machine reports to its station (sendParent). */
export type CpToParent =
  | { type: 'cp.ready' }
  | { type: 'cp.vehicleConnected' }
  | { type: 'cp.vehicleDisconnected' }
  /** The vehicle's S2 (IEC 61851-1): open in B, closed in C/D. Sent when it changes while connected. */
  | { type: 'cp.s2'; closed: boolean }
  | { type: 'cp.failed'; error: string }
  | { type: 'cp.stopped' };

/** Duty cycles in permill (15.4.5): 100 % = no PWM (X1), 5 % = digital communication. */
export const DUTY_IDLE_PERMILL = 1000;
export const DUTY_HLC_PERMILL = 50;

// Sent again when its answer is lost (SET_COMMAND_RESENDS): the EV only starts SLAC on seeing 5 %.
const dutyCycle = (dutyCyclePermill: number) => ({ type: 'hci.send', tag: 'duty', def: ControlPilot.SetDutyCycle, fields: { dutyCyclePermill }, resendOnTimeout: SET_COMMAND_RESENDS }) as const;

/** Waiting for a car, the state is re-read on any firmware: a lost StateChanged left a plugged-in car unseen (fuzz seed 200035). */
const waitInput = (c: CpEvseInput) => cpStatePollInput({ client: c.client, clock: c.clock, periodMs: c.pollStateMs ?? CAR_WAIT_REREAD_MS });
/**
 * With a car connected the state is re-read too, one read at a time at the period of the phase
 * (`connected`'s child states): a lost State Changed A left the station waiting for an unplug, or
 * in a session, for good; a lost B <-> C was never seen. Firmware that sends no State Changed
 * (pollStateMs, Sevenstax/FreeV2G#90) is read at least that often in every phase.
 */
const connectedInput = (c: CpEvseInput, phaseMs: number) => cpStatePollInput({ client: c.client, clock: c.clock, periodMs: c.pollStateMs === undefined ? phaseMs : Math.min(phaseMs, c.pollStateMs) });

const stateName = (n: number): string => CP_STATES[n] ?? `unknown(${n})`;
/** B, C or D: a vehicle's resistor is on the line. */
const vehiclePresent = (n: number | undefined): boolean => n === 1 || n === 2 || n === 3;
/** C or D: the vehicle closed S2, it asks for energy (IEC 61851-1 state table). */
const s2Closed = (n: number | undefined): boolean => n === 2 || n === 3;

export const controlPilotEvseMachine = setup({
  types: {
    input: {} as CpEvseInput,
    context: {} as CpEvseInput & { cpState?: number },
    events: {} as CpEvseCommand | SequenceEvent | CommanderEvent | StatusEvent,
  },
  actors: { hciSequence, hciCommander, hciStatus, cpStatePoll: stateReread },
  actions: {
    logStep: sendParent(({ event }) => logEvent('EVSE', (event as { text: string }).text)),
    rememberState: assign({ cpState: ({ event }) => Number((event as StatusEvent).fields.state) }),
    rememberPolledState: assign({
      cpState: ({ event }) => Number((event as Extract<SequenceEvent, { type: 'hci.sequenceDone' }>).responses.state?.state),
    }),
    logAlreadyConnected: sendParent(logEvent('EVSE', 'EV already connected')),
    logWaiting: sendParent(logEvent('EVSE', 'Wait until an EV connects')),
    logConnected: sendParent(logEvent('EVSE', 'EV connected')),
    logDisconnected: sendParent(logEvent('EVSE', 'EV disconnected')),
    logWrongState: sendParent(({ context }) => logEvent('EVSE', `CP in wrong state: ${stateName(context.cpState ?? 6)}`, 'warn')),
    reportReady: sendParent({ type: 'cp.ready' }),
    reportConnected: sendParent({ type: 'cp.vehicleConnected' }),
    reportDisconnected: sendParent({ type: 'cp.vehicleDisconnected' }),
    reportS2: sendParent(({ event }) => ({ type: 'cp.s2' as const, closed: s2Closed(Number((event as StatusEvent).fields.state)) })),
    reportFailed: sendParent(({ event }) => ({
      type: 'cp.failed',
      error: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message,
    })),
    reportStopped: sendParent({ type: 'cp.stopped' }),
    setHlc: enqueueActions(({ enqueue, self }) => {
      enqueue.sendParent(logEvent('EVSE', 'Set duty cycle to 5%'));
      sendCommand(enqueue, self, dutyCycle(DUTY_HLC_PERMILL));
    }),
    setIdle: enqueueActions(({ enqueue, self }) => {
      enqueue.sendParent(logEvent('EVSE', 'Set the CP duty cycle to 100%'));
      sendCommand(enqueue, self, dutyCycle(DUTY_IDLE_PERMILL));
    }),
    logCommandFailure: sendParent(({ event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      return logEvent('EVSE', `Warning: ${e.error.message}`, 'warn');
    }),
  },
  guards: {
    polledVehiclePresent: ({ event }) => vehiclePresent(Number((event as Extract<SequenceEvent, { type: 'hci.sequenceDone' }>).responses.state?.state)),
    eventVehiclePresent: ({ event }) => vehiclePresent(Number((event as StatusEvent).fields.state)),
    eventStateA: ({ event }) => Number((event as StatusEvent).fields.state) === 0,
    /** B <-> C/D: the vehicle opened or closed S2 (before `rememberState`). */
    s2Changed: ({ context, event }) => s2Closed(Number((event as StatusEvent).fields.state)) !== s2Closed(context.cpState),
  },
}).createMachine({
  id: 'controlPilotEvse',
  context: ({ input }) => ({ ...input }),
  invoke: [...hciChildren(['ControlPilot'])],
  on: {
    'hci.failed': { actions: 'logCommandFailure' },
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
            { text: 'Set the CP mode to EVSE', def: ControlPilot.SetMode, fields: { mode: 1 } },
            { text: 'Set the CP duty cycle to 100%', def: ControlPilot.SetDutyCycle, fields: { dutyCyclePermill: DUTY_IDLE_PERMILL } },
            // 0x05: already running, i.e. a Start resent after a lost answer got through the first time.
            { text: 'Start the CP service', def: ControlPilot.Start, fields: {}, tolerate: [UNEXPECTED_MESSAGE] },
            { def: ControlPilot.GetState, fields: {}, keep: 'state' },
          ],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': [
          { guard: 'polledVehiclePresent', target: 'connected', actions: ['rememberPolledState', 'reportReady', 'logAlreadyConnected'] },
          { target: 'waiting', actions: ['rememberPolledState', 'reportReady'] },
        ],
        'hci.sequenceFailed': { target: 'failed', actions: 'reportFailed' },
        'ControlPilot.StateChanged': { actions: 'rememberState' },
      },
    },
    waiting: {
      entry: 'logWaiting',
      invoke: { src: 'cpStatePoll', input: ({ context }) => waitInput(context) },
      on: {
        'ControlPilot.StateChanged': [{ guard: 'eventVehiclePresent', target: 'connected', actions: ['rememberState', 'logConnected'] }, { actions: 'rememberState' }],
        'cp.idle': { actions: 'setIdle' },
      },
    },
    connected: {
      entry: 'reportConnected',
      on: {
        'ControlPilot.StateChanged': [
          { guard: 'eventStateA', target: 'waiting', actions: ['rememberState', 'logDisconnected', 'setIdle', 'reportDisconnected'] },
          // The station switches the output off when the vehicle opens S2 while energy flows.
          { guard: and(['eventVehiclePresent', 's2Changed']), actions: ['rememberState', 'reportS2'] },
          { guard: 'eventVehiclePresent', actions: 'rememberState' },
          // E/F (short circuit, EVSE fault): no vehicle we can talk to; treat as a disconnect.
          { target: 'waiting', actions: ['rememberState', 'logWrongState', 'reportDisconnected'] },
        ],
        'cp.hlc': { actions: 'setHlc' },
        'cp.idle': { actions: 'setIdle' },
      },
      /**
       * The re-read of the state by phase, one Get State at a time: 100 % (a car plugged in
       * before or after its session, a paused one) every CAR_WAIT_REREAD_MS, the host at rest as
       * while waiting for a car; 5 % (SLAC, the session) every REREAD_AFTER_MS, where a lost
       * C -> B must stop the output (IEC 61851-1) and a lost A end the session; watching S2 every
       * S2_REREAD_MS ([V2G2-847]). A phase change starts the next phase's read afresh.
       */
      initial: 'idleDuty',
      states: {
        idleDuty: {
          invoke: { src: 'cpStatePoll', input: ({ context }) => connectedInput(context, CAR_WAIT_REREAD_MS) },
          on: { 'cp.hlc': { target: 'hlcDuty', actions: 'setHlc' }, 'cp.watchS2': 'watchingS2' },
        },
        hlcDuty: {
          invoke: { src: 'cpStatePoll', input: ({ context }) => connectedInput(context, REREAD_AFTER_MS) },
          on: { 'cp.idle': { target: 'idleDuty', actions: 'setIdle' }, 'cp.watchS2': 'watchingS2' },
        },
        // Only at 5 % in practice (Start Charging Requested), so it ends there.
        watchingS2: {
          invoke: { src: 'cpStatePoll', input: ({ context }) => connectedInput(context, S2_REREAD_MS) },
          on: { 'cp.unwatchS2': 'hlcDuty', 'cp.idle': { target: 'idleDuty', actions: 'setIdle' } },
        },
      },
    },
    stopping: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: [{ text: 'Stop the CP service', def: ControlPilot.Stop, fields: {}, tolerate: [UNEXPECTED_MESSAGE] }],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': 'stopped',
        'hci.sequenceFailed': 'stopped',
        'cp.stop': {},
      },
    },
    stopped: { type: 'final', entry: 'reportStopped' },
    failed: { type: 'final' },
  },
});
