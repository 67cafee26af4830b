/**
 * A lost Cable Check Ready (18.11.5) is offered its answer (issue 12 item 13, ninth round;
 * docs/reliability.md). In a DC session the car goes on to the cable check right after the charge
 * parameter discovery ("the EV shall continue with the cable check after the exchange of the
 * charge parameter", the firmware's maintainers, Sevenstax/FreeV2G#340; DIN 70121 and ISO 15118-2
 * message sequence): the ChargeParameterDiscoveryRes that carries the schedules makes the EV module
 * report Schedule Received (18.11.4), and Cable Check Ready "when the cable check can be started"
 * follows it (the simulated module reports both from that response, in that order,
 * sim/services/evcc-machine.ts `chargeParameterDiscovery`). Lost on the link, the host waited in
 * the session's start, the car sent no CableCheckReq, and the EVSE module's sequence timeout
 * (60 s) ended the session without a charge: fuzz seeds 300043 and 9 more of 2,000 from 300,001.
 *
 * The same probe as the lost Pre Charging Ready (v2g-ev/pre-charge-probe.ts,
 * machines/lost-status-probe.ts): Cable Check Ready not there 200 ms after Schedule Received was
 * lost, so Start Cable Check ("starts the cable check after the notification Cable Check Ready has
 * been received", 18.9.11) goes then, again with a back-off to REREAD_AFTER_MS while refused 0x11
 * (18.5; the simulator refuses it outside that state); taken, the session goes on as if the
 * message had come (state C as `startCableCheck` asks it, side by side with the command as there).
 * DC only (an AC session goes on to Charging Ready; a mode not known, its Session Started lost
 * too as in seed 300884, counts as DC as everywhere in the session: an AC module refuses 0x11),
 * not in a renegotiation (no cable check then), nothing once the session is stopping.
 */
import { V2g } from '../../codec/catalog.js';
import { type LostStatusProbeInput, lostStatusProbe } from '../lost-status-probe.js';
import { REREAD_AFTER_MS } from '../state-reread.js';
import { type EvSessionContext, isDc } from './common.js';

/** To the session: the module took Start Cable Check, so it was ready (Cable Check Ready was lost). */
export type CableCheckProbeTaken = { type: 'cableCheck.probeTaken'; afterMs: number };

export const cableCheckProbe = lostStatusProbe<CableCheckProbeTaken>();

/** Whether Start Cable Check may be offered now (see above). */
const mayOffer = (c: EvSessionContext): boolean => isDc(c.energyTransferMode) && c.renegotiating !== true && c.stopReason === undefined && !c.stopChargingSent;

/** The probe's input (the session's context is read when the offer goes). */
export const cableCheckProbeInput = ({ context, self }: { context: EvSessionContext; self: { getSnapshot(): { context: EvSessionContext } } }): LostStatusProbeInput<CableCheckProbeTaken> => ({
  client: context.client,
  clock: context.clock,
  after: 'EvScheduleReceived',
  expected: 'EvCableCheckReady',
  maxPeriodMs: REREAD_AFTER_MS,
  send: () => (mayOffer(self.getSnapshot().context) ? context.client.request(V2g.EvStartCableCheck, {}) : undefined),
  taken: (afterMs) => ({ type: 'cableCheck.probeTaken', afterMs }),
});
