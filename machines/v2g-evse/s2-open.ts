/**
 * The car opened S2 (CP C -> B) in the charge loop with no stop request. The charger has held its
 * output at 0 since the first B (IEC 61851-1 Annex A: no energy in state B; charger-gates.ts);
 * this decides when the session gives up. Cars do open S2 in the charge loop
 * (Sevenstax/FreeV2G#7, #273) and CP readings flicker (Sevenstax/FreeV2G#11), so S2 closed again
 * within S2_OPEN_END_MS goes on charging; S2 open longer ends the session whatever became of its
 * V2G side (fuzz seed 253035: the PLC link lost in the charge loop, the module's Session Error and
 * Session Stopped both lost on the HCI link, the car back in B; the host charged on for ever).
 * EvseStopCharging is the energy transfer's exit; Stop Listen ends a module session still running.
 * Pre-charge has its own bound (PRE_CHARGE_LOST_END_MS).
 */
import type { AnyActorRef } from 'xstate';
import { logEvent } from '../station-events.js';
import { type EvseSessionCommand, act, sendCharger, toParent } from './common.js';

/**
 * Long enough for a flickering CP reading and for a car that opened S2 just before its
 * PowerDeliveryReq (Stop) to have that request reach the host (the module answers each request
 * within ISO 15118-2's message timing; a CurrentDemandReq cycle is ~100-250 ms), short enough that
 * a car whose V2G session is gone does not hold the station for the 60 s sequence timeout.
 */
export const S2_OPEN_END_MS = 3_000;

type S2Event = { type: string } | Extract<EvseSessionCommand, { type: 'session.s2' }>;
const isS2 = (event: S2Event): event is Extract<EvseSessionCommand, { type: 'session.s2' }> => event.type === 'session.s2';

/**
 * ISO 15118-2 [V2G2-847]: "The EV shall signal CP State C or D no later than 250 ms after sending
 * the first PowerDeliveryReq with ChargeProgress equals Start". The module reports that request as
 * Start Charging Requested, so a car still in B 250 ms after it is late (measured from the status,
 * which comes after the request: never early). The standard gives the SECC no reaction; Josev's
 * SECC logs "C2/D2 CP state not detected after 250ms in PowerDelivery" and goes on
 * (ecog-io/iso15118#201, #437; its #282 had stopped the session), EVerest defines the 250 ms
 * (V2G_CP_STATE_B_TO_C_D_TIMEOUT, relaxed 500) beside its 60 s sequence timeout. Here: the output
 * is held at 0 while S2 is open (IEC 61851-1: no energy in state B; charger-gates.ts), the CP state
 * is read back every 250 ms (a lost State Changed must not look like a late car), a warning at
 * 250 ms, the delay in the record when S2 closes later, and S2 still open S2_OPEN_END_MS after
 * Start Charging Requested ends the session as an S2 opened in the charge loop does
 * (`evDidNotCloseS2`): [V2G2-860] gives the SECC 3 s from C/D to close its contactor, so a car
 * that wants energy has long closed S2 by then, and one that does not would hold the station until
 * the 60 s sequence timeout.
 */
export const STATE_C_AFTER_POWER_DELIVERY_MS = 250;

/** C or D in the EVSE CP machine's last reading (control-pilot-evse.ts); no CP machine (bare session): closed. */
const s2ClosedNow = (system: { get(id: string): unknown }): boolean => {
  const cp = system.get('cp') as { getSnapshot(): { context: { cpState?: number } } } | undefined;
  if (!cp) return true;
  const state = cp.getSnapshot().context.cpState;
  return state === 2 || state === 3;
};

export const s2Guards = {
  s2Opened: ({ event }: { event: S2Event }): boolean => isS2(event) && !event.closed,
  s2Reclosed: ({ event }: { event: S2Event }): boolean => isS2(event) && event.closed,
};

/** What the late car costs, for the log and the record (above). */
export const stateCActions = {
  /** Guards see no sibling: S2 as the CP machine read it last comes back as an event. */
  checkS2AtStart: act(({ enqueue, system }) => enqueue.raise({ type: 'session.s2', closed: s2ClosedNow(system) })),
  /** S2 open at Start Charging Requested: hold the output, read the CP back until it closes. */
  awaitStateC: act(({ enqueue, context, system }) => {
    enqueue.assign({ stateCAskedAt: context.clock.now() });
    sendCharger(enqueue, system, { type: 'charger.s2', closed: false });
    const cp = system.get('cp') as AnyActorRef | undefined;
    if (cp) enqueue.sendTo(cp, { type: 'cp.watchS2' });
  }),
  stopWatchingS2: act(({ enqueue, system }) => {
    const cp = system.get('cp') as AnyActorRef | undefined;
    if (cp) enqueue.sendTo(cp, { type: 'cp.unwatchS2' });
  }),
  stateCLate: act(({ enqueue, self }) =>
    toParent(
      enqueue,
      self,
      logEvent('EVSE', `The EV has not closed S2 (CP state B) ${STATE_C_AFTER_POWER_DELIVERY_MS} ms after PowerDeliveryReq(Start) (ISO 15118-2 [V2G2-847]): output held at 0 until it does`, 'warn'),
    ),
  ),
  stateCClosed: act(({ enqueue, self, context }) => {
    const ms = context.clock.now() - (context.stateCAskedAt ?? context.clock.now());
    if (ms <= STATE_C_AFTER_POWER_DELIVERY_MS) return;
    enqueue.assign({ lateStateCMs: ms });
    toParent(
      enqueue,
      self,
      logEvent('EVSE', `The EV closed S2 (CP state C/D) ${ms} ms after PowerDeliveryReq(Start), later than ISO 15118-2 [V2G2-847]'s ${STATE_C_AFTER_POWER_DELIVERY_MS} ms`, 'warn'),
    );
  }),
  evDidNotCloseS2: act(({ enqueue, self, context }) => {
    toParent(enqueue, self, logEvent('EVSE', `S2 still open (CP state B) ${S2_OPEN_END_MS / 1000} s after PowerDeliveryReq(Start) (ISO 15118-2 [V2G2-847]): ending the session`, 'warn'));
    if (!context.stopReason) enqueue.assign({ stopReason: 'evDidNotCloseS2' });
  }),
};

/**
 * Child states of `charging` (the session's delays: `s2OpenEnd` is S2_OPEN_END_MS, `stateCDeadline`
 * STATE_C_AFTER_POWER_DELIVERY_MS). A renegotiated session comes back here with S2 closed.
 */
export const s2OpenBound = {
  initial: 'atStart',
  states: {
    atStart: {
      entry: 'checkS2AtStart',
      on: { 'session.s2': [{ guard: 's2Reclosed', target: 's2Closed' }, { target: 's2NotYetClosed' }] },
    },
    s2NotYetClosed: {
      entry: 'awaitStateC',
      exit: 'stopWatchingS2',
      on: { 'session.s2': { guard: 's2Reclosed', target: 's2Closed', actions: 'stateCClosed' } },
      after: {
        stateCDeadline: { actions: 'stateCLate' },
        s2OpenEnd: { target: '#v2gEvseSession.done', actions: ['evDidNotCloseS2', 'evseStopListen'] },
      },
    },
    s2Closed: { on: { 'session.s2': { guard: 's2Opened', target: 's2Open' } } },
    s2Open: {
      on: { 'session.s2': { guard: 's2Reclosed', target: 's2Closed' } },
      after: { s2OpenEnd: { target: '#v2gEvseSession.done', actions: ['evLeftStateC', 'evseStopListen'] } },
    },
  },
} as const;
