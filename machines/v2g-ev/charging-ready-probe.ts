/**
 * A lost Charging Ready (18.11.8) is offered its answer (issue 12 item 13, ninth round;
 * docs/reliability.md). In pre-charge the EV module sends PreChargeReq again and again and reports
 * each response as DC Charge Parameters Changed (18.11.2: the present voltage "only valid in the
 * charge loop. From Start Pre Charging until Session Stopped"); with the response that ends the
 * pre-charge it reports Charging Ready right after that DC Charge Parameters Changed, then goes on
 * reporting them while it waits for Start Charging (so, unlike the pairs of lost-status-probe.ts,
 * the message before it does not mark when it is due). The field firmware's own log shows it, in EV
 * mode: "Received event 'DC charge parameters changed'", "Received event 'Ready for charging'",
 * status 0xC7, then 'DC charge parameters changed' every 155 ms (Sevenstax/FreeV2G#363); the
 * simulated module does the same (sim/services/evcc-machine.ts `preCharge`). Lost on the link,
 * the host waited in pre-charge, its 10 s watchdog (PRE_CHARGE_WATCHDOG_MS) ended the session and
 * no energy flowed: fuzz seeds 300126 and 11 more of 2,000 from 300,001.
 *
 * The module has no query for its session state (chapter 18), but Start Charging is its own
 * probe: it starts charging "after the notification Charging Ready has been received" (18.9.13)
 * and a command out of its state is refused 0x11 (18.5; the simulator does so). When to ask is
 * not a guess either: a car's pre-charge ends within V2G_EVCC_PreCharge_Timeout (7 s, DIN 70121;
 * PRE_CHARGE_WATCHDOG_MS), with Charging Ready or a Session Error (the simulated module fails the
 * session then, sim/scenario.ts `preChargeTimeoutMs`). Nothing of it came 7 s (+200 ms,
 * PROBE_FIRST_MS, for the module's own start of pre-charge one round trip later) into pre-charge,
 * with the EVSE's present output within the battery's limits (the host's own start condition,
 * `mayStartCharging`, as after a Charging Ready that came): Start Charging is offered; refused or
 * unanswered, again after 400, 800 ms ... (at most REREAD_AFTER_MS) until the watchdog; taken
 * (0), the session goes on as after its own Start Charging. A module that failed the session (its
 * Session Error lost too) refuses it, and the watchdog ends the session as before. Not earlier:
 * a module still pre-charging takes the same time (the simulator's slow-precharge scenario, 5 s)
 * and a session that lost nothing sends no probe. State C is on since the cable check
 * (`startCableCheck`), so the PowerDeliveryReq the module sends then meets [V2G2-847]; nothing
 * is offered without it, nor once the session is stopping.
 */
import { fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import type { TimerId } from '../../util/clock.js';
import { PROBE_FIRST_MS } from '../lost-status-probe.js';
import { REREAD_AFTER_MS } from '../state-reread.js';
import { type EvSessionContext, mayStartCharging } from './common.js';

/** To the session: the module took Start Charging, so it was ready (Charging Ready was lost). */
export type ChargingReadyProbeTaken = { type: 'chargingReady.probeTaken'; afterMs: number };

export interface ChargingReadyProbeInput {
  context: EvSessionContext;
  /** The session's context now (its present values, whether it is stopping). */
  now: () => EvSessionContext;
}

/** Whether Start Charging may be offered now (see above). */
export const mayOfferStartCharging = (c: EvSessionContext): boolean =>
  c.resistorC === true && c.stopReason === undefined && !c.stopChargingSent && mayStartCharging(c, c.batteryLimits ?? c.config.battery);

/** The first offer, from the host's entry into pre-charge (see above). */
export const CHARGING_READY_PROBE_MS = 7_000 + PROBE_FIRST_MS;

export const chargingReadyProbe = fromCallback<{ type: 'noop' }, ChargingReadyProbeInput>(({ input, sendBack }) => {
  const { client, clock } = input.context;
  const enteredAt = clock.now();
  let timer: TimerId | undefined;
  let stopped = false;
  let periodMs = PROBE_FIRST_MS;
  const arm = (ms: number): void => {
    timer = clock.setTimeout(tick, ms);
  };
  const tick = (): void => {
    timer = undefined;
    if (stopped) return;
    // Not within the limits: looked at again (no traffic) until the watchdog ends the wait.
    if (!mayOfferStartCharging(input.now())) return arm(PROBE_FIRST_MS);
    client.request(V2g.EvStartCharging, {}).then(
      () => {
        if (!stopped) sendBack({ type: 'chargingReady.probeTaken', afterMs: clock.now() - enteredAt } satisfies ChargingReadyProbeTaken);
        stopped = true;
      },
      // 0x11: not ready (or failed); a lost answer: offered again (a module that took it refuses 0x11).
      () => {
        if (stopped) return;
        periodMs = Math.min(REREAD_AFTER_MS, periodMs * 2);
        arm(periodMs);
      },
    );
  };
  arm(CHARGING_READY_PROBE_MS);
  const sub = client.status$.subscribe((e) => {
    if (e.module !== 'V2g' || stopped || e.message !== 'EvChargingReady') return;
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  });
  return () => {
    stopped = true;
    sub.unsubscribe();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});

/** The probe's input: the session's context, read again when an offer is due. */
export const chargingReadyProbeInput = ({ context, self }: { context: EvSessionContext; self: { getSnapshot(): { context: EvSessionContext } } }): ChargingReadyProbeInput => ({
  context,
  now: () => self.getSnapshot().context,
});
