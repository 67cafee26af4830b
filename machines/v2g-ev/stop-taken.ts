/**
 * The module took the host's Stop Session (answered 0) and its Session Stopped was lost on the
 * HCI link (issue 12 item 13, ninth round; docs/reliability.md). Stop Session "stops the
 * currently active charging session" (18.9.15) and the module reports Session Stopped once it has
 * (18.11.12): the answer 0 is the module's word that its session ends, as the seventh round reads
 * it already for an abort (`moduleSessionEnd`'s `stopTaken`, v2g-ev/abort.ts). Fuzz seeds 300030
 * and 18 more of 2,000 from 300,001: a complete charge, Post Charging Ready, Stop Session taken,
 * Session Stopped garbled on the link; the host waited in post-charge until the EVSE left
 * high-level communication, aborted, sent Stop Session again, was refused 0x11 (no session left
 * to stop) and took that for "the module's session goes on": 65 s more before the record.
 *
 * So once Stop Session was taken:
 * - an abort (the EVSE gone, a battery fault) ends the session at once: the module is ending its
 *   session itself, there is nothing to wait for (no `aborting`);
 * - no Session Stopped nor Session Error within STOP_TAKEN_END_MS ends it too, with a warning.
 */
import type { AnyActorRef } from 'xstate';
import { logEvent } from '../station-events.js';
import { act } from './common.js';

/**
 * After taking Stop Session the module sends SessionStopReq and reports Session Stopped with its
 * response, or Session Error when none comes within V2G_EVCC_Msg_Timeout (ISO 15118-2 Table 109:
 * 2 s); plus the 5 s MODULE_SESSION_END_BOUND_MS allows the module's status to reach the host.
 */
export const STOP_TAKEN_END_MS = 7_000;
export const STOP_TAKEN_END_ID = 'stopTakenEnd';

/** From Stop Session's answer (code 0) to the session; `stopTakenUnseen` after STOP_TAKEN_END_MS. */
export type StopTakenEvent = { type: 'session.stopSessionTaken' } | { type: 'session.stopTakenUnseen' };

/** Stop Session's `onAnswer`: the session learns that the module took it (not after it ended). */
export const stopSessionTakenNotice = (self: AnyActorRef) => (): void => {
  if (self.getSnapshot().status === 'active') self.send({ type: 'session.stopSessionTaken' } satisfies StopTakenEvent);
};

/** The session's guard: Stop Session was taken in this session. */
export const stopSessionWasTaken = ({ context }: { context: { stopSessionTaken?: boolean } }): boolean => context.stopSessionTaken === true;

export const stopTakenActions = {
  /** The first time only: the bound on the module's Session Stopped starts then. */
  stopSessionTaken: act(({ enqueue, context }) => {
    if (context.stopSessionTaken) return;
    enqueue.assign({ stopSessionTaken: true });
    enqueue.raise({ type: 'session.stopTakenUnseen' }, { id: STOP_TAKEN_END_ID, delay: STOP_TAKEN_END_MS });
  }),
  /** An abort once Stop Session was taken: the module ends its session; recorded now. */
  abortAfterStopTaken: act(({ enqueue }) => {
    enqueue.sendParent(logEvent('EV', 'Stop Session was taken before: the module ends its session, nothing to wait for'));
  }),
  stopTakenUnseen: act(({ enqueue }) => {
    enqueue.sendParent(logEvent('EV', `No "Session Stopped" ${STOP_TAKEN_END_MS / 1000} s after the module took Stop Session: its session has ended (the status lost on the way)`, 'warn'));
  }),
};
