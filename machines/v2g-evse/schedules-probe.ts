/**
 * A lost Schedules Requested (18.12.5) is offered its answer (issue 12 item 13, eighth round).
 * The car's ChargeParameterDiscoveryReq makes the module report Energy Transfer Mode Selected
 * (18.12.4) and, right after it, Schedules Requested; the module then waits for Set Schedules
 * (18.10.13) until the timeout the lost message carried (the manual's example: 500 ms; the
 * simulator's 5 s) and closes the session (Session Error). Fuzz campaign seeds 300003, 300056,
 * 300057, 300076, 300151: Schedules Requested dropped or corrupted on the EVSE's HCI link, the
 * host waited in charge parameter discovery, the module ended the session 5 s later and the car
 * never charged: the most frequent way a session the car could have completed was lost to a
 * fault the host can recover from (36 of 2,000 seeds from 300,001; docs/reliability.md).
 *
 * As for the lost Authorization Status Requested (authorization-probe.ts), the answer is its own
 * probe: Set Schedules "has to be used ... after they were requested" (18.10.13) and a command out
 * of its state is refused 0x11 (18.5). The two messages come from one request in this order, so
 * Schedules Requested not there `PROBE_FIRST_MS` after Energy Transfer Mode Selected was lost
 * (machines/lost-status-probe.ts): the host sends Set Schedules then, again with a back-off to
 * `REREAD_AFTER_MS` while the module refuses it. Taken (code 0), the module had asked: the session
 * goes on as if the request had come (the parameter updates start, 18.10.4). The lost message's Max entries is not
 * known: the offer carries one entry per schedule tuple, the only count every request allows
 * (18.12.5 Max entries, 1-20 in 18.10.13), and the power is limited as for DIN 70121 while the
 * protocol is unknown (as for a request that came).
 *
 * The session's context is read when the offer goes (`schedulesOffer`): nothing is offered once
 * the session is stopping (an energy transfer mode refused, a stop sent).
 */
import { V2g } from '../../codec/catalog.js';
import { type LostStatusProbeInput, lostStatusProbe } from '../lost-status-probe.js';
import type { ScheduleTuple } from '../station-events.js';

/** To the session: the module took the offered schedules, so it had asked (the request was lost). */
export type SchedulesProbeTaken = { type: 'schedules.probeTaken'; afterMs: number; scheduleTuples: ScheduleTuple[] };

export const schedulesProbe = lostStatusProbe<SchedulesProbeTaken>();

export type SchedulesOffer = { result: number; scheduleTuples: ScheduleTuple[] };

/** The probe's input: `offer()` says what to send when it goes, or undefined (no probe). */
export function schedulesProbeInput(
  client: LostStatusProbeInput<SchedulesProbeTaken>['client'],
  clock: LostStatusProbeInput<SchedulesProbeTaken>['clock'],
  maxPeriodMs: number,
  offer: () => SchedulesOffer | undefined,
): LostStatusProbeInput<SchedulesProbeTaken> {
  let offered: ScheduleTuple[] = [];
  return {
    client,
    clock,
    after: 'EvseEnergyTransferModeSelected',
    expected: 'EvseSchedulesRequested',
    maxPeriodMs,
    send: () => {
      const fields = offer();
      if (!fields) return undefined;
      offered = fields.scheduleTuples;
      return client.request(V2g.EvseSetSchedules, { ...fields, energyToBeDeliveredWh: undefined, salesTariffs: undefined });
    },
    taken: (afterMs) => ({ type: 'schedules.probeTaken', afterMs, scheduleTuples: offered }),
  };
}
