/**
 * Two rules of IEC 61851 on the EVSE's output besides the EV's and the station's limits; the
 * charger model (charger.ts) applies them to what it commands, so a power stage's setpoint
 * follows them too.
 *
 * Pre-charge: the EVSE brings its output voltage to the battery's with a small current (manual
 * 21.9.3 "ramp up its voltage and setup a small current"); IEC 61851-23 CC.6 caps that current at
 * 2 A, as the field reads it (SwitchEV/RISE-V2G#20: a car asking more in PreChargeReq;
 * EVerest/ext-switchev-iso15118#18: its simulated car asks 0 A "only under 2A in precharge").
 * The EVSE limits it whatever the car asks, and logs it once per pre-charge.
 *
 * S2: in state B the vehicle's S2 is open and it takes no energy; in C or D it is closed
 * (IEC 61851-1 state table). A vehicle leaving C/D while energy flows has stopped or paused, so
 * the output is commanded 0 at once and stays 0 while S2 is open; the V2G session's own stop or
 * pause goes on (PowerDeliveryReq Stop, SessionStopReq), it is not ended early for this. The
 * WHITE-beet only reports the state (ControlPilot StateChanged, manual 15.5.2, 21.2.2): the
 * output is the host's. Field: cars leave C for B in the charge loop with no stop request first
 * (Sevenstax/FreeV2G#7, #273); EVerest switches off on it (EVerest/EVerest#668). S2 closed again
 * in the same energy transfer (a CP glitch, Sevenstax/FreeV2G#11) lets the output follow the
 * car's targets again, as B2 -> C2 does in IEC 61851-1.
 */
import { logEvent, stationRelay } from './station-events.js';

/** IEC 61851-23 CC.6: the most current the EVSE delivers in pre-charge. */
export const PRE_CHARGE_MAX_CURRENT_A = 2;

export interface ChargerGates {
  /** Energy transfer is in pre-charge: the current is capped (see above). */
  preCharge?: boolean;
  /** The vehicle opened S2 during this energy transfer: no output (see above). */
  s2Open?: boolean;
  /** This pre-charge's cap was logged (once per pre-charge). */
  preChargeClampNoted?: boolean;
}

/** The commanded current under the gates (already within the EVSE's and EV's limits). */
export function gatedCurrentA(s: ChargerGates, currentA: number): number {
  return s.preCharge ? Math.min(currentA, PRE_CHARGE_MAX_CURRENT_A) : currentA;
}

/** The log line for a pre-charge request above the cap, the first time in this pre-charge. */
export function preChargeClampText(s: ChargerGates & { active: boolean; targetCurrentA: number }): string | undefined {
  if (!s.active || !s.preCharge || s.preChargeClampNoted || !(s.targetCurrentA > PRE_CHARGE_MAX_CURRENT_A)) return undefined;
  return `Pre-charge: the EV asks ${s.targetCurrentA} A, output limited to ${PRE_CHARGE_MAX_CURRENT_A} A (IEC 61851-23 CC.6)`;
}

export const S2_OPEN_TEXT = 'CP state B during energy transfer (the EV opened S2): output to 0 (IEC 61851-1)';
export const S2_CLOSED_TEXT = 'CP state C/D again (the EV closed S2): output follows the EV targets';

/** What `chargerLog` needs of an action's enqueuer. */
interface Enqueue {
  (action: () => void): void;
  sendParent(event: ReturnType<typeof logEvent>): void;
}

/** A charger's log line: to the station's listeners where it has a relay (station-events.ts), else through the parent. */
export function chargerLog(enqueue: Enqueue, system: object, text: string, level: 'info' | 'warn'): void {
  const relay = stationRelay(system);
  if (relay) enqueue(() => relay(logEvent('EVSE', text, level).event));
  else enqueue.sendParent(logEvent('EVSE', text, level));
}
