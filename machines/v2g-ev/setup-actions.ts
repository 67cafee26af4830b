/**
 * EV session, up to charging (18.11.1-18.11.7): log lines and phases for the station, Session
 * Started, schedules -> charging profile, the EVSE's DC/AC values (and the AC stops of the
 * reference Ev.py), cable check and pre-charge.
 */
import { V2g } from '../../codec/catalog.js';
import { ENERGY_TRANSFER_MODES, EVSE_STATUSES, PROTOCOLS, enumName } from '../../codec/modules/v2g/common.js';
import { batteryInputInPlace, reportedSoc } from '../battery.js';
import { bytesToHexId } from '../config.js';
import { acCurrentPerPhaseA, acFault, acPhases } from '../ev-ac.js';
import { type CommanderEvent, type SequenceEvent, holdCommands, sendCommand } from '../hci-actors.js';
import type { StatusEvent } from '../hci-types.js';
import { type ScheduleTuple, type SessionPhase, logEvent, stationRelay } from '../station-events.js';
import { type StatusWatchdogEvent, noModuleStatus } from '../status-watchdog.js';
import { dcParametersLog, evseReportOf } from './charge-loop.js';
import type { PreChargeProbeTaken } from './pre-charge-probe.js';
import type { ChargingReadyProbeTaken } from './charging-ready-probe.js';
import type { CableCheckProbeTaken } from './cable-check-probe.js';
import { type Events, SESSION_START_CONFIRM_MS, TOLERATE, act, at, batteryNow, command, f, num, profilePowerW, sendBattery, sendCp } from './common.js';

const EARLY_LIMIT = 16;

