/**
 * The EV host's answers to the module's notifications that are sent again when a frame is lost,
 * and what a refused resend means (issue 12 item 13; docs/reliability.md, eighth and ninth rounds).
 * The EV counterpart of the EVSE's table (v2g-evse/lost-answers.ts); `command()`
 * (machines/v2g-command.ts) gives each of these commands its row.
 *
 * Start Cable Check "starts the cable check after the notification Cable Check Ready has been
 * received" (18.9.11), Start Pre Charging the pre-charge after Pre Charging Ready (18.9.12). Lost
 * on the link, the car waited in the cable check (the EVSE module's 60 s) or in pre-charge (the
 * EV's 10 s watchdog) and never charged (fuzz seeds 400005, 400164): sent again when unanswered
 * while the module still talks, three tries in all as a CP value (SET_COMMAND_RESENDS). A resend
 * refused 0x11 ("Wrong state, not in the state to receive the command", 18.5) means the module no
 * longer waits for it: it took an earlier send whose answer was lost (the simulated module takes
 * each only in the state its notification announced, sim/services/v2g-ev.ts; the field firmware
 * refuses a command 0x11 once it no longer waits for it, Sevenstax/FreeV2G#199 on the EVSE side).
 * Counted as taken (`hci.takenUnanswered`, logged), not as a failure: before, it was a warning.
 * A first send refused 0x11 stays a failure (the module never waited for it).
 *
 * Stop Session (18.9.15, after Post Charging Ready) the same way (ninth round): its answer 0 is
 * the module's word that it ends its session (v2g-ev/stop-taken.ts), and with that answer lost a
 * resend is refused 0x11 (the module stops or has stopped: no session left to stop; the
 * simulated module refuses it outside the states that take it). Fuzz seed 300947: the answer and
 * Session Stopped both lost, the resend refused, and the host, not knowing its stop was taken,
 * waited 65 s for a module end after the EVSE left. Taken, `onAnswer` tells the session.
 */
import { V2g } from '../../codec/catalog.js';
import { SET_COMMAND_RESENDS } from '../hci-actors.js';
import { type LostFrameRow, WRONG_STATE, lostFrameLookup } from '../v2g-lost-frames.js';

/** The client's default answer timeout; sent again on a timeout, a resend refused 0x11 is taken. */
const RESENT: Omit<LostFrameRow, 'manual'> = { resends: SET_COMMAND_RESENDS, takenIfResendRefused: [WRONG_STATE] };

/** The EV's answers to the module's notifications that are sent again (see above), by command name. */
export const EV_RESEND_TABLE: Readonly<Record<string, LostFrameRow>> = {
  [V2g.EvStartCableCheck.name]: { manual: '18.9.11 after Cable Check Ready (18.11.5)', ...RESENT },
  [V2g.EvStartPreCharging.name]: { manual: '18.9.12 after Pre Charging Ready (18.11.7)', ...RESENT },
  [V2g.EvStopSession.name]: { manual: '18.9.15 after Post Charging Ready (18.11.11)', ...RESENT },
};

/** What `command()` adds to an EV command of the table; undefined for any other. */
export const evResendHandling = lostFrameLookup(EV_RESEND_TABLE);
