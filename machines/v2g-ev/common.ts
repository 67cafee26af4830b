/**
 * The EV V2G session's shared part (machines/v2g-ev-session.ts): input, context, events, the
 * helpers its actions use (commands, battery and CP siblings, DC parameters, the start check),
 * `act` (an action typed for this machine), the configuration sequence and the session's record.
 */
import type { StatusWatchdogEvent } from '../status-watchdog.js';
import type { CpResistorSet } from '../control-pilot-ev.js';
import type { EvStopEvent } from './stop.js';
import type { ModuleSessionEndEvent } from './abort.js';
import type { PreChargeProbeTaken } from './pre-charge-probe.js';
import type { StopTakenEvent } from './stop-taken.js';
import type { ChargingReadyProbeTaken } from './charging-ready-probe.js';
import type { CableCheckProbeTaken } from './cable-check-probe.js';
import { type ActorRefFrom, type AnyActorRef, type EventObject, type ParameterizedObject, enqueueActions } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { ENERGY_TRANSFER_MODES, enumName } from '../../codec/modules/v2g/common.js';
import type { Clock } from '../../util/clock.js';
import { type BatteryEvent, type BatteryState, advanceBattery, type batteryMachine, reportedSoc } from '../battery.js';
import { PRE_CHARGE_MAX_CURRENT_A } from '../charger-gates.js';
import { type BatteryConfig, type EvConfig, bytesToHexId, macToBytes } from '../config.js';
import { acParameters } from '../ev-ac.js';
import { type CommanderEvent, type SequenceEvent, UNEXPECTED_MESSAGE } from '../hci-actors.js';
import type { HciClient, StatusEvent } from '../hci-types.js';
import type { ScheduleEntry, ScheduleTuple, SessionRecord } from '../station-events.js';

export interface EvSessionInput {
  client: HciClient;
  clock: Clock;
  config: EvConfig;
  /**
   * The Session ID of this plug-in's previous session. The EV module does not say whether a
   * session ended in a pause (18.11.12 has no closure type, 18.9.14/18.9.15 no pause flag): a
   * Session Started with the same ID (18.11.1) is how the EV host learns that it resumed one.
   */
  resumeSessionId?: string;
}

export type EvSessionCommand =
  | { type: 'session.abort'; reason: string }
  | { type: 'session.stopCharging'; reason: string }
  /** EV-initiated renegotiation (Stop Charging with the renegotiation flag, 18.9.14). */
  | { type: 'session.renegotiate'; reason: string };

/** Raised (delayed) when Stop Charging goes out; only `charging` handles it (v2g-ev/charge-actions.ts). */
export type StopUnconfirmedEvent = { type: 'session.stopUnconfirmed' };
/** From the charge loop's timer when a tick is the statechart's (v2g-ev/charge-loop.ts). */
export type ChargeTickEvent = { type: 'session.tick' };

