/**
 * The EVSE V2G session's shared part (machines/v2g-evse-session.ts): its input, context and
 * events, the helpers its actions use (commands through the commander child, events to the
 * station and the charger), `act` (an action typed for this machine) and the session's record.
 */
import { type ActorRefFrom, type AnyActorRef, type EventObject, type ParameterizedObject, enqueueActions } from 'xstate';
import { ENERGY_TRANSFER_MODES, enumName } from '../../codec/modules/v2g/common.js';
import type { Clock } from '../../util/clock.js';
import type { AuthorizationPolicy } from '../authorization-policy.js';
import type { AuthorizationProbeTaken } from './authorization-probe.js';
import type { SchedulesProbeTaken } from './schedules-probe.js';
import type { StartChargingProbeTaken } from './start-charging-probe.js';
import type { CertificateAnswer, CertificateProvider } from '../certificate-provider.js';
import type { Contract } from '../contract.js';
import type { StatusWatchdogEvent } from '../status-watchdog.js';
import type { CableCheckEvent } from '../cable-check.js';
import { type ChargerEvent, type chargerMachine, chargerEvInPlace, outputAt } from '../charger.js';
import type { EvseConfig } from '../config.js';
import type { CommandRequest, CommanderEvent, SequenceEvent } from '../hci-actors.js';
import type { HciClient, StatusEvent } from '../hci-types.js';
import type { ChildEmit, ScheduleTuple, SessionRecord, StationEmitted } from '../station-events.js';
import type { UpdateBook } from './updates.js';

export interface EvseSessionInput {
  client: HciClient;
  clock: Clock;
  config: EvseConfig;
  policy: AuthorizationPolicy;
  /** Answers certificate installation/update requests (Plug & Charge); none: refused. */
  certificateProvider?: CertificateProvider;
  /** The Session ID of the session the EV paused on this plug-in: a Session Started with it is a resume. */
  resumeSessionId?: string;
  /** The module's update deadline (firmware profile `dcUpdatePeriodMs`; default 500 ms). */
  updateDeadlineMs?: number;
}

export type EvseSessionCommand =
  | { type: 'session.abort'; reason: string }
  | { type: 'session.stopCharging'; reason: string }
  /** The car opened (B) or closed (C/D) S2 (control-pilot-evse.ts): only the charge loop acts on it. */
  | { type: 'session.s2'; closed: boolean }
  /** EVSE-initiated renegotiation: EVSENotification ReNegotiation (18.10.20). */
  | { type: 'session.renegotiate'; reason: string }
  /** The station's limits change now; the next parameter update carries them to the car. */
  | { type: 'session.setLimits'; maxPowerW?: number; maxCurrentA?: number };

export interface EvseSessionContext extends EvseSessionInput {
  startedAt: number;
  evccId?: string;
  protocol?: string;
  energyTransferMode?: number;
  schedule?: ScheduleTuple[];
  cableCheckDone: boolean;
  /** How long this cable check waits for the power stage's isolation result (cable-check.ts). */
  cableCheckTimeoutMs: number;
  stopChargingSent: boolean;
  energyFlowing: boolean;
  /** Timing of the parameter updates, written in place by each (updates.ts). */
  updates: UpdateBook;
  longestReactionMs: number;
  evTargetVoltageV: number;
  evTargetCurrentA: number;
  evMaxCurrentA?: number;
  socStartPercent?: number;
  socPercent?: number;
  stopReason?: string;
  error?: SessionRecord['error'];
  authorizationAt?: number;
  authorizationTimeoutMs: number;
  evFaultHandled?: boolean;
  /** Closure type of the module's Session Stopped (18.12.13). */
  closure?: 'terminate' | 'pause';
  sessionId?: string;
  /** The EV resumed the paused session (same Session ID, ISO 15118-2 8.4.1). */
  resumed?: boolean;
  /** Limits set at run time (session.setLimits); the configured charger limits otherwise. */
  limits: { maxPowerW?: number; maxCurrentA?: number };
  /** Renegotiations this session (EV- or EVSE-initiated). */
  renegotiations: number;
  /** Start Charging Requested with the car's S2 open (s2-open.ts, [V2G2-847]). */
  stateCAskedAt?: number;
  /** How long after it the car closed S2, when later than [V2G2-847]'s 250 ms. */
  lateStateCMs?: number;
  /**
   * V2G status messages that arrived before the configuration sequence finished (the module may
   * report the car's session as soon as Start Listen is accepted, before our sequence has seen
   * that response; when every answer to Start Listen was lost, the car's session is seconds
   * further on: payment, authorization request): replayed from Session Started on when entering
   * `listening`, so none is lost.
   */
  early?: StatusEvent[];
  /** Start Listen was refused 0x11 or never answered: the module may be listening (the failure's text). */
  listenUnconfirmed?: string;
  paymentMethod?: string;
  contract?: Contract;
  /** The certificate request being answered (its status event) and the last outcome. */
  certificateRequest?: StatusEvent;
  certificateService?: SessionRecord['certificateService'];
}

