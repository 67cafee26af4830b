/**
 * A lost Pre Charging Ready (18.11.7) is offered its answer (issue 12 item 13, eighth round). The
 * EV module reports Cable Check Finished (18.11.6) and, right after it, Pre Charging Ready; the
 * host answers with Start Pre Charging, which "starts the pre charging after the notification Pre
 * Charging Ready has been received" (18.9.12). Fuzz campaign seeds 300176, 300479, 300813, 300854
 * (14 of 2,000 from 300,001): Pre Charging Ready lost on the EV's HCI link, the host waited in
 * the cable check, the car sent no PreChargeReq, and the EVSE module's sequence timeout ended the
 * session 60 s later without a charge.
 *
 * The same probe as the EVSE's lost Schedules Requested (machines/lost-status-probe.ts): Pre
 * Charging Ready not there 200 ms after Cable Check Finished was lost, so Start Pre Charging goes
 * then, again with a back-off to `REREAD_AFTER_MS` while refused 0x11 (18.5: not in the state for
 * it); taken, the session enters pre-charge as if the message had come. Nothing is offered once
 * the session is stopping.
 */
import { V2g } from '../../codec/catalog.js';
import { type LostStatusProbeInput, lostStatusProbe } from '../lost-status-probe.js';
import { REREAD_AFTER_MS } from '../state-reread.js';
import type { EvSessionContext } from './common.js';

/** To the session: the module took Start Pre Charging, so it was ready (Pre Charging Ready was lost). */
export type PreChargeProbeTaken = { type: 'preCharge.probeTaken'; afterMs: number };

export const preChargeProbe = lostStatusProbe<PreChargeProbeTaken>();

/** The probe's input (the session's context is read when the offer goes). */
export const preChargeProbeInput = ({ context, self }: { context: EvSessionContext; self: { getSnapshot(): { context: EvSessionContext } } }): LostStatusProbeInput<PreChargeProbeTaken> => ({
  client: context.client,
  clock: context.clock,
  after: 'EvCableCheckFinished',
  expected: 'EvPreChargingReady',
  maxPeriodMs: REREAD_AFTER_MS,
  send: () => {
    const c = self.getSnapshot().context;
    return c.stopReason !== undefined || c.stopChargingSent ? undefined : context.client.request(V2g.EvStartPreCharging, {});
  },
  taken: (afterMs) => ({ type: 'preCharge.probeTaken', afterMs }),
});
