/**
 * What the EV and EVSE stations share: the start (firmware check, clearing stale state), the
 * shutdown, failure and stop states, and the actions and guards those use (the set-up retry:
 * setup-retry.ts). Each station builds
 * its machine from these with its own role label and machine id, so both keep their state names.
 */
import { type ModuleBehaviour, cpPollMs, moduleBehaviour } from './module-quirks.js';
import { type EventObject, type MachineContext, assign, emit, enqueueActions, fromCallback } from 'xstate';
import { System } from '../codec/catalog.js';
import type { FirmwareProfile } from '../firmware/profiles.js';
import { checkFirmware, firmwareProfileFor } from './firmware.js';
import { moduleClockSteps } from './module-clock.js';
import { type HciStep, type SequenceEvent, UNEXPECTED_MESSAGE } from './hci-actors.js';
import { HciError } from './hci-types.js';
import type { LivenessEvent } from './liveness.js';
import type { Clock } from '../util/clock.js';
import type { StopChargingWire } from './stop-charging-wire.js';
import type { SlacTiming } from './config.js';
import type { HciClient } from './hci-types.js';
import { type SetUpRetryContext, setUpFailed, slacSetUpFailed } from './setup-retry.js';
import { type ChildEmit, type SessionPhase, type SessionRecord, type StationEmitted, type StationRole, interruption, logEvent } from './station-events.js';

/** Result codes tolerated when clearing state that may not exist (10.1.5 0x05, SLAC/V2G 0x10, 0x11). */
export const STALE = [UNEXPECTED_MESSAGE, 0x10, 0x11] as const;

type Done = Extract<SequenceEvent, { type: 'hci.sequenceDone' }>;
const firmwareOf = (e: unknown): string => String((e as Done).responses.fw?.version ?? '');

/** The context fields the shared actions, guards and states read and write. */
/** What both stations are started with (station-ev.ts, station-evse-types.ts add their own). */
export interface StationInput<Config> {
  client: HciClient;
  clock: Clock;
  config: Config;
  /** The firmware profile's behaviour flags (module-quirks.ts). */
  behaviour?: Partial<ModuleBehaviour>;
  /** Set-ups in a row before the station gives up (machines/setup-retry.ts); default: no limit. */
  setUpAttempts?: number;
}

export interface StationCommonContext extends MachineContext, SetUpRetryContext {
  client: HciClient;
  clock: Clock;
  config: { strictFirmware: boolean; slac: SlacTiming; setModuleTime?: boolean };
  /** Firmware behaviours (module-quirks.ts); absent: the manual's. */
  behaviour?: Partial<ModuleBehaviour>;
  cpReady: boolean;
  slacReady: boolean;
  firmware?: string;
  /** The profile picked from the reported version (newest of the role for unknown versions). */
  firmwareProfile?: FirmwareProfile;
  failure?: string;
  sessions: number;
  lastRecord?: SessionRecord;
  /**
   * A started V2G session was cut short (shutdown, station failure, a lost module) before it sent
   * its Stop Charging, or the one sent to stop it went unanswered: Stop Charging is still owed to
   * the module, and only then (issue 12 item 12: one per session end). The session says whether
   * it sent one (its `stopChargingSent`, read as it is cut); the stops that follow (a lost
   * module's, the clean-up's, the shutdown's) clear it once the module answered. After a session
   * that ended on its own the module already stopped, and a second Stop Charging is answered 0x11
   * (seen on the simulated pair and the module alike).
   */
  stopChargingOwed?: boolean;
  /** Whether the station's Stop Charging requests were answered, as seen on the wire (StopChargingWire). */
  stopWire?: StopChargingWire;
  /** Clock time of the first unanswered firmware query of this start (the module may be restarting). */
  moduleSilentSince?: number;
}

/**
 * A module that is restarting is silent for seconds: ~5 s, ~15 s until it answers normally
 * (Sevenstax/FreeV2G#72; also a module powered on together with the host). The start-up asks
 * again every MODULE_RETRY_MS instead of failing, for up to MODULE_START_WAIT_MS from the first
 * unanswered query; a module silent for longer fails the set-up, tried again after a back-off
 * (setup-retry.ts).
 */
