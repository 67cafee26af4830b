/**
 * Get State (manual 15.4.9) re-read as ControlPilot.StateChanged by the generic re-read actor
 * (machines/state-reread.ts): for EVSE firmware that sends no StateChanged (EVSE V02_00_01,
 * Sevenstax/FreeV2G#90) at least every `periodMs` (the module-quirks period), and on any firmware
 * where a lost StateChanged would strand the host: waiting for a car and with a car at 100 %
 * every CAR_WAIT_REREAD_MS (fuzz seed 200035; a car that left unseen), at 5 % every
 * REREAD_AFTER_MS (a C -> B in the charge loop), watching S2 every S2_REREAD_MS ([V2G2-847]);
 * machines/control-pilot-evse.ts picks the period by phase. The CP machine has one code path for
 * all of them. Nothing happens when `periodMs` is undefined.
 */
import { ControlPilot } from '../codec/modules/control-pilot.js';
import type { Clock } from '../util/clock.js';
import type { HciClient } from './hci-types.js';
import { LIVENESS_IDLE_MS } from './liveness.js';
import type { StateRereadInput } from './state-reread.js';

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

/**
 * An EVSE waiting for a car re-reads the CP state less often: that wait is the host at rest, for
 * hours, and a Get State round trip costs it more CPU than the liveness Ping (the Ping has its
 * own short path, machines/hci-ping.ts; measured at rest on a veth: 2.4 against 2.1 ms a frame,
 * docs/performance.md target 2, fifth round). A car whose State Changed was lost is seen within
 * 6.8 s, which a driver plugging in does not notice beside SLAC's own seconds; between two reads
 * the Pings keep the 2 s liveness bound. The same period holds with a car plugged in at 100 %
 * (before or after its session, paused): a car that left unseen is let go within 6.8 s too.
 * A whole number of liveness periods, so that the read goes out when the Ping would and stands in
 * for it (one frame every 1.7 s at rest; 6 s with the 1.7 s period would be a read 0.9 s after a
 * Ping, 13 % more frames, eighth round).
 */
export const CAR_WAIT_REREAD_MS = 4 * LIVENESS_IDLE_MS;
