/**
 * SLAC (manual 16, 21.3/21.4), either role: start the SLAC service once, then for every
 * plug-in run the matching process with a bounded number of attempts, each bounded in time.
 *
 * From the parent: slac.start, slac.match (a vehicle/EVSE is there), slac.stop.
 * To the parent: slac.ready, slac.matchingStarted {attempt}, slac.matched, slac.failed {reason},
 * slac.stopped, station.emit.
 */
import { assign, sendParent, setup } from 'xstate';
import { Slac, SlacState } from '../codec/modules/slac.js';
import type { Clock } from '../util/clock.js';
import type { SlacTiming } from './config.js';
import { type HciStep, type SequenceEvent, UNEXPECTED_MESSAGE, hciSequence, hciStatus } from './hci-actors.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { type StationRole, logEvent } from './station-events.js';
import { REREAD_AFTER_MS, type StateRereadInput, stateReread } from './state-reread.js';

export interface SlacInput {
  client: HciClient;
  clock: Clock;
  role: StationRole;
  timing: SlacTiming;
}

export type SlacCommand = { type: 'slac.start' } | { type: 'slac.match' } | { type: 'slac.stop' };

/** What the SLAC machine reports to its station (sendParent; its log lines come as station.emit). */
export type SlacToParent =
  | { type: 'slac.ready' }
  | { type: 'slac.matchingStarted'; attempt: number }
  | { type: 'slac.matched' }
  | { type: 'slac.failed'; reason: string; fatal?: boolean }
  | { type: 'slac.stopped' };

export interface SlacContext extends SlacInput {
  attempt: number;
  lastFailure?: string;
  /** A match was asked for while the service was still settling. */
  matchPending?: boolean;
  /** Start Matching of this attempt answered 0x10 (wrong state). */
  wrongState?: boolean;
  /** SLAC was restarted (stop + start) during this attempt already. */
  restarted?: boolean;
}

/** Slac 16.2: Stop SLAC answers 0x10 when SLAC is not running. */
const WRONG_STATE = 0x10;

/**
 * Start SLAC the role's way (also when restarting it). 0x10 (16.2, wrong state) is taken as
 * started: SLAC was stopped just before (the station's stale-state clean-up, or the restart's
 * Stop SLAC), so it answers a Start resent after a lost answer (fuzz seeds 200116, 200026: the
 * station stopped for good on it, in either role). A SLAC in a really wrong state still shows
 * at Start Matching (0x10, Get State, Stop + Start: Sevenstax/FreeV2G#47).
 */
const startSteps = (role: StationRole): HciStep[] =>
  role === 'EV'
    ? [
        { text: 'Set SLAC to EV mode', def: Slac.SetValidationConfiguration, fields: { enabled: false } },
        { text: 'Start SLAC', def: Slac.StartSlac, fields: { mode: 0 }, tolerate: [WRONG_STATE] },
      ]
    : [{ text: 'Start SLAC in EVSE mode', def: Slac.StartSlac, fields: { mode: 1 }, tolerate: [WRONG_STATE] }];

/** Get State's answer (16.4.6) by name or number, as the codec gives it. */
const isSlacState = (state: unknown, name: 'ready' | 'failure'): boolean => state === name || state === SlacState[name];

/**
 * Awaiting the result, Get State (16.4.6) is re-read: a lost SLAC Success left the EVSE matching
 * for its whole timeout while the EV, matched, started its V2G session and gave up on it (fuzz seed
 * 200104). Ready (0x05) stands for SLAC Success, failure (0x06) for SLAC Failed; the others for
 * nothing (still running).
 */
const resultReread = (c: SlacContext): StateRereadInput => ({
  client: c.client,
  clock: c.clock,
  periodMs: REREAD_AFTER_MS,
  def: Slac.GetState,
  toStatus: (r) => {
    if (isSlacState(r.state, 'ready')) return { type: 'Slac.SlacSuccess', module: 'Slac', message: 'SlacSuccess', fields: {} };
    if (isSlacState(r.state, 'failure')) return { type: 'Slac.SlacFailed', module: 'Slac', message: 'SlacFailed', fields: {} };
    return undefined;
  },
});