export const presentationActions = {
  log: act(({ enqueue }, p: { text: string; level?: 'info' | 'warn' | 'error' }) => enqueue.sendParent(logEvent('EV', p.text, p.level ?? 'info'))),
  logStep: act(({ enqueue, event }) => enqueue.sendParent(logEvent('EV', (event as unknown as { text: string }).text))),
  phase: act(({ enqueue, self }, p: { phase: SessionPhase }) => {
    enqueue.sendParent({ type: 'station.emit', event: { type: 'phase', station: 'EV', phase: p.phase } });
    holdCommands(enqueue, self);
  }),
  noteSent: act(({ enqueue, context, event }) => {
    enqueue.assign({ longestReactionMs: Math.max(context.longestReactionMs, (event as Extract<CommanderEvent, { type: 'hci.reaction' }>).reactionMs) });
  }),
  /** Issue 9 item 4: the wait for the module ended by the watchdog (machines/status-watchdog.ts). */
  noModuleStatus: act(({ enqueue, event }) => {
    const n = noModuleStatus((event as StatusWatchdogEvent).boundMs);
    enqueue.sendParent(logEvent('EV', n.text, 'error'));
    enqueue.assign({ error: n.error });
  }),
  logCommandFailure: act(({ enqueue, event }) => {
    const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
    enqueue.sendParent(logEvent('EV', e.tolerated ? `${e.command} not needed: ${e.error.message}` : `Warning: ${e.error.message}`, e.tolerated ? 'info' : 'warn'));
  }),
  /** A resend refused 0x11: the module had taken an earlier send, only its answer was lost (v2g-ev/lost-answers.ts). */
  logTakenUnanswered: act(({ enqueue, event }) => {
    const e = event as Extract<CommanderEvent, { type: 'hci.takenUnanswered' }>;
    const hex = `0x${e.code.toString(16).padStart(2, '0')}`;
    enqueue.sendParent(logEvent('EV', `${e.command}: answer lost, the module had taken it (the resend was refused ${hex})`, 'info'));
  }),
  /** At most this many status messages are kept from configuring (a session's start sends a few). */
  keepEarly: act(({ enqueue, context, event }) => {
    const early = context.early ?? [];
    if (early.length < EARLY_LIMIT) enqueue.assign({ early: [...early, event as StatusEvent] });
  }),
  /** Entering the session: what came before Start Session's answer, from Session Started on, in order. */
  replayEarly: act(({ enqueue, context }) => {
    const early = context.early ?? [];
    const from = early.findIndex((e) => e.type === 'V2g.EvSessionStarted');
    if (from >= 0) for (const e of early.slice(from)) enqueue.raise(e as Events);
    if (early.length > 0) enqueue.assign({ early: [] });
  }),
  /** Start Session refused 0x11 or unanswered: the session state waits `waitMs` for Session Started. */
  startUnconfirmed: act(({ enqueue, event }, p: { waitMs: number }) => {
    const detail = (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message;
    enqueue.assign({ startUnconfirmed: detail, startConfirmMs: p.waitMs });
    enqueue.sendParent(logEvent('EV', `${detail}: the first Start Session may have been taken (its answer lost); waiting ${p.waitMs / 1000} s for Session Started`, 'warn'));
  }),
  startNotConfirmed: act(({ enqueue, context }) => {
    const detail = `${context.startUnconfirmed ?? 'V2g.EvStartSession failed'}, and no Session Started within ${(context.startConfirmMs ?? SESSION_START_CONFIRM_MS) / 1000} s`;
    enqueue.sendParent(logEvent('EV', `Session not started: ${detail}; stopping whatever the module started`, 'error'));
    enqueue.assign({ error: { name: 'configurationFailed', detail }, startUnconfirmed: undefined });
  }),
  failConfiguration: act(({ enqueue, event }) => {
    enqueue.assign({ error: { name: 'configurationFailed', detail: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message } });
  }),
  logEvseNotReady: act(({ enqueue, context }) => enqueue.sendParent(logEvent('EV', `EVSE status ${enumName(EVSE_STATUSES, context.evseStatus)}: stopping`, 'warn'))),
};

export const setupActions = {
  sessionStarted: act(({ enqueue, context, event, system }) => {
    const fields = f(event);
    const protocol = enumName(PROTOCOLS, num(fields.selectedProtocol));
    const mode = num(fields.selectedEnergyTransferMode);
    const b = batteryNow(system, context.config.battery, context.clock.now());
    const sessionId = fields.sessionId instanceof Uint8Array ? bytesToHexId(fields.sessionId) : '';
    // When it arrived (it may have been kept from configuring, before Start Session's answer).
    const resumed = sessionId !== '' && sessionId === context.resumeSessionId;
    enqueue.assign({
      protocol,
      energyTransferMode: mode,
      evseId: String(fields.evseId ?? ''),
      startedAt: (event as StatusEvent).at ?? context.clock.now(),
      socStartPercent: reportedSoc(b),
      sessionId,
      resumed,
      startUnconfirmed: undefined,
    });
    if (context.startUnconfirmed) enqueue.sendParent(logEvent('EV', 'Session Started after all: the first Start Session had been taken'));
    enqueue.sendParent(logEvent('EV', '"Session started" received', 'info', fields));
    if (resumed) enqueue.sendParent(logEvent('EV', `Session resumed: same Session ID ${sessionId} as the previous session`));
    enqueue.sendParent(logEvent('EV', `\tProtocol: ${protocol}`));
    enqueue.sendParent(logEvent('EV', `\tEVSE ID: ${String(fields.evseId ?? '')}`));
    enqueue.sendParent(logEvent('EV', `\tEnergy transfer mode: ${enumName(ENERGY_TRANSFER_MODES, mode)}`));
    if (!context.config.energyTransferModes.includes(mode)) enqueue.sendParent(logEvent('EV', '\t\twrong energy transfer mode!', 'warn'));
  }),
  scheduleReceived: act(({ enqueue, self, context, event }) => {
    const tuples = (f(event).scheduleTuples as ScheduleTuple[] | undefined) ?? [];
    const first = tuples[0];
    enqueue.assign({ schedule: tuples });
    enqueue.sendParent(logEvent('EV', '"Schedule Received" received', 'info', { scheduleTuples: tuples }));
    if (!first) return;
    // The profile the EV follows: the first tuple, at most 24 entries, within the battery's power.
    const maxW = context.config.battery.maxPowerW;
    const entries = first.entries.slice(0, 24).map((e) => ({ startS: e.startS, intervalS: e.intervalS, powerW: Math.min(e.powerW, maxW) }));
    const profile = { scheduleTupleId: first.scheduleTupleId, entries };
    enqueue.assign({ profile });
    sendCommand(enqueue, self, command(V2g.EvSetChargingProfile, profile, 'profile', at(event)));
  }),
  /** While charging the status child mostly does this in place (charge-loop.ts): keep the two alike. */
  dcParametersChanged: act(({ enqueue, context, event, system }) => {
    const fields = f(event);
    const { report, input } = evseReportOf(context, fields);
    enqueue.assign(report);
    const log = dcParametersLog(fields);
    // One a message: straight to the station's listeners where it has a relay (station-events.ts).
    const relay = stationRelay(system);
    if (relay) enqueue(() => relay(log.event));
    else enqueue.sendParent(log);
    // A simulated battery takes it in place (battery.ts batteryInputInPlace: no battery macrostep a message).
    const inPlace = batteryInputInPlace(system, system.get('battery'));
    if (inPlace) enqueue(() => inPlace(input.voltageV, input.currentA));
    else sendBattery(enqueue, system, { type: 'battery.input', ...input });
    // The start check (mayStart) compares with the limits in force, not only the configured ones.
    if (context.chargingStartedAt === undefined) enqueue.assign({ batteryLimits: batteryNow(system, context.config.battery, context.clock.now()).config });
  }),
  acParametersChanged: act(({ enqueue, self, context, event, system }) => {
    const fields = f(event);
    const nominal = num(fields.nominalVoltageV);
    const maxI = num(fields.maxCurrentA);
    enqueue.assign({ acNominalVoltageV: nominal, acMaxCurrentA: maxI });
    enqueue.sendParent(logEvent('EV', '"AC Charge Parameter changed" received', 'info', fields));
    const c = context.config.battery;
    const phases = acPhases(context.energyTransferMode);
    const elapsedS = (context.clock.now() - (context.chargingStartedAt ?? context.clock.now())) / 1000;
    const i = acCurrentPerPhaseA({ nominalVoltageV: nominal, maxCurrentA: maxI }, c, profilePowerW(context.profile, elapsedS, c.maxPowerW), phases);
    sendBattery(enqueue, system, { type: 'battery.input', voltageV: nominal, currentA: i * phases });
    // Reference Ev.py: an RCD fault or AC values outside the battery's range stop the car:
    // Stop Charging while it charges, else Stop Session.
    const fault = acFault({ nominalVoltageV: nominal, maxCurrentA: maxI, rcd: fields.rcd === true }, c, i);
    if (!fault) return;
    enqueue.sendParent(logEvent('EV', `AC values refused (${fault}): stopping`, 'warn'));
    if (context.stopReason || context.stopChargingSent) return;
    enqueue.assign({ stopReason: fault, stopChargingSent: true, renegotiating: false });
    if (context.chargingStartedAt !== undefined) sendCommand(enqueue, self, command(V2g.EvStopCharging, { renegotiation: false }, 'stopCharging', at(event), TOLERATE));
    else sendCommand(enqueue, self, command(V2g.EvStopSession, {}, 'stopSession', at(event), TOLERATE));
  }),
  // Start Cable Check and Start Pre Charging (18.9.11, 18.9.12) are sent again when unanswered
  // while the module still talks (hci-actors.ts resendOnTimeout): a lost command left the car
  // waiting in the cable check or pre-charge until a timeout ended the session (fuzz seeds 400164,
  // 400005; docs/reliability.md, eighth round: the most frequent EV-side cause in the campaign).
  // A resend of one the module had taken is refused 0x11 (18.5): taken, its answer lost (the
  // rows of v2g-ev/lost-answers.ts, `logTakenUnanswered`).
  startCableCheck: act(({ enqueue, self, event, system }) => {
    enqueue.sendParent(logEvent('EV', '"Cable Check Ready" received'));
    sendCp(enqueue, system, 'C');
    sendCommand(enqueue, self, command(V2g.EvStartCableCheck, {}, 'cableCheck', at(event)));
  }),
  /** The module took the Start Pre Charging offered after a quiet Cable Check Finished: its Pre Charging Ready was lost (v2g-ev/pre-charge-probe.ts). */
  preChargeProbeTaken: act(({ enqueue, event }) => {
    const { afterMs } = event as PreChargeProbeTaken;
    enqueue.sendParent(logEvent('EV', `"Pre Charging Ready" lost: the module took Start Pre Charging offered ${afterMs} ms after "Cable Check Finished"`, 'warn'));
  }),
  /** The module took the Start Cable Check offered after a quiet Schedule Received: its Cable Check Ready was lost (v2g-ev/cable-check-probe.ts). */
  cableCheckProbeTaken: act(({ enqueue, event, system }) => {
    const { afterMs } = event as CableCheckProbeTaken;
    enqueue.sendParent(logEvent('EV', `"Cable Check Ready" lost: the module took Start Cable Check offered ${afterMs} ms after "Schedule Received"`, 'warn'));
    sendCp(enqueue, system, 'C');
  }),
  /** The module took the Start Charging offered late in pre-charge: its Charging Ready was lost (v2g-ev/charging-ready-probe.ts). */
  chargingReadyProbeTaken: act(({ enqueue, event }) => {
    const { afterMs } = event as ChargingReadyProbeTaken;
    enqueue.sendParent(logEvent('EV', `"Charging Ready" lost: the module took Start Charging offered ${afterMs} ms into pre-charge, the EVSE's output within the battery limits`, 'warn'));
  }),
  startPreCharging: act(({ enqueue, self, event }) => {
    enqueue.sendParent(logEvent('EV', '"Pre Charging Ready" received'));
    sendCommand(enqueue, self, command(V2g.EvStartPreCharging, {}, 'preCharge', at(event)));
  }),
};