export const MODULE_START_WAIT_MS = 30_000;
export const MODULE_RETRY_MS = 1000;

const isTimeout = (e: unknown): boolean => {
  const err = (e as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error;
  return err instanceof HciError && (err.kind === 'timeout' || err.kind === 'desync');
};

type LogParams = { text: string; level?: 'info' | 'warn' | 'error' };

/**
 * The end of a stop sent for an owed Stop Charging (the EV's v2g-ev/stop.ts, the EVSE's
 * `owedStopCharging`): one note per command the module refused or left unanswered, for the log,
 * and whether Stop Charging is owed still (unanswered: it may never have reached the module).
 */
export interface OwedStopDone {
  type: string;
  notes: string[];
  stopChargingOwed: boolean;
}

const unanswered = (e: unknown): boolean => e instanceof HciError && (e.kind === 'timeout' || e.kind === 'desync');

/**
 * An owed Stop Charging on its own (the EVSE side: the module ends energy transfer by itself once
 * it has it): sends it once and reports `owedStop.done`; a refusal (0x11: not charging any more)
 * settles the debt, only silence keeps it.
 */
export const owedStopCharging = (send: (client: HciClient) => Promise<unknown>) =>
  fromCallback<EventObject, { client: HciClient; wire?: StopChargingWire }>(({ input, sendBack }) => {
    let cancelled = false;
    const done = (notes: string[], stopChargingOwed: boolean) => {
      if (!cancelled) sendBack({ type: 'owedStop.done', notes, stopChargingOwed } satisfies OwedStopDone);
    };
    // One still pending goes first: answered, it was the one owed (never two to a module that answered).
    void (input.wire?.settled() ?? Promise.resolve(false)).then((answered) => {
      if (cancelled) return;
      if (answered) return done(['the pending Stop Charging was answered: not sent again'], false);
      send(input.client).then(
        () => done([], false),
        (e: unknown) => done([e instanceof Error ? e.message : String(e)], unanswered(e)),
      );
    });
    return () => {
      cancelled = true;
    };
  });

/** The shared actions, labelled with the station's role (`station` in every emitted event). */
export function stationActions<C extends StationCommonContext, E extends EventObject, S>(
  station: StationRole,
  /** The session machine's record (v2g-ev-session / v2g-evse-session), for `sessionInterrupted`. */
  recordOf: (session: S, system: { get(id: string): unknown }) => SessionRecord,
  /** Whether the session already sent its Stop Charging (then a cut session owes none). */
  stopChargingSentOf: (session: S) => boolean,
) {
  return {
    reemit: emit<C, E, undefined, E, StationEmitted>(({ event }) => (event as unknown as ChildEmit).event),
    log: emit<C, E, LogParams, E, StationEmitted>((_, p) => logEvent(station, p.text, p.level ?? 'info').event),
    logStep: emit<C, E, undefined, E, StationEmitted>(({ event }) => logEvent(station, (event as unknown as { text: string }).text).event),
    phase: emit<C, E, { phase: SessionPhase }, E, StationEmitted>((_, p) => ({ type: 'phase' as const, station, phase: p.phase })),
    firmwareChecked: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context, event }) => {
      const version = firmwareOf(event);
      const verdict = checkFirmware(station, version);
      const profile = firmwareProfileFor(station, version);
      enqueue.assign({ firmware: version, firmwareProfile: profile } as Partial<C>);
      // The client decodes status messages with the layouts this firmware really sends.
      enqueue(() => context.client.useFirmware?.(version, profile.layouts));
      enqueue.emit(logEvent(station, `WHITE-beet-${station === 'EV' ? 'PI' : 'EI'} firmware version: ${version}`).event);
      if (verdict.kind === 'unknown') enqueue.emit(logEvent(station, `Warning: ${verdict.text}`, 'warn').event);
      if (verdict.kind === 'unsupported' || (verdict.kind === 'unknown' && context.config.strictFirmware)) {
        enqueue.assign({ failure: verdict.text } as Partial<C>);
        enqueue.emit(logEvent(station, `Refusing to run: ${verdict.text}`, 'error').event);
      }
    }),
    /** The firmware query went unanswered: the module may be restarting (#72); said once per start. */
    moduleNotAnswering: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context, event }) => {
      if (context.moduleSilentSince !== undefined) return;
      enqueue.assign({ moduleSilentSince: context.clock.now() } as Partial<C>);
      const why = (event as unknown as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message;
      const text = `Module not answering (${why}): it may be restarting (a restart takes ~5 s and ~15 s until normal answers); asking again every ${MODULE_RETRY_MS / 1000} s for up to ${MODULE_START_WAIT_MS / 1000} s`;
      enqueue.emit(logEvent(station, text, 'warn').event);
    }),
    moduleAnswering: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context }) => {
      if (context.moduleSilentSince === undefined) return;
      const s = ((context.clock.now() - context.moduleSilentSince) / 1000).toFixed(1);
      enqueue.assign({ moduleSilentSince: undefined } as Partial<C>);
      enqueue.emit(logEvent(station, `Module answering again (${s} s after the first unanswered query)`).event);
    }),
    moduleNeverAnswered: assign<C, E, undefined, E, never>(({ context, event }) => {
      const why = (event as unknown as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message;
      const waited =
        context.moduleSilentSince === undefined || !isTimeout(event) ? '' : `; no answer for ${Math.round((context.clock.now() - context.moduleSilentSince) / 1000)} s (module not started)`;
      return { failure: `${why}${waited}`, moduleSilentSince: undefined } as Partial<C>;
    }),
    noteFailure: assign<C, E, undefined, E, never>(({ event }) => ({ failure: (event as unknown as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message }) as Partial<C>),
    logFailure: emit<C, E, undefined, E, StationEmitted>(({ context }) => logEvent(station, `Station stopped: ${context.failure ?? 'unknown error'}`, 'error').event),
    /**
     * Leaving the session state before the session machine finished (shutdown, a station
     * failure) once the V2G session had started: its record is emitted all the same, with the
     * reason. Exit actions run before the invoked session is stopped, so its context is still there.
     */
    sessionInterrupted: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context, event, system }) => {
      const snap = (system.get('session') as { getSnapshot(): { status: string; context: S } } | undefined)?.getSnapshot();
      if (snap?.status !== 'active') return;
      const cut = interruption(event as unknown as { type: string });
      const own = recordOf(snap.context, system);
      // Only a V2G session that started (Session Started received) is a session to record.
      if (own.protocol === undefined) return;
      const record: SessionRecord = { ...own, stopReason: cut.stopReason, ...((own.error ?? cut.error) ? { error: own.error ?? cut.error } : {}) };
      // One Stop Charging per session end: owed only if the session has not sent it (a shutdown
      // during the EV's `stopping`, or after the EVSE's stop in post-charge, sends none again).
      // Sent means answered: one still waiting for its answer counts as owed (StopChargingWire).
      const sent = stopChargingSentOf(snap.context);
      const owed = context.stopWire ? context.stopWire.owedAtEnd(sent) : !sent;
      enqueue.assign({ sessions: context.sessions + 1, lastRecord: record, stopChargingOwed: owed } as Partial<C>);
      enqueue.emit({ type: 'sessionEnded', station, record });
    }),
    /** What the module refused or left unanswered while an owed stop went out, one line each. */
    logStopNotes: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, event }) => {
      for (const note of (event as unknown as OwedStopDone).notes) enqueue.emit(logEvent(station, `Stopping: ${note}`).event);
    }),
    /** An owed stop went out: Stop Charging is owed still only if the module did not answer it. */
    owedStopDone: assign<C, E, undefined, E, never>(({ event }) => ({ stopChargingOwed: (event as unknown as OwedStopDone).stopChargingOwed }) as Partial<C>),
    /** A best-effort or stale-state step the module refused: its result code goes to the log. */
    logTolerated: emit<C, E, undefined, E, StationEmitted>(({ event }) => {
      const e = event as unknown as Extract<SequenceEvent, { type: 'hci.tolerated' }>;
      return logEvent(station, `${e.command} not needed: ${e.detail}`).event;
    }),
    /** A session starts: the Stop Charging the wire saw before is not its own. */
    stopWireNewSession: ({ context }: { context: C }) => context.stopWire?.newSession(),
    cpReady: assign<C, E, undefined, E, never>(() => ({ cpReady: true }) as Partial<C>),
    slacReady: assign<C, E, undefined, E, never>(() => ({ slacReady: true }) as Partial<C>),
    cpFailed: assign<C, E, undefined, E, never>(({ event }) => ({ failure: `control pilot: ${(event as unknown as { error: string }).error}` }) as Partial<C>),
    slacFailed: assign<C, E, undefined, E, never>(({ event }) => ({ failure: `SLAC: ${(event as unknown as { reason: string }).reason}` }) as Partial<C>),
    sessionEnded: enqueueActions<C, E, undefined, E, never, never, never, never, StationEmitted>(({ enqueue, context, event }) => {
      const record = (event as unknown as { output: SessionRecord }).output;
      enqueue.assign({ sessions: context.sessions + 1, lastRecord: record } as Partial<C>);
      enqueue.emit({ type: 'sessionEnded', station, record });
    }),
  };
}

