/**
 * Get State (manual 15.4.9) re-read as ControlPilot.StateChanged (machines/state-reread.ts): for
 * EVSE firmware that sends no StateChanged (EVSE V02_00_01, Sevenstax/FreeV2G#90) every
 * `periodMs` (the module-quirks period), and where the host waits for a car on any firmware,
 * every REREAD_AFTER_MS (a lost StateChanged, fuzz seed 200035). The CP machine has one code
 * path for all of them. Nothing happens when `periodMs` is undefined.
 */
import { ControlPilot } from '../codec/modules/control-pilot.js';
import type { Clock } from '../util/clock.js';
import type { HciClient } from './hci-types.js';
import { type StateRereadInput, stateReread } from './state-reread.js';

export interface CpStatePollInput {
  client: HciClient;
  clock: Clock;
  periodMs: number | undefined;
}

export const cpStatePollInput = (i: CpStatePollInput): StateRereadInput => ({
  ...i,
  def: ControlPilot.GetState,
  toStatus: (r) => ({ type: 'ControlPilot.StateChanged', module: 'ControlPilot', message: 'StateChanged', fields: { state: Number(r.state) } }),
});

/** The actor itself is the generic one; its input says what it reads. */
export const cpStatePoll = stateReread;
