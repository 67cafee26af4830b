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
 * of its state is refused 0x11 (18.5). The two messages come from one request in this order, and
 * a link drops, delays or garbles frames but keeps their order, so Schedules Requested not there
 * `SCHEDULES_PROBE_FIRST_MS` after Energy Transfer Mode Selected was lost: the host sends Set
 * Schedules then, and again after 2x, 4x ... that wait (at most every `REREAD_AFTER_MS`) while
 * the module refuses it. Taken (code 0), the module had asked: the session goes on as if the
 * request had come (the parameter updates start, 18.10.4). The lost message's Max entries is not
 * known: the offer carries one entry per schedule tuple, the only count every request allows
 * (18.12.5 Max entries, 1-20 in 18.10.13), and the power is limited as for DIN 70121 while the
 * protocol is unknown (as for a request that came).
 *
 * The actor follows the module's notifications on the client's status stream (as the session's
 * status child does): it is invoked while the session waits for Schedules Requested, and stops
 * with that wait. `offer()` says what to send, or undefined not to probe (the session stops, an
 * energy transfer mode it refused).
 */
import { fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import type { ScheduleTuple } from '../station-events.js';
import type { HciClient } from '../hci-types.js';
import type { Clock, TimerId } from '../../util/clock.js';

/**
 * The first offer goes this long after Energy Transfer Mode Selected: well past the frame delays
 * a link adds between two frames of one request (the fuzz campaign's, up to 120 ms), inside the
 * manual's example timeout of 500 ms.
 */
export const SCHEDULES_PROBE_FIRST_MS = 200;

export interface SchedulesProbeInput {
  client: HciClient;
  clock: Clock;
  /** Longest wait between two offers. */
  maxPeriodMs: number;
  offer: () => { result: number; scheduleTuples: ScheduleTuple[] } | undefined;
}

/** To the session: the module took the offered schedules, so it had asked (the request was lost). */
export type SchedulesProbeTaken = { type: 'schedules.probeTaken'; afterMs: number; scheduleTuples: ScheduleTuple[] };

export const schedulesProbe = fromCallback<{ type: 'noop' }, SchedulesProbeInput>(({ input, sendBack }) => {
  const { client, clock, maxPeriodMs, offer } = input;
  let timer: TimerId | undefined;
  let stopped = false;
  let selectedAt = 0;
  let periodMs = SCHEDULES_PROBE_FIRST_MS;
  const arm = (ms: number): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(tick, ms);
  };
  const tick = (): void => {
    timer = undefined;
    const fields = offer();
    if (stopped || !fields) return;
    client
      .request(V2g.EvseSetSchedules, { ...fields, energyToBeDeliveredWh: undefined, salesTariffs: undefined })
      .then(() => {
        if (!stopped) sendBack({ type: 'schedules.probeTaken', afterMs: clock.now() - selectedAt, scheduleTuples: fields.scheduleTuples } satisfies SchedulesProbeTaken);
        stopped = true;
      })
      // 0x11: not asked (yet); a lost answer: offered again (a module that took it refuses 0x11).
      .catch(() => {
        if (stopped) return;
        periodMs = Math.min(maxPeriodMs, periodMs * 2);
        arm(periodMs);
      });
  };
  const sub = client.status$.subscribe((e) => {
    if (e.module !== 'V2g' || stopped) return;
    if (e.message === 'EvseEnergyTransferModeSelected') {
      selectedAt = clock.now();
      periodMs = SCHEDULES_PROBE_FIRST_MS;
      arm(periodMs);
    } else if (e.message === 'EvseSchedulesRequested' && timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
  });
  return () => {
    stopped = true;
    sub.unsubscribe();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});
