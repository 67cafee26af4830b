/**
 * The EV session's charge loop outside the statechart where it decides nothing (issue 12
 * target 4): the EVSE's DC Charge Parameters Changed (18.11.8, one a loop response: 3,400 a
 * default session) and the periodic Update DC Charging Parameters (18.9.11, 5 a second). Each
 * was a session macrostep (a context copy, a new snapshot; the update timer re-entered
 * `ticking`) for bookkeeping only.
 *
 * - The session's status child (`hciStatus` with `dcParametersInPlace` as its `inPlace`) takes a DC Charge Parameters Changed in
 *   place while charging and the EVSE was ready: the present values, peaks, log line and battery
 *   input, as the `dcParametersChanged` action gives them. Everything else goes to the session,
 *   among them the message after an EVSE status other than ready (`evseNotReady` stops).
 * - The update timer (`chargeTimer`, a child of `charging.ticking`) sends a DC update below the
 *   target SOC itself, as `chargeTick` does. The tick that reaches the target (Stop Charging), AC
 *   ticks and a session without a station send `session.tick` to the session, which runs
 *   `chargeTick` as before.
 *
 * Only under a station with a relay (station-events.ts) and a battery that takes its input in
 * place (battery.ts batteryInputInPlace): a machine on its own (tests, model traversal) and an
 * external battery keep the events. Values go into the session's own snapshot context, which
 * later assigns copy (as charger.ts and battery.ts do with theirs).
 */