export interface EvSessionContext extends EvSessionInput {
  startedAt: number;
  evseId?: string;
  protocol?: string;
  energyTransferMode?: number;
  schedule?: ScheduleTuple[];
  profile?: { scheduleTupleId: number; entries: ScheduleEntry[] };
  chargingStartedAt?: number;
  presentVoltageV: number;
  presentCurrentA: number;
  /** AC: what the EVSE allows (A) and its nominal voltage. */
  acMaxCurrentA?: number;
  acNominalVoltageV?: number;
  evseStatus: number;
  targetCurrentA: number;
  peakVoltageV: number;
  peakCurrentA: number;
  lastUpdateAt?: number;
  longestUpdateGapMs: number;
  longestReactionMs: number;
  socStartPercent?: number;
  stopReason?: string;
  error?: SessionRecord['error'];
  stopChargingSent: boolean;
  /** V2G status messages that arrived while configuring (before Start Session's answer). */
  early?: StatusEvent[];
  /** Start Session was refused 0x11 or never answered: the session may have started (the failure's text). */
  startUnconfirmed?: string;
  /** Configuring reached Start Session: an abort from here on may leave the module in a session (v2g-ev/abort.ts). */
  startSessionSent?: boolean;
  /** `aborting`'s bound on the wait for the module's end (v2g-ev/abort.ts); absent: MODULE_SESSION_END_BOUND_MS. */
  moduleEndBoundMs?: number;
  /**
   * The status watchdog ended the session while charging (`stopping` then): the messages it saw
   * unusable, for the wait after the stop (v2g-ev/session-end-wait.ts `stopEndedUnseen`).
   */
  watchdogUnusable?: readonly string[];
  /** How long the session waits for Session Started then (SESSION_START_CONFIRM_MS or SESSION_START_UNANSWERED_CONFIRM_MS). */
  startConfirmMs?: number;
  /** `stopping`: this end of the session still owes the module its Stop Charging. */
  owesStopCharging?: boolean;
  /**
   * The Stop Charging `stopping` sent went unanswered (module silent): it is owed still, told to
   * the station (`session.stopChargingOwed`), which sends it once the module answers again.
   */
  stopChargingUnanswered?: boolean;
  sessionId?: string;
  /** This session resumed the previous one (same Session ID). */
  resumed?: boolean;
  /** Resistor C asked for and not yet B again (the EV is asking for energy). */
  resistorC?: boolean;
  /**
   * Stop Charging went out with the renegotiation flag: the session goes on with new schedules
   * and a new Power Delivery, without cable check and pre-charge (ISO 15118-2 renegotiation).
   */
  renegotiating?: boolean;
  /** The module answered 0 to this session's Stop Session: it ends its session (v2g-ev/stop-taken.ts). */
  stopSessionTaken?: boolean;
  /** The battery's limits in force when the EVSE last reported (an external battery lowers them). */
  batteryLimits?: BatteryConfig;
}

export type Events =
  | EvSessionCommand
  | CpResistorSet
  | StopUnconfirmedEvent
  | ChargeTickEvent
  | SequenceEvent
  | CommanderEvent
  | StatusEvent
  | StatusWatchdogEvent
  | EvStopEvent
  | ModuleSessionEndEvent
  | PreChargeProbeTaken
  | StopTakenEvent
  | ChargingReadyProbeTaken
  | CableCheckProbeTaken;

/** V2G 18.5 0x11: not in a state for this command (e.g. stop after the module already stopped). */
export { WRONG_STATE } from '../v2g-lost-frames.js';
import { WRONG_STATE } from '../v2g-lost-frames.js';
export const TOLERATE = [UNEXPECTED_MESSAGE, WRONG_STATE] as const;

/**
 * A retried Start Session answered 0x11 (wrong state, 18.5) is ambiguous: the module may have
 * taken the first one, whose answer was lost (fuzz seed 602: its Session Started came 30 ms later,
 * before the retry), or it may really not be ready. The host waits this long for Session Started,
 * the time a car gives the communication setup (ISO 15118-2 V2G_EVCC_CommunicationSetup_Timeout,
 * 20 s), then stops whatever the module started and records the configuration as failed.
 */
export const SESSION_START_CONFIRM_MS = 20_000;

/**
 * Every attempt at Start Session timed out (fuzz seeds 152399 199847: the module took the first
 * one and reported Session Started 30 ms to 1 s later, but the answers to it and to both retries
 * were lost): the module may have started as well. The three attempts took 3 s already, and a
 * module whose answers (and status messages) do not reach the host must not hold the session
 * past the bound on unusable status messages (machines/status-watchdog.ts, 10 s, plus 5 s in
 * test/machines/bounded-waits.test.ts), so the wait is shorter than after a refusal: 13 s from
 * the first Start Session, ample for a module that answered nothing of it but is running its
 * session set-up (its Session Started follows SessionSetupRes, ~1 s after Start Session).
 */