export const slacMachine = setup({
  types: {
    input: {} as SlacInput,
    context: {} as SlacContext,
    events: {} as SlacCommand | SequenceEvent | StatusEvent,
  },
  actors: { hciSequence, hciStatus, stateReread },
  delays: {
    startDelay: ({ context }) => context.timing.startDelayMs,
    matchTimeout: ({ context }) => context.timing.matchTimeoutMs,
    evMatchDelay: ({ context }) => context.timing.evMatchDelayMs,
  },
  actions: {
    logStep: sendParent(({ context, event }) => logEvent(context.role, (event as { text: string }).text)),
    reportReady: sendParent({ type: 'slac.ready' }),
    firstAttempt: assign({ attempt: 1, lastFailure: undefined, matchPending: false, wrongState: false, restarted: false }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1, wrongState: false, restarted: false }),
    reportMatchingStarted: sendParent(({ context }) => ({ type: 'slac.matchingStarted', attempt: context.attempt })),
    noteModuleFailure: assign({ lastFailure: 'SLAC process failed (16.3.2)' }),
    noteTimeout: assign({ lastFailure: ({ context }) => `no SLAC result within ${context.timing.matchTimeoutMs} ms` }),
    noteCommandFailure: assign({
      lastFailure: ({ event }) => (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message,
    }),
    logRetry: sendParent(({ context }) => logEvent(context.role, `SLAC attempt ${context.attempt} failed (${context.lastFailure ?? 'unknown'}), retrying`, 'warn')),
    logMatched: sendParent(({ context }) => logEvent(context.role, 'SLAC matching successful')),
    reportMatched: sendParent({ type: 'slac.matched' }),
    logFailed: sendParent(({ context }) => logEvent(context.role, 'SLAC matching failed', 'warn', { reason: context.lastFailure, attempts: context.attempt })),
    reportFailed: sendParent(({ context }) => ({ type: 'slac.failed', reason: context.lastFailure ?? 'unknown' })),
    reportStopped: sendParent({ type: 'slac.stopped' }),
    reportStartFailed: sendParent(({ event }) => ({
      type: 'slac.failed',
      reason: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message,
      fatal: true,
    })),
  },
  guards: {
    isEv: ({ context }) => context.role === 'EV',
    matchPending: ({ context }) => context.matchPending === true,
    attemptsLeft: ({ context }) => context.attempt < context.timing.attempts,
    wrongState: ({ context }) => context.wrongState === true,
    notRestarted: ({ context }) => context.restarted !== true,
    /** Get State says matching runs: the 0x10 answered a resent Start Matching. */
    alreadyMatching: ({ event }) => {
      const state = (event as Extract<SequenceEvent, { type: 'hci.sequenceDone' }>).responses.state?.state;
      return state === 'running' || state === SlacState.running;
    },
  },
}).createMachine({
  id: 'slac',
  context: ({ input }) => ({ ...input, attempt: 0 }),
  invoke: { id: 'status', src: 'hciStatus', input: ({ context }) => ({ client: context.client, modules: ['Slac'] }) },
  on: { 'slac.stop': '.stopping' },
  // The station starts SLAC once the CP is configured (reference order: CP first, then SLAC).
  initial: 'created',
  states: {
    created: {
      on: { 'slac.start': 'starting', 'slac.match': { actions: assign({ matchPending: true }) } },
    },
    starting: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: startSteps(context.role),
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'slac.match': { actions: assign({ matchPending: true }) },
        'hci.sequenceDone': 'settling',
        'hci.sequenceFailed': { target: 'failed', actions: 'reportStartFailed' },
      },
    },
    // The module needs 1-2 s after Start SLAC before matching works (reference).
    settling: {
      after: {
        startDelay: [
          { guard: 'matchPending', target: 'matching', actions: ['reportReady', 'firstAttempt'] },
          { target: 'idle', actions: 'reportReady' },
        ],
      },
      on: { 'slac.match': { actions: assign({ matchPending: true }) } },
    },
    idle: {
      on: { 'slac.match': { target: 'matching', actions: 'firstAttempt' } },
    },
    matching: {
      initial: 'choose',
      on: {
        'Slac.SlacSuccess': { target: 'matched', actions: ['logMatched', 'reportMatched'] },
        // The other side left and came back (unplug/replug, EVSE back from 100 %) while an
        // attempt was still under way: start over at attempt 1, so that the station sees
        // matchingStarted again (the EVSE sets 5 % again) and the attempt timer restarts.
        'slac.match': { target: 'matching', reenter: true, actions: 'firstAttempt' },
      },
      states: {
        choose: { always: [{ guard: 'isEv', target: 'delaying' }, { target: 'requesting' }] },
        // The reference EV waits 5 s after seeing 5 % before it starts matching.
        delaying: { after: { evMatchDelay: 'requesting' } },
        requesting: {
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({
              client: context.client,
              steps: [
                // 0x10: either a resent request whose first answer was lost (the module already
                // matches) or SLAC in the wrong state (Sevenstax/FreeV2G#47); Get State tells.
                { text: 'Start SLAC matching', def: Slac.StartMatching, fields: {}, tolerate: [WRONG_STATE] },
              ],
            }),
          },
          entry: assign({ wrongState: false }),
          on: {
            'hci.step': { actions: 'logStep' },
            'hci.tolerated': { actions: assign({ wrongState: true }) },
            'hci.sequenceDone': [
              { guard: 'wrongState', target: 'checking' },
              { target: 'awaiting', actions: 'reportMatchingStarted' },
            ],
            'hci.sequenceFailed': { target: 'attemptFailed', actions: 'noteCommandFailure' },
          },
        },
        checking: {
          invoke: {
            src: 'hciSequence',
            input: ({ context }) => ({ client: context.client, steps: [{ def: Slac.GetState, fields: {}, keep: 'state' }] }),
          },
          on: {
            'hci.sequenceDone': [
              { guard: 'alreadyMatching', target: 'awaiting', actions: 'reportMatchingStarted' },
              // Wrong state: the vendor's recovery is Stop SLAC + Start SLAC (Sevenstax/FreeV2G#47).
              { guard: 'notRestarted', target: '#slac.restarting', actions: assign({ restarted: true }) },
              { target: 'attemptFailed', actions: assign({ lastFailure: 'Start Matching: wrong state (0x10) after a SLAC restart' }) },
            ],
            'hci.sequenceFailed': { target: 'attemptFailed', actions: 'noteCommandFailure' },
          },
        },
        awaiting: {
          invoke: { src: 'stateReread', input: ({ context }) => resultReread(context) },
          on: { 'Slac.SlacFailed': { target: 'attemptFailed', actions: 'noteModuleFailure' } },
          after: { matchTimeout: { target: 'attemptFailed', actions: 'noteTimeout' } },
        },
        attemptFailed: {
          always: [
            { guard: 'attemptsLeft', target: 'requesting', actions: ['logRetry', 'nextAttempt'] },
            { target: '#slac.idle', actions: ['logFailed', 'reportFailed'] },
          ],
        },
      },
    },
    // After a session the module only matches again once SLAC was stopped and started
    // (Sevenstax/FreeV2G#42, #61): re-matching alone is not enough.
    matched: {
      on: { 'slac.match': { target: 'restarting', actions: ['firstAttempt', assign({ restarted: true })] } },
    },
    restarting: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: [{ text: 'Stop SLAC (restart)', def: Slac.StopSlac, fields: {}, tolerate: [UNEXPECTED_MESSAGE, WRONG_STATE] }, ...startSteps(context.role)],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': 'restartSettling',
        'hci.sequenceFailed': { target: 'idle', actions: ['noteCommandFailure', 'logFailed', 'reportFailed'] },
      },
    },
    // As after the first start: the module needs the start delay before matching works.
    restartSettling: { after: { startDelay: 'matching' } },
    stopping: {
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => ({
          client: context.client,
          steps: [{ text: 'Stop SLAC', def: Slac.StopSlac, fields: {}, tolerate: [UNEXPECTED_MESSAGE, WRONG_STATE] }],
        }),
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': 'stopped',
        'hci.sequenceFailed': 'stopped',
        'slac.stop': {},
      },
    },
    stopped: { type: 'final', entry: 'reportStopped' },
    failed: { type: 'final' },
  },
});