export type Ev<T extends string> = StatusEvent & { type: T };
export type Events =
  | EvseSessionCommand
  | StatusWatchdogEvent
  | SequenceEvent
  | CommanderEvent
  | StatusEvent
  | CableCheckEvent
  | AuthorizationProbeTaken
  | SchedulesProbeTaken
  | StartChargingProbeTaken
  | { type: 'xstate.done.actor.policy'; output: boolean }
  | { type: 'xstate.done.actor.certificate'; output: CertificateAnswer };

/** 18.10.13: in a DIN 70121 session the module limits a schedule entry's power to this. */
export const DIN_MAX_SCHEDULE_POWER_W = 32_767;

/** V2G 18.5 0x11: not in a state for this command (e.g. stop after the module already stopped). */
export { WRONG_STATE } from '../v2g-lost-frames.js';

/**
 * Start Listen got no answer (every attempt timed out) or a retry was refused 0x11 (the module
 * listens already: the sim and 18.5): the module may have taken the first one, whose answer was
 * lost, and the car's session may be running (the EV side of fuzz seeds 152399 199847 and 602).
 * The host listens on: the car has matched SLAC and sets its session up within its communication
 * set-up time (ISO 15118-2 V2G_EVCC_CommunicationSetup_Timeout, 20 s; the EV host's
 * SESSION_START_CONFIRM_MS). No Session Started by then: Stop Listen, configurationFailed.
 */
export const LISTEN_CONFIRM_MS = 20_000;

/** Manual 18.10.4 note: the module's deadline for the next parameter update. */
export const DEFAULT_UPDATE_DEADLINE_MS = 500;

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
export const f = (e: unknown): Record<string, unknown> => (e as StatusEvent).fields;
/** When the status message arrived, in host real time (reaction times are real time). */
export const at = (e: unknown): number | undefined => (e as StatusEvent).hostAt;
export const isDc = (mode: number | undefined): boolean => mode === undefined || mode <= 3;
/** The station's limits now: the configured ones unless changed at run time. */
export const limitsOf = (c: Pick<EvseSessionContext, 'config' | 'limits'>) => ({
  maxCurrentA: c.limits.maxCurrentA ?? c.config.charger.maxCurrentA,
  maxPowerW: c.limits.maxPowerW ?? c.config.charger.maxPowerW,
});
/** Present values go out with one decimal (exponential keeps 4-5 significant digits). */
export const round1 = (v: number): number => Math.round(v * 10) / 10;

/** The sessions' one command builder (EV and EVSE): an answer to a module's request gets its row of the lost-answer table (v2g-evse/lost-answers.ts). */
export { command } from '../v2g-command.js';

/**
 * Updates wait for their answer at most one update interval: a lost update or answer must not
 * hold the V2G queue for the default 1 s, past the module's 500 ms deadline (18.10.4); the next
 * update then goes out in time.
 */
export function updateOptions(intervalMs: number): Pick<CommandRequest, 'options'> {
  return { options: { timeoutMs: Math.max(50, intervalMs) } };
}

export type ChargerRef = ActorRefFrom<typeof chargerMachine>;

export function chargerOf(system: { get(id: string): unknown }): ChargerRef | undefined {
  return system.get('charger') as ChargerRef | undefined;
}

/** The system ID of the EVSE station actor (machines/index.ts), which this session reports to. */
export const EVSE_STATION_SYSTEM_ID = 'evseStation';

/**
 * Events to the station, when there is one: @xstate/graph traverses this machine without a parent
 * (test/machines-model.test.ts), so presentation events must not require one. The station is
 * found by its system ID (public API), not through XState's private `_parent`.
 */
export function toParent(enqueue: Enqueue, self: unknown, event: ChildEmit | StationEmitted): void {
  const station = (self as AnyActorRef).system.get(EVSE_STATION_SYSTEM_ID) as AnyActorRef | undefined;
  if (station) enqueue.sendTo(station, event);
}

/** Events to the charger go through `enqueue.sendTo` (never `.send()` inside an action). */
export interface Enqueue {
  /** A custom action, run in order with the others (the charger's in-place EV parameters). */
  (action: () => void): void;
  sendTo(to: AnyActorRef, event: EventObject): void;
}

export function sendCharger(enqueue: Enqueue, system: { get(id: string): unknown }, e: ChargerEvent): void {
  const ref = chargerOf(system);
  if (!ref) return;
  // The EV's parameters, one a status message: in place where the charger allows it (charger.ts).
  const inPlace = e.type === 'charger.ev' ? chargerEvInPlace(system, ref) : undefined;
  if (inPlace) enqueue(() => inPlace(e as Extract<ChargerEvent, { type: 'charger.ev' }>));
  else enqueue.sendTo(ref, e);
}

