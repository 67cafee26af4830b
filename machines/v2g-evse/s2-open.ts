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
import type { EvseSessionCommand } from './common.js';

/**
 * Long enough for a flickering CP reading and for a car that opened S2 just before its
 * PowerDeliveryReq (Stop) to have that request reach the host (the module answers each request
 * within ISO 15118-2's message timing; a CurrentDemandReq cycle is ~100-250 ms), short enough that
 * a car whose V2G session is gone does not hold the station for the 60 s sequence timeout.
 */
export const S2_OPEN_END_MS = 3_000;

type S2Event = { type: string } | Extract<EvseSessionCommand, { type: 'session.s2' }>;
const isS2 = (event: S2Event): event is Extract<EvseSessionCommand, { type: 'session.s2' }> => event.type === 'session.s2';

export const s2Guards = {
  s2Opened: ({ event }: { event: S2Event }): boolean => isS2(event) && !event.closed,
  s2Reclosed: ({ event }: { event: S2Event }): boolean => isS2(event) && event.closed,
};

/** Child states of `charging` (the session's delay `s2OpenEnd` is S2_OPEN_END_MS). */
export const s2OpenBound = {
  initial: 's2Closed',
  states: {
    s2Closed: { on: { 'session.s2': { guard: 's2Opened', target: 's2Open' } } },
    s2Open: {
      on: { 'session.s2': { guard: 's2Reclosed', target: 's2Closed' } },
      after: { s2OpenEnd: { target: '#v2gEvseSession.done', actions: ['evLeftStateC', 'evseStopListen'] } },
    },
  },
} as const;
