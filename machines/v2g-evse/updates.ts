/**
 * The EVSE session's Update DC/AC Charging Parameters (18.10.4 / 18.10.7): the command with the
 * present output, the bookkeeping of each update (slack against the module's deadline, longest
 * gap while energy flows) and the periodic timer that sends them after Set Schedules.
 *
 * The timer is a child actor that sends the command itself, outside the statechart: about two
 * thirds of a charge loop's frames are these updates and their answers, and a macrostep of the
 * session per update (re-entering a state to re-arm a delayed event, copying the context for the
 * bookkeeping) was most of the host's CPU per frame (issue 12 target 4). So the bookkeeping is an
 * object of the session's own (`UpdateBook`), written in place by each update, whether the timer
 * or a status message sent it; the session's record reads it at the end.
 */
import { type AnyActorRef, fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { IsolationLevel } from '../../codec/modules/v2g/common.js';
import { type Clock, hostNow } from '../../util/clock.js';
import { type ChargerState, outputAt } from '../charger.js';
import { type CommandRequest, commandNow } from '../hci-actors.js';
import { logEvent } from '../station-events.js';
import { type UpdateSlack, NO_UPDATES, noteUpdate } from '../update-slack.js';
import { DEFAULT_UPDATE_DEADLINE_MS, EVSE_STATION_SYSTEM_ID, type EvseSessionContext, chargerOf, isDc, limitsOf, round1, updateOptions } from './common.js';
import { everyPeriod } from '../every-period.js';

/** The timing of one session's updates (written in place, see above). */
export interface UpdateBook {
  /** Against the module's deadline, on the session clock (update-slack.ts). */
  slack: UpdateSlack;
  /** Host real time of the last update (hostNow), while energy flows. */
  lastUpdateAt?: number;
  longestUpdateGapMs: number;
  /** Session clock time of the first update failure since the last answered update (unanswered-updates.ts). */
  unansweredSince?: number;
  /** Each answered update calls it (the commander's `onAnswer`): the run of unanswered ones is over. */
  readonly answered: () => void;
}

export function newUpdateBook(): UpdateBook {
  const book: UpdateBook = {
    slack: NO_UPDATES,
    longestUpdateGapMs: 0,
    answered: () => {
      book.unansweredSince = undefined;
    },
  };
  return book;
}

type System = { get(id: string): unknown };

/**
 * An update is going out now: the book notes it; returns the warning line for a late one (to log).
 * The gap is measured in host real time and counts only while energy flows.
 */
export function noteUpdateSent(context: EvseSessionContext): string | undefined {
  const book = context.updates;
  const { slack, warning } = noteUpdate(book.slack, context.clock.now(), context.updateDeadlineMs ?? DEFAULT_UPDATE_DEADLINE_MS);
  book.slack = slack;
  const hostAt = hostNow();
  if (context.energyFlowing && book.lastUpdateAt !== undefined) book.longestUpdateGapMs = Math.max(book.longestUpdateGapMs, hostAt - book.lastUpdateAt);
  book.lastUpdateAt = hostAt;
  return warning;
}

/** Update DC/AC Charging Parameters with the present output and the station's limits now. */
export function updateCommand(context: EvseSessionContext, system: System, answersAt: number | undefined): CommandRequest {
  const charger = chargerOf(system)?.getSnapshot().context;
  const out = charger ? outputAt(charger, context.clock.now()) : { presentVoltageV: 0, presentCurrentA: 0 };
  const limits = limitsOf(context);
  // Object literals, no spreads: this runs for every update (5 a second per session).
  const { options } = updateOptions(context.config.updateIntervalMs);
  const req: CommandRequest = isDc(context.energyTransferMode)
    ? { type: 'hci.send', tag: 'update', options, def: V2g.EvseUpdateDcChargingParameters, fields: dcFields(context, charger, out, limits) }
    : { type: 'hci.send', tag: 'update', options, def: V2g.EvseUpdateAcChargingParameters, fields: { rcdStatus: false, maxCurrentA: limits.maxCurrentA } };
  if (answersAt !== undefined) req.answersAt = answersAt;
  req.onAnswer = context.updates.answered;
  return req;
}

function dcFields(
  context: EvseSessionContext,
  charger: ChargerState | undefined,
  out: Pick<ChargerState, 'presentVoltageV' | 'presentCurrentA'>,
  limits: ReturnType<typeof limitsOf>,
): Record<string, unknown> {
  return {
    // An external power stage's isolation monitor speaks for itself; the simulation is valid.
    isolationLevel: context.cableCheckDone ? IsolationLevel[charger?.isolation ?? 'valid'] : IsolationLevel.invalid,
    presentVoltageV: round1(out.presentVoltageV),
    presentCurrentA: round1(out.presentCurrentA),
    maxVoltageV: context.config.charger.maxVoltageV,
    maxCurrentA: limits.maxCurrentA,
    maxPowerW: limits.maxPowerW,
    status: 0,
  };
}

/**
 * An update from outside the statechart (the timer, a status message handled in place,
 * parameters.ts): the command to the session's commander first, then what the `sendUpdate`
 * action does before it: the book and a late-update warning to the station. The frame leaves
 * before the bookkeeping and the log lines (issue 12 target 1: an answer waits for nothing it
 * does not need); nothing in the command reads the book, and the station sees the same lines in
 * the same order. `logFirst`: log lines of the caller that come before the warning.
 */
export function sendUpdateNow(session: AnyActorRef, context: EvseSessionContext, answersAt: number | undefined, logFirst?: () => void): void {
  commandNow(session, updateCommand(context, session.system, answersAt));
  logFirst?.();
  const warning = noteUpdateSent(context);
  if (warning) (session.system.get(EVSE_STATION_SYSTEM_ID) as AnyActorRef | undefined)?.send(logEvent('EVSE', warning, 'warn'));
}

export interface UpdateTimerInput {
  /** The session actor: its context now, its commander child, its system (charger, station). */
  session: AnyActorRef;
  clock: Clock;
  intervalMs: number;
}

/**
 * Sends an update every `intervalMs` from its start (Set Schedules) until stopped, as the
 * session's `updater` region did with a delayed event: the same command, bookkeeping and
 * warning, at the same instants, without a macrostep of the session.
 */
export const updateTimer = fromCallback<{ type: 'noop' }, UpdateTimerInput>(({ input }) => {
  const { session, clock, intervalMs } = input;
  return everyPeriod(clock, intervalMs, () => sendUpdateNow(session, (session.getSnapshot() as { context: EvseSessionContext }).context, undefined));
});
