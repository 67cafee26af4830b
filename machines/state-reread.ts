/**
 * A wait on a module notification that does not wait forever (issue 12 item 13). The host moves
 * on when the module tells it something (the car connected, 5 % on the CP, SLAC matched), and a
 * notification is one frame: lost on the link, or garbled, it never comes again, and the host
 * waited for good while the other side went on (fuzz seeds 200035, 200065, 200104). While such a
 * wait lasts, this actor reads the state the notification reports with the module's own query
 * command every `periodMs` and hands the answer to its parent as the status message the module
 * would have sent, so the waiting state has one path for both. The queries used: ControlPilot Get
 * State (manual 15.4.9) and Get PWM duty cycle (15.4.6), Slac Get State (16.4.6).
 *
 * It re-reads only, it never decides: `toStatus` says which answers stand for a notification
 * (undefined: nothing to report), and a read equal to the previous one is not handed on again.
 * A lost or refused read is tried again at the next period; nothing happens with `periodMs`
 * undefined (no timer, no traffic). Firmware that sends no CP state notification at all is the
 * same case with a shorter period (machines/cp-state-poll.ts, Sevenstax/FreeV2G#90).
 */
import { fromCallback } from 'xstate';
import type { CommandDef } from '../codec/message.js';
import type { Clock } from '../util/clock.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { LIVENESS_IDLE_MS } from './liveness.js';
import { requestEvery } from './request-every.js';

/**
 * How long a wait on a notification lasts before the host asks (and then between two asks). A
 * notification follows its event within milliseconds on a sound link, so 1.4 s does not race it;
 * and it is well inside the deadlines of the other side that the wait holds up: the EV module's
 * wait for the EVSE's V2G answers after SLAC (about 12 s in the fuzz traces), the EVSE's SLAC
 * window (TT_EVSE_SLAC_init, 20-50 s, ISO 15118-3). Shorter than the liveness watch's silence
 * (LIVENESS_IDLE_MS, machines/liveness.ts) on purpose: the query's answer is a frame from the
 * module, so at rest (an EVSE waiting for a car) it stands in for the liveness Ping and the host
 * sends one small frame every 1.4 s, not a query every 2 s and a Ping between two (idle CPU, issue
 * 12 target 2). A module that stops answering is still judged by the watch: the unanswered query
 * is no frame from it, the Ping goes out LIVENESS_IDLE_MS after its last frame as before. 1.4 s
 * stays when the watch's silence grows (1.5 -> 1.7 s, docs/performance.md target 2, eighth round):
 * these waits last seconds, not hours, so they cost nothing at rest, and their timing is what the
 * fuzz seeds were run with.
 */
export const REREAD_AFTER_MS = Math.min(1400, LIVENESS_IDLE_MS - 100);

export interface StateRereadInput {
  client: HciClient;
  clock: Clock;
  periodMs: number | undefined;
  /** The module's query (no parameters). */
  def: CommandDef;
  /** The notification the answer stands for, or undefined when it says nothing the wait is for. */
  toStatus: (response: Record<string, unknown>) => Omit<StatusEvent, 'at'> | undefined;
}

export const stateReread = fromCallback<{ type: 'noop' }, StateRereadInput>(({ input, sendBack }) => {
  const { client, clock, periodMs, def, toStatus } = input;
  if (periodMs === undefined) return () => undefined;
  let last: string | undefined;
  let lastType: string | undefined;
  /**
   * Crossing reads: the module's own notifications, numbered as they come. A read asked before a
   * notification of what it reads and answered after it says the older state: handed on, it would
   * undo the newer change (a car that left put back on the line). Such a read is dropped; the
   * next one asks after the notification. The notification also clears `last`, so a read equal to
   * the one before it is handed on again when a notification came between the two (A read, B
   * notified, A again with its notification lost).
   */
  let notifications = 0;
  const notifiedAt = new Map<string, number>();
  const sub = client.status$.subscribe((e) => {
    notifiedAt.set(e.type, ++notifications);
    if (e.type === lastType) last = undefined;
  });
  /** The notification count when the read in flight was asked (one read at a time). */
  let askedAt = 0;
  // A lost or refused read is tried again at the next period (request-every.ts).
  const stop = requestEvery({
    clock,
    periodMs,
    request: () => {
      askedAt = notifications;
      return client.request(def, {});
    },
    onAnswer: (r) => {
      const status = toStatus(r as Record<string, unknown>);
      if (status === undefined || (notifiedAt.get(status.type) ?? 0) > askedAt) return undefined;
      const key = JSON.stringify(status.fields);
      lastType = status.type;
      if (key === last) return undefined;
      last = key;
      sendBack({ ...status, at: clock.now() } satisfies StatusEvent);
      return undefined;
    },
  });
  return () => {
    stop();
    sub.unsubscribe();
  };
});