export const SESSION_START_UNANSWERED_CONFIRM_MS = 10_000;

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
export const f = (e: unknown): Record<string, unknown> => (e as StatusEvent).fields;
/** When the status message arrived, in host real time (reaction times are real time). */
export const at = (e: unknown): number | undefined => (e as StatusEvent).hostAt;
export const isDc = (mode: number | undefined): boolean => mode === undefined || mode <= 3;
export const hasDc = (c: EvConfig): boolean => c.energyTransferModes.some((m) => m <= 3);
export const hasAc = (c: EvConfig): boolean => c.energyTransferModes.some((m) => m >= 4);

/** The sessions' one command builder (EV and EVSE), with the EV's resend rows (v2g-ev/lost-answers.ts). */
export { command } from '../v2g-command.js';

export type System = { get(id: string): unknown };
export type BatteryRef = ActorRefFrom<typeof batteryMachine>;

export function batteryNow(system: System, config: BatteryConfig, now: number): BatteryState {
  const b = system.get('battery') as BatteryRef | undefined;
  if (!b) return { config, levelWh: config.levelWh, inputVoltageV: 0, inputCurrentA: 0, charging: false, at: now, energyWh: 0 };
  return advanceBattery(b.getSnapshot().context, now);
}

/** Events to siblings go through `enqueue.sendTo` (never `.send()` inside an action). */
export interface Enqueue {
  sendTo(to: AnyActorRef, event: EventObject & Record<string, unknown>): void;
}

export function sendBattery(enqueue: Enqueue, system: System, e: BatteryEvent): void {
  const ref = system.get('battery') as AnyActorRef | undefined;
  if (ref) enqueue.sendTo(ref, e);
}

export function sendCp(enqueue: Enqueue & { assign(a: Partial<EvSessionContext>): void }, system: System, level: 'B' | 'C'): void {
  enqueue.assign({ resistorC: level === 'C' });
  const ref = system.get('cp') as AnyActorRef | undefined;
  if (ref) enqueue.sendTo(ref, { type: 'cp.resistor', level });
}

/** DC parameters for Set/Update DC Charging Parameters from the battery (reference Ev.py). */
export function dcParameters(b: BatteryState, targetCurrentA: number) {
  const c = b.config;
  const soc = reportedSoc(b);
  return {
    minVoltageV: 0,
    minCurrentA: 0,
    minPowerW: 0,
    maxVoltageV: c.maxVoltageV,
    maxCurrentA: c.maxCurrentA,
    maxPowerW: c.maxPowerW,
    socPercent: soc,
    status: 0,
    targetVoltageV: c.targetVoltageV,
    targetCurrentA: Math.round(targetCurrentA * 10) / 10,
  };
}

/** The power the profile allows now (W): the last entry whose start has passed. */
export function profilePowerW(profile: EvSessionContext['profile'], elapsedS: number, fallbackW: number): number {
  if (!profile || profile.entries.length === 0) return fallbackW;
  let p = profile.entries[0]?.powerW ?? fallbackW;
  for (const e of profile.entries) if (elapsedS >= e.startS) p = e.powerW;
  return p;
}

/** Whether the EVSE's present output suits the battery (reference Ev.py start condition). */
export function mayStartCharging(ctx: Pick<EvSessionContext, 'energyTransferMode' | 'presentVoltageV' | 'presentCurrentA' | 'acNominalVoltageV' | 'acMaxCurrentA'>, c: BatteryConfig): boolean {
  if (isDc(ctx.energyTransferMode)) {
    const v = ctx.presentVoltageV;
    return v <= c.maxVoltageV && Math.abs(v - c.targetVoltageV) <= c.targetVoltageDeltaV && ctx.presentCurrentA <= c.maxCurrentA && v * ctx.presentCurrentA <= c.maxPowerW;
  }
  const v = ctx.acNominalVoltageV ?? 0;
  const i = Math.min(ctx.acMaxCurrentA ?? 0, c.maxCurrentAcA);
  return v > 0 && v <= c.maxVoltageAcV && i > c.minCurrentAcA;
}

