/**
 * The bound on every wait for the module inside a V2G session (issue 9 item 4). The session
 * machines follow the module's status messages; a status message that does not decode (tolerant
 * decoding finds it not usable, docs/firmware.md) is never acted on, and a module that ended the
 * session without a usable Session Stopped still answers the EVSE's parameter updates. Nothing
 * then ends the wait: the host would hold its output for a car that left. So: when no usable
 * status message of the V2G module arrived for `silenceMs`, report `session.noModuleStatus` to
 * the parent once; the session ends there with the output at 0.
 *
 * The default exceeds every gap a live session has between two status messages: the module waits
 * for the host's authorization answer up to its own 60 s (Sevenstax/FreeV2G#14), and it ends a
 * session whose car sent nothing for 60 s (V2G_SECC_Sequence_Timeout, DIN 70121 / ISO 15118-2).
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';
import type { HciClient } from './hci-types.js';

export const STATUS_SILENCE_MS = 90_000;

export interface StatusWatchdogInput {
  client: HciClient;
  clock: Clock;
  silenceMs?: number;
}

export type StatusWatchdogEvent = { type: 'session.noModuleStatus'; silenceMs: number };

export const statusWatchdog = fromCallback<{ type: 'noop' }, StatusWatchdogInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  const silenceMs = input.silenceMs ?? STATUS_SILENCE_MS;
  let timer: TimerId | undefined;
  const arm = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => sendBack({ type: 'session.noModuleStatus', silenceMs } satisfies StatusWatchdogEvent), silenceMs);
  };
  const sub = client.status$.subscribe((e) => {
    if (e.module === 'V2g') arm();
  });
  arm();
  return () => {
    sub.unsubscribe();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});

/** The log line and record error of a session the watchdog ended. */
export function noModuleStatus(silenceMs: number): { text: string; error: { name: string; detail: string } } {
  const detail = `no usable V2G status message from the module for ${silenceMs / 1000} s (a message that did not decode is named in a warning above)`;
  return { text: `Session ended: ${detail}; output to 0`, error: { name: 'noModuleStatus', detail } };
}
