/**
 * A request to the module sent every period until a stop condition holds: the one loop behind
 * the host's probes of state it may have missed (a lost notification re-read, state-reread.ts; a
 * lost Authorization Status Requested answered, v2g-evse/authorization-probe.ts). Written once so
 * that both keep the same rules:
 * - the first request goes out `periodMs` after the start (a sound link has told the host by then,
 *   so it sends nothing), the next one `periodMs` after the previous one's answer or failure: one
 *   request in flight at a time, never a burst behind a slow link;
 * - a failure (refused, lost, timed out) is asked again at the next period: the module's answer
 *   is the probe, its refusal says "not yet";
 * - an answer arriving after the stop is dropped unread, so the owner hears nothing once it left
 *   the state that asked;
 * - nothing at all with `periodMs` undefined (no timer, no traffic).
 */
import type { Clock, TimerId } from '../util/clock.js';

export interface RequestEveryInput<T> {
  clock: Clock;
  periodMs: number | undefined;
  /** Sends the request (called at each period; the previous one has settled). */
  request: () => Promise<T>;
  /** An answer while running; 'stop' ends the loop (no further request). */
  onAnswer: (answer: T) => 'stop' | undefined;
}

/** Starts the loop; the function returned stops it (a fromCallback actor's clean-up). */
export function requestEvery<T>(input: RequestEveryInput<T>): () => void {
  const { clock, periodMs, request, onAnswer } = input;
  if (periodMs === undefined) return () => undefined;
  let timer: TimerId | undefined;
  let stopped = false;
  const tick = (): void => {
    timer = undefined;
    request()
      .then((answer) => {
        if (!stopped && onAnswer(answer) === 'stop') stopped = true;
      })
      // Tried again at the next period; the owner's machine logs the failures that matter.
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
}
