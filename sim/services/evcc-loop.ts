/**
 * The simulated car's charge loop (CurrentDemand / ChargingStatus every loop interval) outside
 * the EVCC machine (evcc-machine.ts). In the machine each round trip was two macrosteps: the
 * response (`sending` -> `waiting`) and the loop's delayed event (`waiting` -> `sending`), for
 * nothing but a request, a status message and two timers (issue 12 target 4). The machine keeps
 * `chargeLoop` as one state and the decisions: a failed response, a response after a stop
 * request (PowerDelivery stop), a stop request between requests, the response timeout, a link
 * lost. This loop sends the requests and takes the other responses.
 *
 * Same frames at the same instants: a request arms the response deadline right after it goes
 * out, a response is reported and then arms the next request `loopIntervalMs` after the last
 * one started, the order in which the machine's entry actions and delayed events did it.
 */
import type { Clock, TimerId } from '../../util/clock.js';
import type { V2gResponse } from '../v2g-messages.js';
import type { EvccEvent, EvccPort } from './evcc-machine.js';

/** ISO 15118-2 V2G_EVCC_Msg_Timeout is 2 s; the SECC answers or fails before this. */
export const RESPONSE_TIMEOUT_MS = 65_000;

export interface ChargeLoop {
  /** The machine entered `chargeLoop`: the first request goes out. */
  start(): void;
  /** The machine left `chargeLoop` (or stopped): no more requests, no timers. */
  stop(): void;
  /** Between a response and the next request (a stop request ends the loop now). */
  waiting(): boolean;
  /** A station response: true when the loop took it (or ignored it, between requests, as the machine did). */
  response(res: V2gResponse): boolean;
}

export interface ChargeLoopDeps {
  clock: Clock;
  port: Pick<EvccPort, 'send' | 'loopResponse' | 'isDc'>;
  loopIntervalMs: number;
  /** The machine: its stop request (context) and its events. */
  stopRequested(): boolean;
  send(event: EvccEvent): void;
}

export function createChargeLoop(deps: ChargeLoopDeps): ChargeLoop {
  const { clock, port } = deps;
  let active = false;
  let sending = false;
  let lastSentAt = 0;
  let responseTimer: TimerId | undefined;
  let loopTimer: TimerId | undefined;
  const clear = (): void => {
    if (responseTimer !== undefined) clock.clearTimeout(responseTimer);
    if (loopTimer !== undefined) clock.clearTimeout(loopTimer);
    responseTimer = undefined;
    loopTimer = undefined;
  };
  const request = (): void => {
    loopTimer = undefined;
    sending = true;
    lastSentAt = clock.now();
    port.send(port.isDc() ? 'currentDemand' : 'chargingStatus');
    // A link lost on sending ended the loop (the machine took LINK_LOST): nothing to wait for.
    if (active) responseTimer = clock.setTimeout(timedOut, RESPONSE_TIMEOUT_MS);
  };
  const timedOut = (): void => {
    responseTimer = undefined;
    deps.send({ type: 'LOOP_TIMEOUT' });
  };
  return {
    start() {
      active = true;
      request();
    },
    stop() {
      active = false;
      sending = false;
      clear();
    },
    waiting: () => active && !sending,
    response(res) {
      if (!active) return false;
      if (!sending) return true;
      if (res.ok === false || deps.stopRequested()) return false;
      sending = false;
      if (responseTimer !== undefined) clock.clearTimeout(responseTimer);
      responseTimer = undefined;
      port.loopResponse(res);
      if (active) loopTimer = clock.setTimeout(request, Math.max(0, deps.loopIntervalMs - (clock.now() - lastSentAt)));
      return true;
    },
  };
}
