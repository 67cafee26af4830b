/**
 * The bound on every wait that follows a status message the host could not use (issue 9 item 4).
 * The session machines follow the module's status messages; one that does not decode, or
 * decodes but is not usable (tolerant decoding, docs/firmware.md), is never acted on. If it was
 * the one the session waited for (Stop Charging Requested, Session Stopped, ...), nothing else
 * ends the wait: a module that ended its session still answers the EVSE's parameter updates, and
 * the host would hold its output for a car that stopped. So: a V2G status message that reached
 * the host but was not delivered (the client's `unusableStatus$`, machines/hci-client.ts) arms a
 * timer; the next usable V2G status message disarms it (the session goes on); when it runs out,
 * `session.noModuleStatus` goes to the parent, once, and the session ends there with the output at 0.
 *
 * Only messages the host could not use arm it: the charge loop of firmware that sends nothing while
 * only the SOC changes (Sevenstax/FreeV2G#68) is silent for minutes and must not end. The client
 * decides what counts (it knows the frames); this watchdog sees typed events only.
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';
import type { HciClient } from './hci-types.js';

/** 10 s: the module's own deadlines for a host answer in a running session are shorter or end the session themselves. */
export const UNUSABLE_STATUS_BOUND_MS = 10_000;

export interface StatusWatchdogInput {
  client: HciClient;
  clock: Clock;
  boundMs?: number;
}

export type StatusWatchdogEvent = {
  type: 'session.noModuleStatus';
  boundMs: number;
  /** The names of the unusable ones since it armed, where known: an end of session among them ended the module's session. */
  messages: string[];
};

export const statusWatchdog = fromCallback<{ type: 'noop' }, StatusWatchdogInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  const boundMs = input.boundMs ?? UNUSABLE_STATUS_BOUND_MS;
  let timer: TimerId | undefined;
  let messages: string[] = [];
  const disarm = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    messages = [];
  };
  // The first unusable one arms it; later ones do not push the bound out.
  const unusable = client.unusableStatus$?.subscribe((u) => {
    if (u.module !== 'V2g') return;
    if (u.message !== undefined) messages.push(u.message);
    if (timer !== undefined) return;
    timer = clock.setTimeout(() => sendBack({ type: 'session.noModuleStatus', boundMs, messages } satisfies StatusWatchdogEvent), boundMs);
  });
  const status = client.status$.subscribe((e) => {
    if (e.module === 'V2g') disarm();
  });
  return () => {
    unusable?.unsubscribe();
    status.unsubscribe();
    disarm();
  };
});

/** The log line and record error of a session the watchdog ended. */
export function noModuleStatus(boundMs: number): { text: string; error: { name: string; detail: string } } {
  const detail = `a V2G status message from the module could not be used (named in a warning above) and no usable one followed within ${boundMs / 1000} s`;
  return { text: `Session ended: ${detail}; output to 0`, error: { name: 'noModuleStatus', detail } };
}
