/**
 * The one builder of the V2G sessions' commands (EV and EVSE: machines/v2g-ev/common.ts and
 * machines/v2g-evse/common.ts re-export it). A command that answers a module's request or
 * notification gets its row of the lost-frame tables: the EVSE's answer timeout, resends and
 * refusal read as taken (v2g-evse/lost-answers.ts), the EV's resends (v2g-ev/lost-answers.ts).
 * The two tables name different commands (the EV's and the EVSE's sub-IDs, 18.3 and 18.4).
 */
import type { CommandDef } from '../codec/message.js';
import type { CommandRequest } from './hci-actors.js';
import { evResendHandling } from './v2g-ev/lost-answers.js';
import { lostAnswerHandling } from './v2g-evse/lost-answers.js';

/** A command for the session's commander; `tolerate`: result codes that count as success. */
export function command(def: CommandDef, fields: unknown, tag: string, answersAt?: number, tolerate?: readonly number[]): CommandRequest {
  return {
    type: 'hci.send',
    def,
    fields,
    tag,
    ...(answersAt !== undefined ? { answersAt } : {}),
    ...(tolerate ? { tolerate } : {}),
    ...(lostAnswerHandling(def) ?? evResendHandling(def)),
  };
}
