/**
 * SLAC (manual 16, 21.3/21.4), either role: start the SLAC service once, then for every
 * plug-in run the matching process with a bounded number of attempts, each bounded in time.
 *
 * From the parent: slac.start, slac.match (a vehicle/EVSE is there), slac.stop.
 * To the parent: slac.ready, slac.matchingStarted {attempt}, slac.matched, slac.failed {reason},
 * slac.stopped, station.emit.
 */
import { assign, sendParent, setup } from 'xstate';
import { Slac } from '../codec/modules/slac.js';
import type { Clock } from '../util/clock.js';
import type { SlacTiming } from './config.js';
import { type SequenceEvent, UNEXPECTED_MESSAGE, hciSequence, hciStatus } from './hci-actors.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { type StationRole, logEvent } from './station-events.js';

export interface SlacInput {
  client: HciClient;
  clock: Clock;
  role: StationRole;
  timing: SlacTiming;
}

export type SlacCommand = { type: 'slac.start' } | { type: 'slac.match' } | { type: 'slac.stop' };

export interface SlacContext extends SlacInput {
  attempt: number;
  lastFailure?: string;
  /** A match was asked for while the service was still settling. */
  matchPending?: boolean;
}

/** Slac 16.2: Stop SLAC answers 0x10 when SLAC is not running. */
const WRONG_STATE = 0x10;

export const slacMachine = setup({
  types: {
    input: {} as SlacInput,
    context: {} as SlacContext,
    events: {} as SlacCommand | SequenceEvent | StatusEvent,
  },
  actors: { hciSequence, hciStatus },
  delays: {
    startDelay: ({ context }) => context.timing.startDelayMs,
    matchTimeout: ({ context }) => context.timing.matchTimeoutMs,
    evMatchDelay: ({ context }) => context.timing.evMatchDelayMs,
  },
  actions: {
    logStep: sendParent(({ context, event }) => logEvent(context.role, (event as { text: string }).text)),
    reportReady: sendParent({ type: 'slac.ready' }),
    firstAttempt: assign({ attempt: 1, lastFailure: undefined, matchPending: false }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    reportMatchingStarted: sendParent(({ context }) => ({ type: 'slac.matchingStarted', attempt: context.attempt })),
    noteModuleFailure: assign({ lastFailure: 'SLAC process failed (16.3.2)' }),
    noteTimeout: assign({ lastFailure: ({ context }) => `no SLAC result within ${context.timing.matchTimeoutMs} ms` }),
    noteCommandFailure: assign({
      lastFailure: ({ event }) => (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message,
    }),
    logRetry: sendParent(({ context }) =>
      logEvent(context.role, `SLAC attempt ${context.attempt} failed (${context.lastFailure ?? 'unknown'}), retrying`, 'warn'),
    ),
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
          steps:
            context.role === 'EV'
              ? [
                  { text: 'Set SLAC to EV mode', def: Slac.SetValidationConfiguration, fields: { enabled: false } },
                  { text: 'Start SLAC', def: Slac.StartSlac, fields: { mode: 0 } },
                ]
              : [{ text: 'Start SLAC in EVSE mode', def: Slac.StartSlac, fields: { mode: 1 } }],
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
            input: ({ context }) => ({ client: context.client, steps: [
              // 0x10 after a resent request whose first answer was lost: the module is already
              // matching; its SlacSuccess/SlacFailed (or the attempt timeout) decides.
              { text: 'Start SLAC matching', def: Slac.StartMatching, fields: {}, tolerate: [WRONG_STATE] },
            ] }),
          },
          on: {
            'hci.step': { actions: 'logStep' },
            'hci.sequenceDone': { target: 'awaiting', actions: 'reportMatchingStarted' },
            'hci.sequenceFailed': { target: 'attemptFailed', actions: 'noteCommandFailure' },
          },
        },
        awaiting: {
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
    matched: {
      on: { 'slac.match': { target: 'matching', actions: 'firstAttempt' } },
    },
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
