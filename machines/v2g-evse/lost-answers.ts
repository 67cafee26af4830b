/**
 * The EVSE host's answers to the module's requests, and what a lost frame does to them (issue 12
 * item 13; docs/reliability.md, eighth round "lost answers"). One table: `command()`
 * (v2g-evse/common.ts) gives every such command its row, no session action decides it again.
 *
 * Each of these commands "has to be used ... after it was requested by the status message" that
 * names it (18.10.12-18.10.15), and the module waits for it until that message's timeout
 * (18.12.3, 18.12.5, 18.12.8, 18.12.10: "If this timeout is exceeded the communication session
 * will be closed"). A frame lost on the link either way left the session to that timeout:
 * - the request lost: nothing was sent again, the module closed the session (fuzz seed 200166:
 *   Set Authorization Status lost, Session Error 60 s later; 200178: Start Charging lost,
 *   Session Error at the car's 5 s);
 * - the answer lost: the module had taken it, but the command held the V2G queue for the whole
 *   answer timeout (1 s), and the Update DC Charging Parameters behind it missed the module's
 *   500 ms deadline (18.10.4 note; Session Error 23, "the Whitebeet did not get an update of the
 *   charge parameters before the timeout of 500ms", Sevenstax/FreeV2G#87, #184): fuzz seeds
 *   200221 200276, Start Charging's answer dropped or corrupted.
 *
 * So each row waits `answerTimeoutMs` (configuration commands are answered at once, 10.1.5), then
 * sends the command again up to `resends` times. A resend the module refuses 0x11 ("Wrong state,
 * not in the state to receive the command", 18.5) means it is no longer waiting for the command:
 * it took an earlier send whose answer was lost (the simulated module; the field firmware refuses
 * Start Charging 0x11 once it no longer waits for it, Sevenstax/FreeV2G#199). Or the session
 * ended meanwhile, which its own Session Error / Session Stopped tells: the row counts the
 * command as taken either way, never as a failure to act on. A first send refused 0x11 stays a
 * failure: the module never waited for it.
 */
import { V2g } from '../../codec/catalog.js';
import { type LostFrameRow, WRONG_STATE, lostFrameLookup } from '../v2g-lost-frames.js';

/**
 * How long an answer to a module's request is waited for: two of them (a lost answer, then a
 * lost resend's answer) still leave the updates queued behind inside the module's 500 ms deadline
 * (18.10.4), and the requests' own timeouts leave no room for the default 1 s (the manual's
 * examples of Schedules Requested and Start Charging Requested carry 500 ms, 18.12.5 and
 * 18.12.10; a car that waits only ~400 ms for ChargeParameterDiscoveryRes, Sevenstax/FreeV2G#173).
 */
export const ANSWER_TIMEOUT_MS = 200;

/** A row of the table: every EVSE row has its answer timeout. */
export type LostAnswerRow = LostFrameRow & { readonly answerTimeoutMs: number };

const ANSWER: Omit<LostAnswerRow, 'manual'> = { answerTimeoutMs: ANSWER_TIMEOUT_MS, resends: 2, takenIfResendRefused: [WRONG_STATE] };

/** The EVSE's answers to the module's requests, by command name (see above). */
export const LOST_ANSWER_TABLE: Readonly<Record<string, LostAnswerRow>> = {
  [V2g.EvseSetAuthorizationStatus.name]: { manual: '18.10.12 after Authorization Status Requested (18.12.3, its timeout)', ...ANSWER },
  [V2g.EvseSetSchedules.name]: { manual: '18.10.13 after Schedules Requested (18.12.5, its timeout); updates due 500 ms after it (18.10.4)', ...ANSWER },
  [V2g.EvseSetCableCheckFinished.name]: { manual: '18.10.14 after Cable Check Requested (18.12.8, its timeout)', ...ANSWER },
  [V2g.EvseStartCharging.name]: { manual: '18.10.15 after Start Charging Requested (18.12.10, its timeout)', ...ANSWER },
};

/** What `command()` adds to a command of the table (its answer timeout, resends, the refusal that means taken); undefined for any other. */
export const lostAnswerHandling = lostFrameLookup(LOST_ANSWER_TABLE);