import { type AnyActorRef, fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { type Clock, hostNow } from '../../util/clock.js';
import { type BatteryState, batteryInputInPlace, currentForPower, reportedSoc } from '../battery.js';
import { commandNow } from '../hci-actors.js';
import type { StatusEvent } from '../hci-types.js';
import { type ChildEmit, logEvent, stationRelay } from '../station-events.js';
import { type EvSessionContext, type System, batteryNow, command, dcParameters, f, isDc, num, profilePowerW } from './common.js';
import { everyPeriod } from '../every-period.js';

/** What the session notes of a DC Charge Parameters Changed, and the battery's input from it. */
export function evseReportOf(
  context: Pick<EvSessionContext, 'peakVoltageV' | 'peakCurrentA' | 'chargingStartedAt'>,
  fields: Record<string, unknown>,
): { report: Pick<EvSessionContext, 'presentVoltageV' | 'presentCurrentA' | 'evseStatus' | 'peakVoltageV' | 'peakCurrentA'>; input: { voltageV: number; currentA: number } } {
  const v = num(fields.presentVoltageV);
  const i = num(fields.presentCurrentA);
  const status = num(fields.status);
  const charging = context.chargingStartedAt !== undefined;
  const report = {
    presentVoltageV: Number.isFinite(v) ? v : 0,
    presentCurrentA: Number.isFinite(i) ? i : 0,
    evseStatus: Number.isFinite(status) ? status : 0,
    peakVoltageV: Math.max(context.peakVoltageV, charging && Number.isFinite(v) ? v : 0),
    peakCurrentA: Math.max(context.peakCurrentA, charging && Number.isFinite(i) ? i : 0),
  };
  return { report, input: { voltageV: report.presentVoltageV, currentA: report.presentCurrentA } };
}

export const dcParametersLog = (fields: Record<string, unknown>): ChildEmit => logEvent('EV', '"DC Charge Parameters Changed" received', 'info', fields);

/** The longest gap between updates, with this one at `hostAt` (host real time). */
export function updateGapOf(context: Pick<EvSessionContext, 'lastUpdateAt' | 'longestUpdateGapMs'>, hostAt: number): Pick<EvSessionContext, 'lastUpdateAt' | 'longestUpdateGapMs'> {
  const gap = context.lastUpdateAt === undefined ? 0 : hostAt - context.lastUpdateAt;
  return { lastUpdateAt: hostAt, longestUpdateGapMs: Math.max(context.longestUpdateGapMs, gap) };
}

/** A DC tick below the target SOC: the current the profile allows now and its update. */
export function dcLoopUpdate(context: EvSessionContext, b: BatteryState, now: number, answersAt: number | undefined) {
  const elapsedS = (now - (context.chargingStartedAt ?? now)) / 1000;
  const powerW = profilePowerW(context.profile, elapsedS, context.config.battery.maxPowerW);
  const targetCurrentA = currentForPower(b, powerW);
  return { targetCurrentA, request: command(V2g.EvUpdateDcChargingParameters, dcParameters(b, targetCurrentA), 'update', answersAt) };
}

/** The session as its children see it (public snapshot API only). */
interface SessionView {
  status: string;
  context: EvSessionContext;
  children: Record<string, AnyActorRef | undefined>;
  value: unknown;
}

/** The `session.charging` state's child, if charging (a look at the state value, cheaper than `matches`). */
function chargingChild(value: unknown): unknown {
  const session = (value as { session?: unknown }).session;
  return typeof session === 'object' && session !== null ? (session as { charging?: unknown }).charging : undefined;
}

/** The battery's in-place input, or undefined where the session must send `battery.input`. */
function batteryInPlace(system: System): ((voltageV: number, currentA: number) => void) | 'none' | undefined {
  const battery = system.get('battery');
  if (!battery) return 'none';
  return batteryInputInPlace(system, battery);
}

/**
 * One DC Charge Parameters Changed while charging, without a session macrostep (see above).
 * False: the session takes it as an event. Same order as the action: the context fields, the
 * log line to the station's listeners, the battery's input.
 */
export function dcParametersInPlace(session: AnyActorRef, e: StatusEvent): boolean {
  const snapshot = session.getSnapshot() as SessionView;
  if (snapshot.status !== 'active' || chargingChild(snapshot.value) === undefined) return false;
  const context = snapshot.context;
  // The guard `evseNotReady` (the status the previous message left) stops the charge.
  if (context.evseStatus !== 0 || context.chargingStartedAt === undefined) return false;
  const system = session.system as System;
  const relay = stationRelay(system);
  const battery = batteryInPlace(system);
  if (!relay || !battery) return false;
  const fields = f(e);
  const { report, input } = evseReportOf(context, fields);
  Object.assign(context, report);
  relay(dcParametersLog(fields).event);
  if (battery !== 'none') battery(input.voltageV, input.currentA);
  return true;
}

/** A DC update below the target SOC without a session macrostep; false: `session.tick` it is. */
function tickInPlace(session: AnyActorRef): boolean {
  const snapshot = session.getSnapshot() as SessionView;
  if (snapshot.status !== 'active' || chargingChild(snapshot.value) !== 'ticking') return false;
  const context = snapshot.context;
  const system = session.system as System;
  if (!isDc(context.energyTransferMode) || !stationRelay(system)) return false;
  const now = context.clock.now();
  const b = batteryNow(system, context.config.battery, now);
  if (reportedSoc(b) >= context.config.targetSocPercent) return false;
  const { targetCurrentA, request } = dcLoopUpdate(context, b, now, undefined);
  Object.assign(context, updateGapOf(context, hostNow()), { targetCurrentA });
  commandNow(session, request);
  return true;
}

/**
 * The charge loop's updates every `intervalMs` from the entry into charging (whose own tick the
 * entry action sent), as the re-entered `ticking` state's delayed event did: same instants, and
 * the next one armed after this one's commands, where the delayed event was.
 */
export const chargeTimer = fromCallback<{ type: 'noop' }, { session: AnyActorRef; clock: Clock; intervalMs: number }>(({ input }) => {
  const { session, clock, intervalMs } = input;
  // The tick's macrostep may leave `ticking` (this child stopped): everyPeriod arms nothing then.
  return everyPeriod(clock, intervalMs, () => {
    if (!tickInPlace(session)) session.send({ type: 'session.tick' });
  });
});