/** Present output of the charger now (0 without a charger). */
export function presentOutput(system: { get(id: string): unknown }, now: number): { voltageV: number; currentA: number; energyWh: number; peakV: number; peakA: number } {
  const c = chargerOf(system);
  if (!c) return { voltageV: 0, currentA: 0, energyWh: 0, peakV: 0, peakA: 0 };
  const s = outputAt(c.getSnapshot().context, now);
  return { voltageV: s.presentVoltageV, currentA: s.presentCurrentA, energyWh: s.energyWh, peakV: s.peakVoltageV, peakA: s.peakCurrentA };
}

/** An action of the EVSE session machine, defined outside `setup` with the machine's types. */
export const act = <P extends ParameterizedObject['params'] | undefined = undefined>(
  collect: Parameters<typeof enqueueActions<EvseSessionContext, Events, P, Events, never, never, never, never, never>>[0],
) => enqueueActions<EvseSessionContext, Events, P, Events, never, never, never, never, never>(collect);

/**
 * The session's record from its context: the machine's output, and what the station records
 * when the session is cut short (shutdown, station failure) and never reaches its final state.
 */
export function evseSessionRecord(context: EvseSessionContext, system: { get(id: string): unknown }): SessionRecord {
  const out = presentOutput(system, context.clock.now());
  return {
    station: 'EVSE',
    startedAt: context.startedAt,
    endedAt: context.clock.now(),
    ...(context.evccId !== undefined ? { evccId: context.evccId } : {}),
    // The ID the car was given: the DIN 70121 one in a DIN session (18.10.1).
    evseId: context.protocol === 'DIN70121' ? context.config.evseIdDin : context.config.evseId,
    ...(context.protocol !== undefined ? { protocol: context.protocol } : {}),
    ...(context.energyTransferMode !== undefined ? { energyTransferMode: enumName(ENERGY_TRANSFER_MODES, context.energyTransferMode) } : {}),
    energyDeliveredWh: out.energyWh,
    peakVoltageV: out.peakV,
    peakCurrentA: out.peakA,
    ...(context.schedule ? { schedule: context.schedule } : {}),
    ...(context.stopReason !== undefined ? { stopReason: context.stopReason } : {}),
    ...(context.error ? { error: context.error } : {}),
    longestUpdateGapMs: context.updates.longestUpdateGapMs,
    ...(context.updates.slack.shortestMs !== undefined ? { shortestUpdateSlackMs: context.updates.slack.shortestMs } : {}),
    longestReactionMs: context.longestReactionMs,
    ...(context.socStartPercent !== undefined ? { socStartPercent: context.socStartPercent } : {}),
    ...(context.socPercent !== undefined && Number.isFinite(context.socPercent) ? { socEndPercent: context.socPercent } : {}),
    ...(context.paymentMethod !== undefined ? { paymentMethod: context.paymentMethod } : {}),
    ...(context.contract ? { contract: context.contract } : {}),
    ...(context.certificateService ? { certificateService: context.certificateService } : {}),
    ...(context.renegotiations > 0 ? { renegotiations: context.renegotiations } : {}),
    ...(context.lateStateCMs !== undefined ? { lateStateCMs: context.lateStateCMs } : {}),
    ...(context.closure !== undefined ? { closure: context.closure } : {}),
    ...(context.sessionId ? { sessionId: context.sessionId } : {}),
    ...(context.resumed ? { resumed: true } : {}),
  };
}

export const emaidOf = (context: EvseSessionContext): { emaid?: string } => (context.contract ? { emaid: context.contract.emaid } : {});

export const certificateKind = (request: StatusEvent | undefined): 'installation' | 'update' => (request?.message === 'EvseCertificateUpdateRequested' ? 'update' : 'installation');

/** What the certificate provider logic needs for the request being answered. */
export function certificateInput(context: EvseSessionContext) {
  const kind = certificateKind(context.certificateRequest);
  const fields = context.certificateRequest?.fields ?? {};
  return {
    provider: context.certificateProvider,
    offered: kind === 'installation' ? context.config.certificateInstallationSupport : context.config.certificateUpdateSupport,
    kind,
    exiRequest: fields.exiRequest instanceof Uint8Array ? fields.exiRequest : new Uint8Array(0),
    evccId: context.evccId ?? '',
    moduleTimeoutMs: num(fields.timeoutMs),
    clock: context.clock,
  };
}

export function formatSchedule(tuples: ScheduleTuple[]): string {
  return tuples.map((t) => `${t.scheduleTupleId}: [${t.entries.map((e) => `(${e.startS}, ${e.intervalS}, ${e.powerW})`).join(', ')}]`).join('; ');
}