/** The shared guards. */
export const stationGuards = {
  firmwareRefused: ({ context }: { context: StationCommonContext }) => context.failure !== undefined,
  stopChargingOwed: ({ context }: { context: StationCommonContext }) => context.stopChargingOwed === true,
  fatal: ({ event }: { event: EventObject }) => (event as { fatal?: boolean }).fatal === true,
  /** An unanswered firmware query within MODULE_START_WAIT_MS of the first one: ask again (#72). */
  moduleMayBeStarting: ({ context, event }: { context: StationCommonContext; event: EventObject }) =>
    isTimeout(event) && (context.moduleSilentSince === undefined || context.clock.now() - context.moduleSilentSince < MODULE_START_WAIT_MS),
};

type Input = { context: StationCommonContext };

/**
 * The station's stop for an owed Stop Charging: the actor (`src`, given client and clock) and the
 * event it ends with (an OwedStopDone).
 */
export interface OwedStop<Src extends string, Done extends string> {
  src: Src;
  done: Done;
}

/**
 * `initialising`: firmware version (refuse unsupported ones), then the Stop Charging a lost
 * module still owes (`owedStop`: it went unanswered while the module was silent, and a module
 * that answers again may still be charging: it refuses the clean-up's Stop Session, 0x11, until
 * it had it), then clear what a previous run may have left in the module (`cleanup`, stale codes
 * tolerated), set the module clock when configured, then `#<id>.running`.
 */
