/**
 * The module set-up retried with back-off, shared by both stations (issue 12 item 13; fuzz seed
 * 200830: the EVSE's CP Set Mode lost three times in a row on a link with ordinary faults failed
 * the set-up and the station stopped for good). A charging station does not give up on its module
 * for a few lost frames: when the set-up (firmware check, clearing stale state, CP, SLAC start; at
 * start or after a "module not answering" verdict) fails, the station says what failed and when
 * it tries again, waits in `setUpRetry` (output 0, phase `setUpRetry`) and sets the module up again
 * from the firmware check. The wait grows 5, 10, 20, 40, 60, 60, ... s: a module that is restarting
 * (~15 s, Sevenstax/FreeV2G#72) or a link that drops frames for a moment gets quick tries, a
 * module that is gone is not flooded. A shutdown ends the wait at once.
 *
 * Without `setUpAttempts` the station tries for ever (a service: `eth`, `spi`); with it, the
 * station stops in `failed` after that many set-ups failed in a row (`sim`, where a simulated
 * module that never takes its set-up would otherwise keep a finite run going for ever).
 * A refused firmware is no set-up failure: retrying does not change the version (`failed` at once).
 */
import { type EventObject, type MachineContext, enqueueActions } from 'xstate';
import type { Clock } from '../util/clock.js';
import { type StationEmitted, type StationRole, logEvent } from './station-events.js';

/** The waits after the 1st, 2nd, ... failed set-up in a row; the last one repeats. */
export const SET_UP_BACK_OFF_MS = [5_000, 10_000, 20_000, 40_000, 60_000] as const;

/** The wait after the `failures`-th failed set-up in a row (1-based). */
export function setUpBackOffMs(failures: number): number {
  const i = Math.min(Math.max(failures, 1), SET_UP_BACK_OFF_MS.length) - 1;
  return SET_UP_BACK_OFF_MS[i] as number;
}

/** The context fields the retry reads and writes (part of StationCommonContext). */
export interface SetUpRetryContext extends MachineContext {
  clock: Clock;
  cpReady: boolean;
  slacReady: boolean;
  /** What failed (set by the action noting the failure, cleared once logged). */
  failure?: string;
  /** Set-ups failed in a row (0 once the module is set up). */
  setUpFailures?: number;
  /** Set-ups in a row before the station gives up in `failed`; undefined: no limit. */
  setUpAttempts?: number;
}

/** Clock time as `hh:mm:ss UTC`: when the next try is, on the run's clock. */
const clockTime = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

/**
 * The transitions of a failed set-up step: note what failed (`note`, an action setting
 * `failure`), then `setUpRetry` while attempts are left, else `failed`. `at` prefixes the targets:
 * `#<machine id>.` from a nested state, '' from a child of the machine's root.
 */
export function setUpFailed<At extends string, Note extends string>(at: At, note: Note) {
  return [
    { guard: 'setUpAttemptsLeft', target: `${at}setUpRetry`, actions: [note, 'setUpFailed'] },
    { target: `${at}failed`, actions: [note, 'setUpGivenUp'] },
  ] as const;
}

/** As `setUpFailed` for `slac.failed`, a set-up failure only when fatal (Start SLAC failed). */
export function slacSetUpFailed<At extends string>(at: At) {
  return [
    { guard: 'fatalSetUpAttemptsLeft', target: `${at}setUpRetry`, actions: ['slacFailed', 'setUpFailed'] },
    { guard: 'fatal', target: `${at}failed`, actions: ['slacFailed', 'setUpGivenUp'] },
  ] as const;
}

/** `setUpRetry`: output off, the peer forgotten (the CP reports it again), then the set-up again. */
export function setUpRetryState<Id extends string, Off extends string, Forget extends string>(id: Id, outputOff: Off, forgetPeer: Forget) {
  return {
    entry: [{ type: 'phase', params: { phase: 'setUpRetry' } }, outputOff, forgetPeer],
    after: { setUpBackOff: `#${id}.initialising` },
    on: { shutdown: `#${id}.shuttingDown` },
  } as const;
}

const attemptsLeft = (context: SetUpRetryContext): boolean => context.setUpAttempts === undefined || (context.setUpFailures ?? 0) + 1 < context.setUpAttempts;

/** The guards of `setUpFailed` and `slacSetUpFailed` (`fatal` is stationGuards'). */
export const setUpGuards = {
  setUpAttemptsLeft: ({ context }: { context: SetUpRetryContext }) => attemptsLeft(context),
  fatalSetUpAttemptsLeft: ({ context, event }: { context: SetUpRetryContext; event: EventObject }) => (event as { fatal?: boolean }).fatal === true && attemptsLeft(context),
};

/** The delay of `setUpRetryState` (register under `delays`). */
export const setUpDelays = {
  setUpBackOff: ({ context }: { context: SetUpRetryContext }) => setUpBackOffMs(context.setUpFailures ?? 1),
};

/** The actions of `setUpFailed` and `setUpDone` (on the module set up), labelled with the role. */
export function setUpRetryActions<C extends SetUpRetryContext, E extends EventObject>(station: StationRole) {
  return {
    /** One line per failure: what failed, when the next try is; CP and SLAC are set up anew. */
    setUpFailed: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context }) => {
      const failures = (context.setUpFailures ?? 0) + 1;
      const waitMs = setUpBackOffMs(failures);
      const text = `Module set-up failed (${context.failure ?? 'unknown error'}): trying again in ${waitMs / 1000} s, at ${clockTime(context.clock.now() + waitMs)} (failure ${failures} in a row)`;
      enqueue.assign({ setUpFailures: failures, failure: undefined, cpReady: false, slacReady: false } as Partial<C>);
      enqueue.emit(logEvent(station, text, 'warn').event);
    }),
    /** The last allowed attempt failed: `failed` says why (logFailure). */
    setUpGivenUp: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context }) => {
      const failures = (context.setUpFailures ?? 0) + 1;
      enqueue.assign({ setUpFailures: failures, failure: `module set-up failed ${failures} times in a row (last: ${context.failure ?? 'unknown error'})` } as Partial<C>);
    }),
    /** CP and SLAC ready: the module is set up; after failures the log says so. */
    setUpDone: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context }) => {
      const failures = context.setUpFailures ?? 0;
      if (failures === 0) return;
      enqueue.assign({ setUpFailures: 0 } as Partial<C>);
      enqueue.emit(logEvent(station, `Module set up after ${failures} failed attempt${failures === 1 ? '' : 's'}`).event);
    }),
  };
}
