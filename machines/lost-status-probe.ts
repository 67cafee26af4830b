/**
 * Offers the answer to a status message that follows another one at once and may have been lost
 * on the HCI link (issue 12 item 13, eighth round; docs/reliability.md "the fuzz campaign's
 * causes"). The V2G module has no query for its session state (chapter 18), but the commands that
 * answer its requests are their own probe: each "has to be used after" its status message (e.g.
 * 18.9.12, 18.10.13) and a command out of its state is refused 0x11 (18.5).
 *
 * Some of the module's status messages come in pairs from one request of the car, in a fixed
 * order (the EVSE's Energy Transfer Mode Selected then Schedules Requested; the EV's Cable Check
 * Finished then Pre Charging Ready). A link drops, delays or garbles frames but keeps their order,
 * so the second one not there `PROBE_FIRST_MS` after the first was lost: the actor sends the
 * answer then, and again after 2x, 4x ... that wait (at most every `maxPeriodMs`) while the module
 * refuses it (0x11: not asked) or its answer is lost. Taken (code 0), the module had asked: the
 * machine gets `taken(afterMs)` and goes on as if the message had come.
 *
 * The actor follows the module's notifications on the client's status stream (as the machine's
 * status child does): it is invoked while the machine waits for the second message and stops with
 * that wait. `send()` sends the answer, or returns undefined not to probe (the session stops).
 */
import { fromCallback } from 'xstate';
import { type HciClient, HciError, type StatusEvent } from './hci-types.js';
import type { Clock, TimerId } from '../util/clock.js';

/**
 * The first offer goes this long after the first message of the pair: well past the frame delays
 * a link adds between two frames of one request (the fuzz campaign's, up to 120 ms), inside the
 * shortest timeout the manual shows for such a request (500 ms, 18.12.5's example).
 */
export const PROBE_FIRST_MS = 200;

export interface LostStatusProbeInput<E> {
  client: HciClient;
  clock: Clock;
  /** The first message of the pair and the one that may be lost (module V2G, message names). */
  after: string;
  expected: string;
  /** Longest wait between two offers. */
  maxPeriodMs: number;
  /**
   * The wait before the first offer after each `after` message (default `PROBE_FIRST_MS`), given
   * the time since the previous one (undefined for the first): a message the module repeats at the
   * car's pace re-arms the probe, and the wait follows that pace (v2g-evse/start-charging-probe.ts).
   */
  firstWaitMs?: (sincePreviousMs: number | undefined) => number;
  send: () => Promise<unknown> | undefined;
  /**
   * A status that shows the module took an offer whose answer never came (timed out): the probe
   * then reports it taken, as if answered (v2g-evse/start-charging-probe.ts). Without it, such an
   * offer is offered again and a module that took it refuses 0x11 (18.5).
   */
  takenSign?: (e: StatusEvent) => boolean;
  /** The event back when the module took the answer. */
  taken: (afterMs: number) => E;
}

export function lostStatusProbe<E extends { type: string }>() {
  return fromCallback<{ type: 'noop' }, LostStatusProbeInput<E>>(({ input, sendBack }) => {
    const { client, clock, after, expected, maxPeriodMs, send, taken } = input;
    const firstWaitMs = input.firstWaitMs ?? (() => PROBE_FIRST_MS);
    let timer: TimerId | undefined;
    let stopped = false;
    let firstAt: number | undefined;
    let periodMs = PROBE_FIRST_MS;
    /** An offer went unanswered (timed out): the module may have taken it. */
    let unanswered = false;
    const takenNow = (): void => {
      if (!stopped) sendBack(taken(clock.now() - (firstAt ?? 0)));
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    };
    const arm = (ms: number): void => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = clock.setTimeout(tick, ms);
    };
    const tick = (): void => {
      timer = undefined;
      const answer = stopped ? undefined : send();
      if (!answer) return;
      // 0x11: not asked (yet); a lost answer: offered again (a module that took it refuses 0x11).
      answer.then(takenNow, (e: unknown) => {
        if (stopped) return;
        if (e instanceof HciError && e.kind === 'timeout') unanswered = true;
        periodMs = Math.min(maxPeriodMs, periodMs * 2);
        arm(periodMs);
      });
    };
    const sub = client.status$.subscribe((e) => {
      if (e.module !== 'V2g' || stopped) return;
      if (unanswered && input.takenSign?.(e)) takenNow();
      else if (e.message === after) {
        const now = clock.now();
        periodMs = firstWaitMs(firstAt === undefined ? undefined : now - firstAt);
        firstAt = now;
        arm(periodMs);
      } else if (e.message === expected && timer !== undefined) {
        clock.clearTimeout(timer);
        timer = undefined;
      }
    });
    return () => {
      stopped = true;
      sub.unsubscribe();
      if (timer !== undefined) clock.clearTimeout(timer);
    };
  });
}
