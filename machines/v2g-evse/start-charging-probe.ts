/**
 * A lost Start Charging Requested (18.12.10) is offered its answer (issue 12 item 13, ninth
 * round). In DC pre-charge the car sends PreChargeReq after PreChargeReq, each reported as DC
 * Charge Parameters Changed (18.12.6), until the output reaches its target; then it sends
 * PowerDeliveryReq, which the module reports as Start Charging Requested and holds until the host
 * sends Start Charging (18.10.15) or the timeout the message carried runs out ("the communication
 * session will be closed"; the manual's example 500 ms, the simulator's 5 s). Fuzz seed 300249:
 * Start Charging Requested dropped on the EVSE's HCI link, the host held the pre-charge voltage,
 * the module ended the session 5 s later (Session Error 0) and the car never charged (15 of the
 * 2,000 sessions from seed 300,001 on main; docs/reliability.md, ninth round).
 *
 * The sign is the module's own answer, as for the other probes (lost-status-probe.ts): Start
 * Charging "has to be used ... after it was requested" (18.10.15) and a command out of its state
 * is refused 0x11 (18.5); the field firmware does refuse Start Charging 0x11 when it no longer
 * waits for it (Sevenstax/FreeV2G#199). So taken (code 0), the car had asked: PowerDeliveryRes
 * goes out, and the host goes on as if the request had come; refused, nothing changed.
 *
 * An offer taken whose answer was lost (seed 301595: the next offers are refused 0x11, the
 * module being in the charge loop) shows in the car's next requests: from PowerDeliveryRes on
 * it asks the charge loop's current, and in pre-charge it may ask at most 2 A (IEC 61851-23
 * CC.6, `PRE_CHARGE_MAX_CURRENT_A`; the targets are valid from Pre Charge Started, 18.12.6). So
 * after an unanswered offer, a DC Charge Parameters Changed asking more counts as taken.
 *
 * When to offer it: when the car's pre-charge requests stop and nothing came. Each DC Charge
 * Parameters Changed in pre-charge re-arms the probe; the first offer goes twice the longest gap
 * seen between two of them plus `PROBE_FIRST_MS` (one report lost on the link, or late, does not
 * look like the end: seed 300097 with twice the gap alone offered it as the car's next request
 * came), or `NO_PACE_MS` before a second one came.
 * In a session that lost nothing, Start Charging Requested follows the last pre-charge request
 * within the car's reaction, long before that, so no probe is sent (the simulated car's requests
 * come every 220 ms and pre-charge takes several: no offer in any sim-hash scenario).
 */
import { V2g } from '../../codec/catalog.js';
import { type LostStatusProbeInput, PROBE_FIRST_MS, lostStatusProbe } from '../lost-status-probe.js';
import { REREAD_AFTER_MS } from '../state-reread.js';
import { PRE_CHARGE_MAX_CURRENT_A } from '../charger-gates.js';
import { ANSWER_TIMEOUT_MS } from './lost-answers.js';
import type { EvseSessionContext } from './common.js';

/** The first wait after the first pre-charge request, before the car's pace is known. */
export const NO_PACE_MS = 1_000;

/** To the session: the module took the offered Start Charging, so it had asked (the request was lost). */
export type StartChargingProbeTaken = { type: 'startCharging.probeTaken'; afterMs: number };

export const startChargingProbe = lostStatusProbe<StartChargingProbeTaken>();

/** The wait before the first offer after a pre-charge request (see above). */
export function paceWait(): (sincePreviousMs: number | undefined) => number {
  let longestGapMs: number | undefined;
  return (sincePreviousMs) => {
    if (sincePreviousMs !== undefined) longestGapMs = Math.max(longestGapMs ?? 0, sincePreviousMs);
    return longestGapMs === undefined ? NO_PACE_MS : PROBE_FIRST_MS + 2 * longestGapMs;
  };
}

export function startChargingProbeInput(
  client: LostStatusProbeInput<StartChargingProbeTaken>['client'],
  clock: LostStatusProbeInput<StartChargingProbeTaken>['clock'],
  maxPeriodMs: number,
): LostStatusProbeInput<StartChargingProbeTaken> {
  return {
    client,
    clock,
    after: 'EvseDcChargeParametersChanged',
    expected: 'EvseStartChargingRequested',
    maxPeriodMs,
    firstWaitMs: paceWait(),
    // The table's answer timeout, not the client's 1 s: the offer must not hold the V2G queue, and
    // the updates behind it, past the module's 500 ms (18.10.4; seed 301595: error 23).
    send: () => client.request(V2g.EvseStartCharging, {}, { timeoutMs: ANSWER_TIMEOUT_MS }),
    takenSign: (e) => e.message === 'EvseDcChargeParametersChanged' && Number(e.fields.targetCurrentA) > PRE_CHARGE_MAX_CURRENT_A,
    taken: (afterMs) => ({ type: 'startCharging.probeTaken', afterMs }),
  };
}

/** The session's invoke input: offers at most every `REREAD_AFTER_MS` while refused, as the other probes. */
export const startChargingProbeInputOf = ({ context }: { context: EvseSessionContext }) => startChargingProbeInput(context.client, context.clock, REREAD_AFTER_MS);
