/**
 * Module liveness in every phase (issue 12 item 8). Silence detection on commands only works
 * while the host sends commands; in phases where nothing is expected from the module (waiting
 * for a car, SLAC matching, waiting for the EV's next request) a dead or restarted module went
 * unnoticed until a protocol timeout (50 s of SLAC matching). So: when nothing has arrived from
 * the module for `idleMs`, ping it (framing Ping, manual 10.3.2). No frame at all within
 * `timeoutMs` of the Ping reports `module.silent` to the parent, once; with no reply after half of
 * `timeoutMs` a second Ping goes out, so that one lost frame is not a dead module.
 *
 * The check is armed for the moment the silence reaches `idleMs` (last frame + idleMs): the worst
 * case from the module's last frame to the report is idleMs + timeoutMs (1700 + 250 = 1.95 s,
 * within the 2 s of item 8), and at rest it costs a Ping round trip every 1.7 s. While frames
 * flow (the charge loop) nothing is sent. What an idle Ethernet host spends is almost all these
 * round trips (docs/performance.md, issue 12 target 2, fourth round): each was three wake-ups (the
 * Ping, its reply, its deadline), so the Ping period is as long as the 2 s allow.
 *
 * The reply clears the deadline and arms the next check. Clearing does not save the deadline's
 * wake-up (Node does not re-arm the event loop's timer when the earliest timer is cleared, so an
 * idle host still wakes at the cleared time, with nothing to run), so the deadline is armed only
 * once the input already waiting has been read (`Clock.afterPendingInput`, seventh round): a
 * reply that came while the host was still awake for the Ping (on a veth, most of them) leaves no
 * deadline behind, and the host sleeps once per Ping. A later reply clears it as before, while
 * the host is awake for the reply, not 400 ms later in a wake-up of its own (measured side by
 * side: about 9 % less CPU at rest than letting it fire).
 *
 * The 2 s go mostly to the silence, since every millisecond of it is fewer Pings at rest (1500 +
 * 400 until the eighth round: 12 % more frames). 250 ms is 1.6 times the slowest Ping Reply seen
 * in the field: 36-152 ms from a module uploading its QCA firmware after a restart
 * (Sevenstax/FreeV2G#72; a module otherwise answers in a few ms, a veth or memory round trip in
 * well under one). The second Ping at 125 ms meets such a module's late reply, which still clears
 * the deadline. A stalled host does not misjudge a live module: with no reply read by the
 * deadline the verdict waits one event-loop turn, so that a reply already in the socket is read
 * first (a timer due during a stall runs before the poll phase that would read it). What 250 ms
 * does not cover is a module that stalls for longer: that is a module the host cannot tell from
 * a dead one within 2 s, and it is set up again (the price of item 8's bound).
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';
import { type HciClient, onModuleFrame } from './hci-types.js';

export interface LivenessInput {
  client: HciClient;
  clock: Clock;
  idleMs?: number;
  timeoutMs?: number;
}

export type LivenessEvent = { type: 'module.silent'; error: string };

export const LIVENESS_IDLE_MS = 1700;
export const LIVENESS_TIMEOUT_MS = 250;

export const livenessWatch = fromCallback<{ type: 'noop' }, LivenessInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  if (!client.sendPing && !client.checkAlive) return undefined;
  const idleMs = input.idleMs ?? LIVENESS_IDLE_MS;
  const timeoutMs = input.timeoutMs ?? LIVENESS_TIMEOUT_MS;
  const resendAfterMs = Math.floor(timeoutMs / 2);
  let lastRxAt = clock.now();
  let stopped = false;
  let timer: TimerId | undefined;
  /** A Ping is out and its timeout armed. */
  let awaiting = false;
  const received = (at: number): void => {
    lastRxAt = at;
    // The module answered: drop the Ping's deadline and arm the next check now, while awake.
    if (awaiting) {
      awaiting = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      arm();
    }
  };
  const unsubscribe = onModuleFrame(client, received);
  const later = (fn: () => void, ms: number): void => {
    if (!stopped) timer = clock.setTimeout(fn, Math.max(0, ms));
  };
  const silent = (error: string): void => {
    if (stopped) return;
    stopped = true;
    sendBack({ type: 'module.silent', error } satisfies LivenessEvent);
  };
  /** Arms the check for when the silence reaches idleMs (frames since the last check push it back). */
  const arm = (): void => later(check, lastRxAt + idleMs - clock.now());
  const check = (): void => {
    timer = undefined;
    if (clock.now() - lastRxAt < idleMs) {
      arm();
      return;
    }
    const sentAt = clock.now();
    sendPing(sentAt);
    awaiting = true;
    // The deadline waits for the input already in: a reply read in this same turn of the event
    // loop (on a veth most of them: the module answered while the host was still awake) then
    // arms no deadline at all, and the idle host sleeps once per Ping instead of twice (the
    // cleared deadline's empty wake-up; Node does not move its loop timer when a timer is
    // cleared). On the virtual clock, or when the reply is not in yet, the deadline is armed for
    // the same moment as before: sentAt + resendAfterMs.
    if (clock.afterPendingInput) {
      clock.afterPendingInput(() => {
        if (awaiting && !stopped) deadline(sentAt);
      });
    } else deadline(sentAt);
  };
  /**
   * No reply halfway to the deadline: one more Ping, so that a single frame lost on the link (the
   * Ping or its reply) is not taken for a dead module (fuzz run 5, seeds 204869 and 253035: one
   * lost reply during SLAC set the module up again). Answered Pings never get here (the reply
   * clears this timer), so at rest it costs nothing.
   */
  const deadline = (sentAt: number): void => {
    later(
      () => {
        if (lastRxAt < sentAt) sendPing(sentAt);
        later(() => {
          awaiting = false;
          // A host stalled past the timeout runs this timer before it reads the reply waiting in
          // its socket: judge one turn of the event loop later, after pending input was read.
          later(() => {
            timer = undefined;
            if (lastRxAt >= sentAt) arm();
            else silent(`Framing.Ping: no Ping Reply within ${timeoutMs} ms`);
          }, 0);
        }, timeoutMs - resendAfterMs);
      },
      sentAt + resendAfterMs - clock.now(),
    );
  };
  /**
   * The verdict is ours (above), so the Ping needs no waiter of its own: `sendPing` sends it
   * without the client's backstop timer and promise (at rest that is every Ping). A closed client
   * sends nothing, and is as silent as a module can be.
   */
  const sendPing = (sentAt: number): void => {
    if (client.sendPing) {
      if (!client.sendPing()) silent('Framing.Ping: client closed');
      return;
    }
    checkAlive(sentAt);
  };
  /**
   * A client without `sendPing` (test doubles): its own timeout is only a backstop. A Ping (or its
   * reply) lost on the link while other frames came in is no silence: the module is alive (fuzz
   * seed 684: a lost reply mid-charge set the EV module up again and the car charged on).
   */
  const checkAlive = (sentAt: number): void => {
    client.checkAlive?.(timeoutMs * 4).then(
      () => undefined,
      (e: unknown) => {
        if (lastRxAt < sentAt) silent(e instanceof Error ? e.message : String(e));
      },
    );
  };
  arm();
  return () => {
    stopped = true;
    unsubscribe();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});