export function initialisingState<Src extends string, Done extends string>(id: string, cleanupSteps: () => HciStep[], owedStop: OwedStop<Src, Done>) {
  return {
    entry: { type: 'phase', params: { phase: 'initialising' } },
    initial: 'firmware',
    on: { shutdown: `#${id}.shuttingDown` },
    states: {
      firmware: {
        invoke: { src: 'hciSequence', input: ({ context }: Input) => ({ client: context.client, steps: [{ def: System.GetFirmwareVersion, keep: 'fw' }] }) },
        on: {
          'hci.sequenceDone': { target: 'verdict', actions: ['moduleAnswering', 'firmwareChecked'] },
          'hci.sequenceFailed': [{ guard: 'moduleMayBeStarting', target: 'waitingForModule', actions: 'moduleNotAnswering' }, ...setUpFailed(`#${id}.`, 'moduleNeverAnswered')],
        },
      },
      // Silent module (restarting, Sevenstax/FreeV2G#72): the query goes out again shortly.
      waitingForModule: { after: { [MODULE_RETRY_MS]: 'firmware' } },
      verdict: { always: [{ guard: 'firmwareRefused', target: `#${id}.failed` }, { guard: 'stopChargingOwed', target: 'owedStop' }, { target: 'cleanup' }] },
      owedStop: {
        entry: { type: 'log', params: { text: 'A session cut short still owes the module its Stop Charging: sending it first' } },
        invoke: { src: owedStop.src, input: ({ context }: Input) => ({ client: context.client, clock: context.clock, stopCharging: true, wire: context.stopWire }) },
        on: { [owedStop.done]: { target: 'cleanup', actions: ['logStopNotes', 'owedStopDone'] } },
      },
      cleanup: {
        invoke: {
          src: 'hciSequence',
          input: ({ context }: Input) => ({ client: context.client, steps: [...cleanupSteps(), ...moduleClockSteps(context.config.setModuleTime, context.clock.now())] }),
        },
        on: {
          'hci.step': { actions: 'logStep' },
          'hci.sequenceDone': `#${id}.running`,
          'hci.sequenceFailed': setUpFailed(`#${id}.`, 'noteFailure'),
        },
      },
    },
  } as const;
}

