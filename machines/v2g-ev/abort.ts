/**
 * An EV session aborted before charging (the EVSE left high-level communication, a battery
 * fault) whose module does not take Stop Session (fuzz campaign run 5, seeds 204869 211969
 * 237380; docs/reliability.md). The manual allows Stop Session after Post Charging Ready
 * (18.9.15; the project's hosts also send it from Cable Check Ready on, as the simulated module
 * takes it there); earlier, in session set-up up to charge parameter discovery, the module
 * answers 0x11 and its session goes on, driven by the car's own V2G messages. A WHITE-beet
 * answers a stop in a state it does not expect with a refusal rather than doing it
 * (Sevenstax/FreeV2G#42, the EVSE side: SessionStopReq before the charge loop answered
 * FAILED_SequenceError, the car then waiting 30 s and more; #20 the same in cable check).
 *
 * A host that configured again then had each configuration command refused 0x11 while the old
 * session reached the EVSE and reported Cable Check Ready (204869): a `configurationFailed`
 * record for a session its module was running. The same came of a module set up again after
 * one missed Ping Reply in session set-up (211969 237380): it had not restarted, it refused the
 * station's Stop Session and ran its session on. So after a refused (or unanswered) Stop Session
 * the host waits (`moduleSessionEnd`) for the module's Session Stopped or Session Error, asking
 * again whenever the module reports a state that takes Stop Session and every
 * ABORT_STOP_RETRY_MS (that status may be lost), for at most MODULE_SESSION_END_BOUND_MS (the
 * owner's timer): the session machine's `aborting`, the EV station's `reinitialising.sessionEnd`.
 *
 * Not adopting the running session instead: the host aborted it because the EVSE left
 * high-level communication (no 5 % PWM for 2 s), so that session's station is gone; the host has
 * recorded it already, and does not know which of its status messages were lost on the way (the
 * new session machine would start mid-session, in a state it can only guess). Waiting is safe
 * whatever the module does: the EV asks for no energy (state B) and sends nothing but the stop.
 */
import { fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import type { Clock, TimerId } from '../../util/clock.js';
import type { HciClient, StatusEvent } from '../hci-types.js';
import { logEvent } from '../station-events.js';
import { act, num } from './common.js';

/**
 * The longest the module's session goes on once its host is silent (ISO 15118-2 timers): the
 * car gives each response V2G_EVCC_Msg_Timeout (2 s), the set-up V2G_EVCC_CommunicationSetup_
 * Timeout (20 s), an EVSE still processing V2G_EVCC_Ongoing_Timeout (60 s); a car that waits on
 * its host is closed by the station's V2G_SECC_Sequence_Timeout (60 s), which ended both
 * sessions of seed 204869. The longest, 60 s, plus 5 s for the module's Session Error to reach
 * the host (and the simulated car's 65 s response deadline, sim/services/evcc-loop.ts).
 */
export const MODULE_SESSION_END_BOUND_MS = 65_000;

/**
 * The bound when the module never confirmed the session's start (Start Session unanswered or
 * refused 0x11, and no Session Started): if it started one at all, that session is in its
 * communication set-up, where the car's own timers are short (ISO 15118-2): the set-up up to
 * SessionSetupRes within V2G_EVCC_CommunicationSetup_Timeout (20 s), each response after it
 * within V2G_EVCC_Msg_Timeout (2 s; 5 s for the certificate messages). A station that is gone
 * (the abort's usual cause: no 5 % PWM) answers nothing, so such a session ends within 20 s;
 * plus the same 5 s for its Session Error to reach the host. V2G_EVCC_Ongoing_Timeout (60 s)
 * needs a station that answers "ongoing" and a Session Started lost on the way, too: then the
 * next configuration is refused while it runs (recorded, configurationFailed), the cost of not
 * waiting 65 s for a module that, far more likely, never started (docs/reliability.md).
 */
export const UNCONFIRMED_START_END_BOUND_MS = 25_000;

/**
 * Whether the module confirmed the session's start: not while configuring (Start Session's answer
 * outstanding), nor after Start Session was refused or unanswered with no Session Started since.
 * The one reading of it for the session's abort, its end and the station's cut.
 */
export const startConfirmed = (c: { protocol?: unknown; startUnconfirmed?: string }, configuring: boolean): boolean => c.protocol !== undefined || (!configuring && c.startUnconfirmed === undefined);

/** The wait for the module's end of session: shorter when it never confirmed the start (above). */
export const moduleEndBoundMs = (startConfirmed: boolean): number => (startConfirmed ? MODULE_SESSION_END_BOUND_MS : UNCONFIRMED_START_END_BOUND_MS);

/** Stop Session again this often while waiting: the status of a state that takes it may be lost. */
export const ABORT_STOP_RETRY_MS = 5_000;

/** Status messages of the states in which the module takes Stop Session (see above). */
const STOP_SESSION_TAKEN_AFTER = new Set(['EvCableCheckReady', 'EvPreChargingReady', 'EvChargingReady', 'EvPostChargingReady']);
const SESSION_ENDED = new Set(['EvSessionStopped', 'EvSessionError']);

/** V2G Get Mode (18.8.2): 0 EV; a module that restarted is in no mode (2) until set up again. */
const EV_MODE = 0;

export interface ModuleSessionEndInput {
  client: HciClient;
  clock: Clock;
  /**
   * The module may have restarted (the station sets it up again): a refused Stop Session is
   * also what a restarted module answers, so V2G Get Mode tells the two apart first; in EV
   * mode it kept its state (and may run its session), in no mode or silent it did not.
   */
  probeMode?: boolean;
  retryMs?: number;
}

export type ModuleSessionEndEvent =
  /** Stop Session refused or unanswered (the failure's text): the wait begins. Once. */
  { type: 'moduleSession.waiting'; detail: string } | ModuleSessionEndDone;

export type ModuleSessionEndDone = {
  type: 'moduleSession.done';
  /**
   * stopTaken: Stop Session answered 0 (the module ends its session itself); ended: its Session
   * Stopped or Session Error ('V2g.EvSessionError' with code); noSession: the probe found a
   * module that restarted (or is silent: the station's own checks follow).
   */
  outcome: 'stopTaken' | 'ended' | 'noSession';
  detail: string;
};

const failure = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Stop Session until the module takes it or reports its session's end; the owner bounds the wait. */
export const moduleSessionEnd = fromCallback<{ type: 'noop' }, ModuleSessionEndInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  let finished = false;
  let asking = false;
  let waiting = false;
  let timer: TimerId | undefined;
  const finish = (outcome: ModuleSessionEndDone['outcome'], detail: string): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    sendBack({ type: 'moduleSession.done', outcome, detail } satisfies ModuleSessionEndDone);
  };
  const retryLater = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => void ask(), input.retryMs ?? ABORT_STOP_RETRY_MS);
  };
  /** The module refused (or did not answer) Stop Session: does it still hold its V2G state? */
  const keptState = async (): Promise<boolean> => {
    if (input.probeMode !== true) return true;
    try {
      return (await client.request(V2g.GetMode, {})).mode === EV_MODE;
    } catch {
      return false;
    }
  };
  const ask = async (): Promise<void> => {
    if (finished || asking) return;
    asking = true;
    try {
      await client.request(V2g.EvStopSession, {});
      finish('stopTaken', 'Stop Session taken');
    } catch (e) {
      if (finished) return;
      if (!waiting) {
        if (!(await keptState())) return finish('noSession', `${failure(e)}, and the module is not in EV mode: no session of its own`);
        waiting = true;
        sendBack({ type: 'moduleSession.waiting', detail: failure(e) } satisfies ModuleSessionEndEvent);
      }
      retryLater();
    } finally {
      asking = false;
    }
  };
  const sub = client.status$.subscribe((e: StatusEvent) => {
    if (e.module !== 'V2g' || finished) return;
    if (SESSION_ENDED.has(e.message)) finish('ended', e.message === 'EvSessionError' ? `"Session Error" (code ${num(e.fields.code)})` : '"Session Stopped"');
    else if (waiting && STOP_SESSION_TAKEN_AFTER.has(e.message)) void ask();
  });
  void ask();
  return () => {
    finished = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    sub.unsubscribe();
  };
});

export const abortActions = {
  /** Stop Session refused or unanswered: said once, when the wait begins. */
  abortStopRefused: act(({ enqueue, context, event }) => {
    const detail = (event as Extract<ModuleSessionEndEvent, { type: 'moduleSession.waiting' }>).detail;
    const boundMs = context.moduleEndBoundMs ?? MODULE_SESSION_END_BOUND_MS;
    enqueue.sendParent(logEvent('EV', `Stop Session not taken (${detail}): the module's session goes on; waiting up to ${boundMs / 1000} s for its end before configuring again`, 'warn'));
  }),
  /**
   * An abort before the module confirmed the start (Start Session's answer outstanding while
   * configuring, or refused/unanswered with no Session Started since): the shorter bound.
   */
  unconfirmedStartBound: act(({ enqueue, context }, p: { configuring: boolean }) => {
    if (!startConfirmed(context, p.configuring)) enqueue.assign({ moduleEndBoundMs: moduleEndBoundMs(false) });
  }),
  abortEnded: act(({ enqueue, event }) => {
    const e = event as ModuleSessionEndDone;
    enqueue.sendParent(logEvent('EV', e.outcome === 'ended' ? `${e.detail} received: the aborted session has ended` : `${e.detail}: the module ends its session`));
  }),
  /** The bound passed: the record says so (the next configuration may be refused while it runs). */
  moduleSessionNotEnded: act(({ enqueue, context }) => {
    const detail = moduleSessionNotEndedDetail(context.moduleEndBoundMs);
    enqueue.sendParent(logEvent('EV', `The module's session did not end: ${detail}`, 'error'));
    enqueue.assign({ error: { name: 'moduleSessionNotEnded', detail } });
  }),
};

export const moduleSessionNotEndedDetail = (boundMs = MODULE_SESSION_END_BOUND_MS): string => `Stop Session not taken and no Session Stopped or Session Error within ${boundMs / 1000} s`;