/** An action of the EV session machine, defined outside `setup` with the machine's types. */
export const act = <P extends ParameterizedObject['params'] | undefined = undefined>(
  collect: Parameters<typeof enqueueActions<EvSessionContext, Events, P, Events, never, never, never, never, never>>[0],
) => enqueueActions<EvSessionContext, Events, P, Events, never, never, never, never, never>(collect);

/** The configuration step that starts the module's session (its log line, from the sequence's `hci.step`). */
export const START_SESSION_STEP = 'Create new charging session';

/** The configuration sequence (18.9.1-18.9.10): V2G mode, configuration, DC/AC parameters, Start Session. */
export function configurationSteps(context: EvSessionContext, self: { system: System }) {
  const c = context.config;
  const b = batteryNow(self.system, c.battery, context.clock.now());
  const soc = reportedSoc(b);
  const energyRequestWh = Math.max(0, Math.round((c.battery.capacityWh * (100 - soc)) / 100));
  const steps = [
    { text: 'Set V2G mode to EV', def: V2g.SetMode, fields: { mode: 0 } },
    {
      text: 'Set V2G configuration',
      def: V2g.EvSetConfiguration,
      fields: {
        evId: macToBytes(c.evccId),
        protocols: c.protocols,
        paymentMethods: [0],
        energyTransferModes: c.energyTransferModes,
        batteryCapacityWh: c.battery.capacityWh,
      },
    },
    ...(hasDc(c)
      ? [
          {
            text: 'Set DC charging parameters',
            def: V2g.EvSetDcChargingParameters,
            fields: {
              // The target current before charging only goes out in PreChargeReq: at most the
              // 2 A of IEC 61851-23 CC.6 (charger-gates.ts); the charge loop's updates carry the
              // battery's from Charging Started on.
              ...dcParameters(b, Math.min(c.battery.targetCurrentA, PRE_CHARGE_MAX_CURRENT_A)),
              fullSocPercent: c.battery.fullSocPercent,
              bulkSocPercent: c.battery.bulkSocPercent,
              energyRequestWh,
              departureTimeS: 100_000_000,
            },
          },
        ]
      : []),
    ...(hasAc(c) ? [{ text: 'Set AC charging parameters', def: V2g.EvSetAcChargingParameters, fields: { ...acParameters(c.battery), energyRequestWh, departureTimeS: 1_000_000 } }] : []),
    { text: START_SESSION_STEP, def: V2g.EvStartSession, fields: {} },
  ];
  return { client: context.client, steps };
}

/**
 * The session's record from its context: the machine's output, and what the station records
 * when the session is cut short (shutdown, station failure) and never reaches its final state.
 */
export function evSessionRecord(context: EvSessionContext, system: { get(id: string): unknown }): SessionRecord {
  const b = batteryNow(system, context.config.battery, context.clock.now());
  return {
    station: 'EV',
    startedAt: context.startedAt,
    endedAt: context.clock.now(),
    // As the EVSE records it (the bytes of Session Started in hex): one form in every record.
    evccId: bytesToHexId(macToBytes(context.config.evccId)),
    ...(context.evseId !== undefined ? { evseId: context.evseId } : {}),
    ...(context.protocol !== undefined ? { protocol: context.protocol } : {}),
    ...(context.energyTransferMode !== undefined ? { energyTransferMode: enumName(ENERGY_TRANSFER_MODES, context.energyTransferMode) } : {}),
    energyDeliveredWh: b.energyWh,
    peakVoltageV: context.peakVoltageV,
    peakCurrentA: context.peakCurrentA,
    ...(context.schedule ? { schedule: context.schedule } : {}),
    ...(context.stopReason !== undefined ? { stopReason: context.stopReason } : {}),
    ...(context.error ? { error: context.error } : {}),
    longestUpdateGapMs: context.longestUpdateGapMs,
    longestReactionMs: context.longestReactionMs,
    ...(context.socStartPercent !== undefined ? { socStartPercent: context.socStartPercent } : {}),
    socEndPercent: reportedSoc(b),
    ...(context.sessionId ? { sessionId: context.sessionId } : {}),
    ...(context.resumed ? { resumed: true } : {}),
  };
}
