/**
 * The EVSE session's DC Charge Parameters Changed (18.12.6), one a car request in the charge loop
 * (3,400 a default session), and its status child.
 *
 * In energy transfer such a message decides nothing: the session notes the car's targets and
 * SOC, logs the message, passes the targets to the charger and answers with an update. As a
 * statechart transition that was one session macrostep a message (a context copy, a new
 * snapshot) for bookkeeping only (issue 12 target 4). So the session's status child handles it
 * in place there (`dcParametersInPlace`), with the same values in the same order as the
 * transition's actions, and hands the session every message that may change a state: an EV
 * error code (the EV fault stop, the warning), any message outside energy transfer (the lost-end
 * watchdog states re-arm on it), and all other status messages.
 *
 * Only under a station with a relay (station-events.ts) and a charger that takes the EV's values
 * in place (charger.ts chargerEvInPlace): a machine on its own (tests, model traversal) or a
 * charger with a power stage keeps the events, as before.
 */
import type { AnyActorRef } from 'xstate';
import type { ChargerEvent } from '../charger.js';
import { chargerEvInPlace } from '../charger.js';
import type { StatusEvent } from '../hci-types.js';
import { type ChildEmit, logEvent, stationRelay } from '../station-events.js';
import { type EvseSessionContext, chargerOf, f, num } from './common.js';
import { sendUpdateNow } from './updates.js';

/** What the session notes of each DC Charge Parameters Changed (its assign). */
export function evReportOf(fields: Record<string, unknown>): Pick<EvseSessionContext, 'evTargetVoltageV' | 'evTargetCurrentA' | 'socPercent'> {
  return { evTargetVoltageV: num(fields.targetVoltageV), evTargetCurrentA: num(fields.targetCurrentA), socPercent: num(fields.socPercent) };
}

/** The car's limits and targets for the charger. */
export function chargerEvOf(fields: Record<string, unknown>): Extract<ChargerEvent, { type: 'charger.ev' }> {
  const limits = { maxVoltageV: num(fields.maxVoltageV), maxCurrentA: num(fields.maxCurrentA), maxPowerW: num(fields.maxPowerW), socPercent: num(fields.socPercent) };
  return { type: 'charger.ev', limits, voltageV: num(fields.targetVoltageV), currentA: num(fields.targetCurrentA) };
}

export const dcParametersLog = (fields: Record<string, unknown>): ChildEmit => logEvent('EVSE', '"DC Charge Parameters Changed" received', 'info', fields);

/** The session as the status child sees it (public snapshot API only). */
interface SessionView {
  status: string;
  context: EvseSessionContext;
  children: Record<string, AnyActorRef | undefined>;
  value: unknown;
}

/** `matches({ session: { phase: 'energyTransfer' } })` on the state value, without building a value to compare. */
function inEnergyTransfer(value: unknown): boolean {
  const phase = (value as { session?: { phase?: unknown } }).session?.phase;
  return typeof phase === 'object' && phase !== null && 'energyTransfer' in phase;
}

/**
 * One DC Charge Parameters Changed handled without a session macrostep, where it is bookkeeping
 * only (see above). Returns false when the session must take it as an event.
 *
 * What the answer needs comes first: the car's values in the context, the charger's EV values,
 * then the update (its present output read after the charger took the new targets). Then the
 * rest, in the transition's order: the log line to the station's listeners, the charger's
 * warning if any, the update's bookkeeping and a late-update warning. So the frame leaves before
 * the log lines are built and handed round (issue 12 target 1), and the station still sees the
 * same lines in the same order; nothing of the answer depends on them.
 */
export function dcParametersInPlace(session: AnyActorRef, e: StatusEvent): boolean {
  const snapshot = session.getSnapshot() as SessionView;
  if (snapshot.status !== 'active' || !inEnergyTransfer(snapshot.value)) return false;
  const fields = f(e);
  // An EV error code: a warning line and, while charging, the EV fault stop (decisions).
  if (num(fields.errorCode) > 0) return false;
  const system = session.system;
  const relay = stationRelay(system);
  const charger = chargerOf(system);
  const chargerInPlace = charger ? chargerEvInPlace(system, charger) : undefined;
  if (!relay || (charger && !chargerInPlace)) return false;
  const context = snapshot.context;
  // The snapshot's own context: later assigns copy it with these fields (as charger.ts does).
  Object.assign(context, evReportOf(fields));
  // The charger warns at most once a session (its pre-charge clamp): held until after the answer.
  let chargerWarning: string | undefined;
  chargerInPlace?.(chargerEvOf(fields), (text) => {
    chargerWarning = text;
  });
  sendUpdateNow(session, context, e.hostAt, () => {
    relay(dcParametersLog(fields).event);
    if (chargerWarning !== undefined) relay(logEvent('EVSE', chargerWarning, 'warn').event);
  });
  return true;
}
