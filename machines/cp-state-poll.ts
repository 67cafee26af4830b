/**
 * Get State fallback for EVSE firmware that sends no ControlPilot.StateChanged
 * (EVSE V02_00_01, Sevenstax/FreeV2G#90). While invoked it asks ControlPilot.GetState every
 * `periodMs` and hands a change to its parent as the StateChanged status message the module
 * would have sent, so the CP machine has one code path for both kinds of firmware. Nothing
 * happens when `periodMs` is undefined (the firmware reports changes itself): no timer, no
 * traffic, no idle cost.
 */
import { fromCallback } from 'xstate';
import { ControlPilot } from '../codec/modules/control-pilot.js';
import type { Clock, TimerId } from '../util/clock.js';
import type { HciClient, StatusEvent } from './hci-types.js';

export interface CpStatePollInput {
  client: HciClient;
  clock: Clock;
  periodMs: number | undefined;
}

export const cpStatePoll = fromCallback<{ type: 'noop' }, CpStatePollInput>(({ input, sendBack }) => {
  const { client, clock, periodMs } = input;
  if (periodMs === undefined) return () => undefined;
  let timer: TimerId | undefined;
  let stopped = false;
  let last: number | undefined;
  const tick = (): void => {
    timer = undefined;
    client
      .request(ControlPilot.GetState, {})
      .then((r) => {
        const state = Number((r as { state: number }).state);
        if (stopped || state === last) return;
        last = state;
        const event: StatusEvent = { type: 'ControlPilot.StateChanged', module: 'ControlPilot', message: 'StateChanged', fields: { state }, at: clock.now() };
        sendBack(event);
      })
      // A lost or refused poll is retried at the next period; the CP machine logs real failures.
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
