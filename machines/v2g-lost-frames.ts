/**
 * What the EV's and the EVSE's lost-frame tables (v2g-ev/lost-answers.ts, v2g-evse/lost-answers.ts)
 * share: the V2G result code that means "taken", a row's shape, and the one lookup that turns a
 * table into what `command()` (machines/v2g-command.ts) adds to a command. A leaf module, so the
 * tables and the sessions' common.ts files can all import it without a cycle.
 */
import type { CommandDef } from '../codec/message.js';
import type { CommandRequest } from './hci-actors.js';

/** V2G result code 0x11 (18.5): "Wrong state, not in the state to receive the command". */
export const WRONG_STATE = 0x11;

export interface LostFrameRow {
  /** Where the manual says the module waits for this command (and for how long). */
  readonly manual: string;
  /** How long its answer is waited for; the client's default when absent. */
  readonly answerTimeoutMs?: number;
  /** Sends after the first when no answer comes. */
  readonly resends: number;
  /** A resend refused with one of these: an earlier send was taken, only its answer was lost. */
  readonly takenIfResendRefused: readonly number[];
}

export type LostFrameHandling = Pick<CommandRequest, 'options' | 'resendOnTimeout' | 'takenIfResendRefused'>;

/** A table's rows as the commander takes them, built once (`command()` runs for every V2G command). */
export function lostFrameLookup(table: Readonly<Record<string, LostFrameRow>>): (def: CommandDef) => LostFrameHandling | undefined {
  const handling = new Map<string, LostFrameHandling>(
    Object.entries(table).map(([name, row]) => [
      name,
      {
        ...(row.answerTimeoutMs !== undefined ? { options: { timeoutMs: row.answerTimeoutMs } } : {}),
        resendOnTimeout: row.resends,
        takenIfResendRefused: row.takenIfResendRefused,
      },
    ]),
  );
  return (def) => (def.module === 'V2g' ? handling.get(def.name) : undefined);
}
