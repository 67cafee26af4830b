/**
 * The EVSE session's bounds on a lost end of session (machines/v2g-evse-session.ts): a phase in
 * which the host waits on the car ends when the module's Session Stopped, or anything from the
 * car, has not come for this long. Moved here as they were (ninth round).
 */

/**
 * Session set-up, charge parameter discovery and post charge wait on the car, and end with Session Stopped (or
 * Session Error). The module ends a session whose car went quiet after V2G_SECC_Sequence_Timeout
 * (60 s) and reports it; a car still busy (welding detection) makes it report DC Charge
 * Parameters Changed on each request. So 70 s there with no status at all means the end was lost
 * on the link (fuzz seeds 511 552: a dropped or corrupted Session Stopped left the session in
 * post charge for ever, no record; 602 the same in charge parameter discovery): the host ends it
 * as Session Stopped would have (no output outside energy transfer).
 */
export const LOST_END_WATCHDOG_MS = 70_000;

/**
 * Pre-charge is bounded by the car: it gives up within 7 s (ISO 15118-2 / DIN 70121
 * V2G_EVCC_PreCharge_Timeout) and then sends PowerDeliveryReq (Start Charging Requested), stops
 * (Session Stopped) or goes quiet (the module's 60 s sequence timeout: Session Error, Session
 * Stopped). So still in pre-charge 7 s plus the lost-end wait after Pre Charge Started, the
 * status that ends it was lost (fuzz seed 116055: the car stopped its session 10 s into
 * pre-charge and the one Session Stopped was dropped; the host held the pre-charge voltage for
 * ever while the module went on answering its updates 0). Measured from Pre Charge Started and
 * not re-armed by DC Charge Parameters Changed: a car still pre-charging then is out of the
 * standard's bounds too. The charge loop has no such bound (it lasts as long as the car charges).
 */
export const PRE_CHARGE_LOST_END_MS = 7_000 + LOST_END_WATCHDOG_MS;

/** A child state that waits for the car, re-armed by each of its status messages (see above). */
export const lostEndWatchdog = {
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        'V2g.EvseDcChargeParametersChanged': { target: 'waiting', reenter: true, actions: ['dcParametersChanged', 'sendUpdate'] },
        'V2g.EvseAcChargeParametersChanged': { target: 'waiting', reenter: true, actions: ['acParametersChanged', 'sendUpdate'] },
      },
      after: {
        lostEndWatchdog: {
          target: '#v2gEvseSession.done',
          actions: [{ type: 'log', params: { text: `No Session Stopped and nothing from the car for ${LOST_END_WATCHDOG_MS / 1000} s: ending the session`, level: 'warn' } }, { type: 'lostEnd' }],
        },
      },
    },
  },
} as const;