/**
 * The children and events of `running` both stations share: the CP machine and SLAC (started
 * once the CP is ready), whose set-up failures are tried again after a back-off (setup-retry.ts),
 * and the liveness watch (machines/liveness.ts): a module that dies or restarts in any phase is
 * noticed within 2 s and initialised again (`reinitialising`; one still silent then fails the set-up).
 */
export function runningCommon(role: StationRole) {
  return {
    invoke: [
      {
        id: 'cp',
        src: 'cp',
        systemId: 'cp',
        input: ({ context }: Input) => ({ client: context.client, clock: context.clock, pollStateMs: cpPollMs(moduleBehaviour(context.behaviour)) }),
      },
      { id: 'slac', src: 'slac', systemId: 'slac', input: ({ context }: Input) => ({ client: context.client, clock: context.clock, role, timing: context.config.slac }) },
      { id: 'liveness', src: 'liveness', input: ({ context }: Input) => ({ client: context.client, clock: context.clock }) },
    ],
    on: {
      shutdown: 'shuttingDown',
      'cp.ready': { actions: ['cpReady', 'slacStart'] },
      'slac.ready': { actions: 'slacReady' },
      // Set-up failures (CP configuration, SLAC start): tried again after a back-off (setup-retry.ts).
      'cp.failed': setUpFailed('', 'cpFailed'),
      'slac.failed': slacSetUpFailed(''),
      'module.silent': {
        target: 'reinitialising',
        actions: { type: 'log', params: ({ event }: { event: EventObject }) => ({ text: `Module not answering: ${(event as LivenessEvent).error}`, level: 'warn' as const }) },
      },
    },
  } as const;
}

/**
 * The end states: `shuttingDown` (the Stop Charging still owed, once the one pending settled, then
 * best-effort stop steps) -> `stopped`; `failed` waits for shutdown.
 */
export function endStates<A extends string, Src extends string>(id: string, outputOff: A, shutdownSteps: () => HciStep[], owedStop: OwedStop<Src, 'owedStop.done'>) {
  return {
    shuttingDown: {
      entry: [{ type: 'phase', params: { phase: 'shuttingDown' } }, outputOff],
      initial: 'owedStop',
      states: {
        owedStop: {
          always: { guard: ({ context }: Input) => context.stopChargingOwed !== true, target: 'steps' },
          entry: { type: 'log', params: { text: 'Stop charging' } },
          invoke: { src: owedStop.src, input: ({ context }: Input) => ({ client: context.client, wire: context.stopWire }) },
          on: { 'owedStop.done': { target: 'steps', actions: ['logStopNotes', 'owedStopDone'] } },
        },
        steps: {
          invoke: { src: 'hciSequence', input: ({ context }: Input) => ({ client: context.client, steps: shutdownSteps() }) },
          on: {
            'hci.step': { actions: 'logStep' },
            'hci.sequenceDone': `#${id}.stopped`,
            'hci.sequenceFailed': `#${id}.stopped`,
          },
        },
      },
      on: { shutdown: {} },
    },
    failed: {
      entry: [{ type: 'phase', params: { phase: 'error' } }, outputOff, 'logFailure'],
      on: { shutdown: 'shuttingDown' },
    },
    stopped: {
      type: 'final',
      entry: { type: 'phase', params: { phase: 'stopped' } },
    },
  } as const;
}
