/**
 * Ending an EV session that may still be charging (issue 12 follow-up): the module takes Stop
 * Session only once it reported Post Charging Ready (18.9.15; a session in the charge loop answers
 * 0x11 and goes on charging, fuzz seed 684), so a host that gives up on a charging session first
 * sends Stop Charging (18.9.14, no renegotiation), waits for the module to leave energy transfer
 * (AC: Charging Stopped and Session Stopped by themselves; DC: Post Charging Ready, 21.9.5), then
 * sends Stop Session unless the session already stopped. It is the order seen on the wire in
 * the field (Sevenstax/FreeV2G#20: CurrentDemand, PowerDelivery off, WeldingDetection, then
 * SessionStop), and a WHITE-beet answers a stop command in the wrong state with 0x11 (code 17 in
 * Sevenstax/FreeV2G#272, EVSE side) rather than doing it. One Stop Charging per session end
 * (issue 12 item 12): the caller says whether it is still owed.
 *
 * Used by the session machine (`stopping`: an abort or the status watchdog while charging) and by
 * the EV station when it sets a module up again that it lost mid-charge. Typed messages only.
 */
import { fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import type { Clock, TimerId } from '../../util/clock.js';
import type { StopChargingWire } from '../stop-charging-wire.js';
import { HciError, type HciClient, type StatusEvent } from '../hci-types.js';

/**
 * How long the module has to leave energy transfer after Stop Charging was answered: its Power
 * Delivery (stop) round trip and the start of welding detection take well under a second; 3 s
 * keeps a watchdog-ended session within its bound (test/machines/bounded-waits.test.ts).
 */
export const STOP_CHARGING_GRACE_MS = 3000;

export interface EvStopInput {
  client: HciClient;
  clock: Clock;
  /** Stop Charging is still owed (not sent yet for this session). */
  stopCharging: boolean;
  /**
   * The station's view of the wire: a Stop Charging still pending (the cut session's) settles
   * first, and answered it was the one owed: none again (never two to a module that answered).
   */
  wire?: StopChargingWire;
  graceMs?: number;
}

export type EvStopEvent =
  | EvStopDone
  /**
   * Stop Charging timed out, said at once (the stop goes on with Stop Session): the session tells
   * the station it is owed still, before a station that loses the module cuts the session.
   */
  | { type: 'evStop.stopChargingUnanswered' };

export type EvStopDone = {
  type: 'evStop.done';
  /** What the module said, for the log: one line per command not answered 0. */
  notes: string[];
  /** The module reported the session's end (Session Stopped or Session Error) meanwhile. */
  sessionEnded: boolean;
  /**
   * Stop Charging went unanswered (timeout: the module may never have had it), so it is owed
   * still: the station sends it first to a module that answers again (station-common.ts).
   * False when it was answered (0 or refused) or not this stop's to send.
   */
  stopChargingOwed: boolean;
  /**
   * The module answered the (last) Stop Session with a refusal (0x11: a state that does not take
   * it, e.g. still in session set-up or authorization): its session may go on (v2g-ev/abort.ts).
   */
  stopSessionRefused: boolean;
  /** The module answered the (last) Stop Session 0: it ends its session itself (abort.ts `stopTaken`). */
  stopSessionTaken: boolean;
};

/** No answer at all (a timeout, or a link out of step): the command may not have reached the module. */
export const unanswered = (e: unknown): boolean => e instanceof HciError && (e.kind === 'timeout' || e.kind === 'desync');

const LEFT_ENERGY_TRANSFER = new Set(['EvPostChargingReady', 'EvSessionStopped', 'EvSessionError']);
const ENDED = new Set(['EvSessionStopped', 'EvSessionError']);

export const evStop = fromCallback<{ type: 'noop' }, EvStopInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  const graceMs = input.graceMs ?? STOP_CHARGING_GRACE_MS;
  let cancelled = false;
  let left = false;
  let ended = false;
  let wake: (() => void) | undefined;
  const sub = client.status$.subscribe((e: StatusEvent) => {
    if (e.module !== 'V2g' || !LEFT_ENERGY_TRANSFER.has(e.message)) return;
    left = true;
    ended = ended || ENDED.has(e.message);
    wake?.();
  });
  const notes: string[] = [];
  let stopChargingOwed = false;
  /** The last command failed without an answer (it may never have reached the module). */
  let unansweredLast = false;
  let stopSessionRefused = false;
  let stopSessionTaken = false;
  const send = async (what: 'stopCharging' | 'stopSession'): Promise<boolean> => {
    try {
      if (what === 'stopCharging') await client.request(V2g.EvStopCharging, { renegotiation: false });
      else {
        await client.request(V2g.EvStopSession, {});
        stopSessionTaken = true;
      }
      return true;
    } catch (e) {
      notes.push(e instanceof HciError ? e.message : String(e));
      unansweredLast = unanswered(e);
      if (what === 'stopSession') stopSessionRefused = e instanceof HciError && e.code !== undefined;
      if (what === 'stopCharging') stopChargingOwed = unanswered(e);
      if (stopChargingOwed && what === 'stopCharging' && !cancelled) sendBack({ type: 'evStop.stopChargingUnanswered' } satisfies EvStopEvent);
      return false;
    }
  };
  const leftEnergyTransfer = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (left) return resolve();
      let timer: TimerId | undefined;
      wake = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      timer = clock.setTimeout(() => wake?.(), graceMs);
    });
  void (async () => {
    // Refused (not charging: 0x11) or unanswered: nothing to wait for, Stop Session goes now.
    const owed = input.stopCharging && !(await (input.wire?.settled() ?? Promise.resolve(false)));
    if (cancelled) return;
    if (owed ? await send('stopCharging') : true) await leftEnergyTransfer();
    if (cancelled) return;
    // A Stop Session lost on the link left the module in welding detection for ever (fuzz
    // campaign seed 59367: the EVSE in post charge re-armed by each request, no record): once more.
    if (!ended && !(await send('stopSession')) && !ended && !cancelled && unansweredLast) await send('stopSession');
    if (!cancelled) sendBack({ type: 'evStop.done', notes, sessionEnded: ended, stopChargingOwed, stopSessionRefused, stopSessionTaken } satisfies EvStopDone);
  })();
  return () => {
    cancelled = true;
    wake?.();
    sub.unsubscribe();
  };
});
