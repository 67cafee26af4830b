/**
 * The EV station waits for its module's end of session before it configures a new one, whenever
 * a session ended without seeing that end (issue 12 items 8/13, docs/reliability.md, seventh
 * round): the module cut after Start Session (the station's `reinitialising`), the host's status
 * watchdog (machines/status-watchdog.ts) and a start the module never confirmed (Start Session
 * unanswered or refused 0x11, no Session Started within the session's wait). In each the host
 * sent Stop Session and went on; a module in session set-up refuses it (0x11, v2g-ev/abort.ts)
 * and runs its session on, and a configuration sent meanwhile is refused command by command
 * (fuzz seed 204869): a `configurationFailed` record for a session the module was running.
 *
 * One wait for all of them (`moduleSessionEndWait`, a state of the station): Stop Session again,
 * then V2G Get Mode (18.8.2: a module that restarted is in no mode, it has no session), then the
 * module's Session Stopped or Session Error, Stop Session asked again whenever the module reports
 * a state that takes it (moduleSessionEnd), for at most the bound the session chose
 * (MODULE_SESSION_END_BOUND_MS, or UNCONFIRMED_START_END_BOUND_MS after an unconfirmed start).
 * The watchdog's end while charging waits too, after its stop (`stopEndedUnseen`).
 */
import type { Clock } from '../../util/clock.js';
import type { StatusWatchdogEvent } from '../status-watchdog.js';
import type { HciClient } from '../hci-types.js';
import { MODULE_SESSION_END_BOUND_MS, type ModuleSessionEndEvent, moduleEndBoundMs, moduleSessionNotEndedDetail, startConfirmed } from './abort.js';
import { act } from './common.js';
import type { EvStopDone } from './stop.js';

/** From the session to the station: its module's end was not seen; wait for it this long at most. */
export type ModuleEndUnseenEvent = { type: 'session.moduleEndUnseen'; boundMs: number };

/** The module's own end of session, as a status message (a name the watchdog may have seen unusable). */
const SESSION_END_MESSAGES = ['EvSessionStopped', 'EvSessionError'];

/**
 * The watchdog's end while charging goes through `stopping` (Stop Charging first, v2g-ev/stop.ts):
 * the same situation once the stop is over. The module's end is unseen when the stop saw no
 * Session Stopped / Session Error and its Stop Session was not taken (refused 0x11 or unanswered:
 * the module's session may go on, as outside charging); the station waits for it then. Before,
 * the station configured again at once (the eighth round, docs/reliability.md).
 */
export const stopEndedUnseen = ({ context, event }: { context: { watchdogUnusable?: readonly string[] }; event: { type: string } }): boolean => {
  const e = event as EvStopDone;
  return context.watchdogUnusable !== undefined && !e.sessionEnded && !e.stopSessionTaken;
};

export const moduleEndUnseenActions = {
  /** The watchdog's end while charging: what it saw unusable, for `moduleEndUnseen` after the stop. */
  noteWatchdogEnd: act(({ enqueue, event }) => {
    enqueue.assign({ watchdogUnusable: (event as StatusWatchdogEvent).messages });
  }),
  /**
   * The session ends (watchdog, unconfirmed start) with its Stop Session sent and the module's end
   * not seen: the station waits for it. Not when the watchdog's unusable messages held the end
   * itself (its Session Stopped cut on the way): the module's session is over.
   */
  moduleEndUnseen: act(({ enqueue, context, event }, p?: { unconfirmedStart: boolean }) => {
    const messages = event.type === 'session.noModuleStatus' ? (event as StatusWatchdogEvent).messages : (context.watchdogUnusable ?? []);
    if (messages.some((m) => SESSION_END_MESSAGES.includes(m))) return;
    const confirmed = p?.unconfirmedStart !== true && startConfirmed(context, false);
    enqueue.sendParent({ type: 'session.moduleEndUnseen', boundMs: moduleEndBoundMs(confirmed) } satisfies ModuleEndUnseenEvent);
  }),
};

/** What the wait state reads of the station's context. */
interface WaitContext {
  client: HciClient;
  clock: Clock;
  /** The bound the session asked for (ModuleEndUnseenEvent); absent: MODULE_SESSION_END_BOUND_MS. */
  moduleEndWaitMs?: number;
}

/** The station's delay `moduleSessionEndBound` (its `delays`). */
export const moduleSessionEndBound = ({ context }: { context: WaitContext }): number => context.moduleEndWaitMs ?? MODULE_SESSION_END_BOUND_MS;

type Done = Extract<ModuleSessionEndEvent, { type: 'moduleSession.done' }>;
type Waiting = Extract<ModuleSessionEndEvent, { type: 'moduleSession.waiting' }>;

/**
 * The wait as a state of the station (actors `moduleSessionEnd`, action `log`, delay
 * `moduleSessionEndBound`): `target` once the module ended its session, had none (Get Mode) or
 * the bound passed, with `onEnd` run on the way out; `who` names the session in the log.
 */
export function moduleSessionEndWait<const A extends readonly string[]>(o: { target: string; onEnd: A; who: string }) {
  const boundS = (context: WaitContext): number => moduleSessionEndBound({ context }) / 1000;
  return {
    invoke: { src: 'moduleSessionEnd', input: ({ context }: { context: WaitContext }) => ({ client: context.client, clock: context.clock, probeMode: true }) },
    on: {
      'moduleSession.waiting': {
        actions: {
          type: 'log',
          params: ({ context, event }: { context: WaitContext; event: Waiting }) => ({
            text: `Stop Session not taken (${event.detail}) by a module still in EV mode: waiting up to ${boundS(context)} s for its session's end`,
            level: 'warn' as const,
          }),
        },
      },
      'moduleSession.done': {
        target: o.target,
        actions: [{ type: 'log', params: ({ event }: { event: Done }) => ({ text: `${o.who}: ${event.detail}` }) }, ...o.onEnd],
      },
    },
    after: {
      moduleSessionEndBound: {
        target: o.target,
        actions: [
          {
            type: 'log',
            params: ({ context }: { context: WaitContext }) => ({ text: `${o.who} did not end it: ${moduleSessionNotEndedDetail(moduleSessionEndBound({ context }))}`, level: 'error' as const }),
          },
          ...o.onEnd,
        ],
      },
    },
  } as const;
}
