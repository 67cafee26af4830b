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
import type { Clock, TimerId } from '../util/clock.js';
import type { HciClient, StatusEvent } from './hci-types.js';

/**
 * How long a wait on a notification lasts before the host asks (and then between two asks). A
 * notification follows its event within milliseconds on a sound link, so 2 s does not race it;
 * and it is well inside the deadlines of the other side that the wait holds up: the EV module's
 * wait for the EVSE's V2G answers after SLAC (about 12 s in the fuzz traces), the EVSE's SLAC
 * window (TT_EVSE_SLAC_init, 20-50 s, ISO 15118-3). At rest (an EVSE waiting for a car) it is one
 * small query and its answer every 2 s, which also stands for the liveness Ping of that time.
 */
export const REREAD_AFTER_MS = 2000;

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
  let timer: TimerId | undefined;
  let stopped = false;
  let last: string | undefined;
  const tick = (): void => {
    timer = undefined;
    client
      .request(def, {})
      .then((r) => {
        const status = toStatus(r as Record<string, unknown>);
        const key = status && JSON.stringify(status.fields);
        if (stopped || status === undefined || key === last) return;
        last = key;
        sendBack({ ...status, at: clock.now() } satisfies StatusEvent);
      })
      // A lost or refused read is tried again at the next period; the machine logs real failures.
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = clock.setTimeout(tick, periodMs);
      });
  };
  timer = clock.setTimeout(tick, periodMs);
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});
