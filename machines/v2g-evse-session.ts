/**
 * One V2G session, EVSE side (manual 18.10, 18.12, 21.8): configure and start listening, then
 * answer every status message 0x80-0x91 until the session stops or fails.
 *
 * Safety: `energyTransfer` (pre-charge and charging) is the only state in which the charger is
 * started. Leaving it for any reason (EV stop request, session error, unplug, shutdown, timeout)
 * stops the charger and sends EvseStopCharging; the other exits (session error, abort) send
 * EvseStopCharging too when it has not been sent yet.
 *
 * The module ends the session with error 23 when Update DC/AC Charging Parameters is not sent for
 * 500 ms after Set Schedules (18.10.4), so from then on an `updater` region sends it on a timer.
 *
 * Events from the parent: session.abort {reason}. Output: SessionRecord.
 */
import { type ActorRefFrom, type AnyActorRef, type EventObject, assign, enqueueActions, setup } from 'xstate';
import { V2g } from '../codec/catalog.js';
import type { CommandDef } from '../codec/message.js';
import { ENERGY_TRANSFER_MODES, EV_ERROR_CODES, EVSE_SESSION_ERRORS, IsolationLevel, PROTOCOLS, enumName } from '../codec/modules/v2g/common.js';
import { AuthorizationResult, CableCheckResult } from '../codec/modules/v2g/evse.js';
import { type Clock, hostNow } from '../util/clock.js';
import { type AuthorizationPolicy, authorizationPolicyLogic } from './authorization-policy.js';
import { type CertificateAnswer, type CertificateProvider, certificateAnswerLogic } from './certificate-provider.js';
import { type Contract, describeContract, paymentSelection } from './contract.js';
import { type ChargerEvent, advance, type chargerMachine } from './charger.js';
import { type EvseConfig, bytesToHexId } from './config.js';
import { acPhases } from './ev-ac.js';
import { type CommandRequest, type CommanderEvent, type SequenceEvent, UNEXPECTED_MESSAGE, hciCommander, hciSequence, hciStatus, hciChildren } from './hci-actors.js';
import { type StatusWatchdogEvent, noModuleStatus, statusWatchdog } from './status-watchdog.js';
import { HciError, type HciClient, type StatusEvent } from './hci-types.js';
import { type ChildEmit, type ScheduleTuple, type SessionPhase, type SessionRecord, type StationEmitted, logEvent } from './station-events.js';

export interface EvseSessionInput {
  client: HciClient;
  clock: Clock;
  config: EvseConfig;
  policy: AuthorizationPolicy;
  /** Answers certificate installation/update requests (Plug & Charge); none: refused. */
  certificateProvider?: CertificateProvider;
}

export type EvseSessionCommand =
  | { type: 'session.abort'; reason: string }
  | { type: 'session.stopCharging'; reason: string }
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
  stopChargingSent: boolean;
  energyFlowing: boolean;
  lastUpdateAt?: number;
  longestUpdateGapMs: number;
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
  /** Limits set at run time (session.setLimits); the configured charger limits otherwise. */
  limits: { maxPowerW?: number; maxCurrentA?: number };
  /** Renegotiations this session (EV- or EVSE-initiated). */
  renegotiations: number;
  /**
   * A Session Started that arrived before the configuration sequence finished (the module may
   * report the car's session as soon as Start Listen is accepted, before our sequence has seen
   * that response): kept and replayed on entering `listening` so it is never lost.
   */
  earlySessionStarted?: StatusEvent;
  paymentMethod?: string;
  contract?: Contract;
  /** The certificate request being answered (its status event) and the last outcome. */
  certificateRequest?: StatusEvent;
  certificateService?: SessionRecord['certificateService'];
}

type Ev<T extends string> = StatusEvent & { type: T };
type Events =
  | EvseSessionCommand
  | StatusWatchdogEvent
  | SequenceEvent
  | CommanderEvent
  | StatusEvent
  | { type: 'xstate.done.actor.policy'; output: boolean }
  | { type: 'xstate.done.actor.certificate'; output: CertificateAnswer };

/** 18.10.13: in a DIN 70121 session the module limits a schedule entry's power to this. */
const DIN_MAX_SCHEDULE_POWER_W = 32_767;

/** V2G 18.5 0x11: not in a state for this command (e.g. stop after the module already stopped). */
const WRONG_STATE = 0x11;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const f = (e: unknown): Record<string, unknown> => (e as StatusEvent).fields;
/** When the status message arrived, in host real time (reaction times are real time). */
const at = (e: unknown): number | undefined => (e as StatusEvent).hostAt;
const isDc = (mode: number | undefined): boolean => mode === undefined || mode <= 3;
/** The station's limits now: the configured ones unless changed at run time. */
const limitsOf = (c: Pick<EvseSessionContext, 'config' | 'limits'>) => ({
  maxCurrentA: c.limits.maxCurrentA ?? c.config.charger.maxCurrentA,
  maxPowerW: c.limits.maxPowerW ?? c.config.charger.maxPowerW,
});
/** Present values go out with one decimal (exponential keeps 4-5 significant digits). */
const round1 = (v: number): number => Math.round(v * 10) / 10;

/** Sends a command through the commander child. */
function command(def: CommandDef, fields: unknown, tag: string, answersAt?: number, tolerate?: readonly number[]): CommandRequest {
  return { type: 'hci.send', def, fields, tag, ...(answersAt !== undefined ? { answersAt } : {}), ...(tolerate ? { tolerate } : {}) };
}

/**
 * Updates wait for their answer at most one update interval: a lost update or answer must not
 * hold the V2G queue for the default 1 s, past the module's 500 ms deadline (18.10.4); the next
 * update then goes out in time.
 */
function updateOptions(intervalMs: number): Pick<CommandRequest, 'options'> {
  return { options: { timeoutMs: Math.max(50, intervalMs) } };
}

type ChargerRef = ActorRefFrom<typeof chargerMachine>;

function chargerOf(system: { get(id: string): unknown }): ChargerRef | undefined {
  return system.get('charger') as ChargerRef | undefined;
}

/** The system ID of the EVSE station actor (machines/index.ts), which this session reports to. */
export const EVSE_STATION_SYSTEM_ID = 'evseStation';

/**
 * Events to the station, when there is one: @xstate/graph traverses this machine without a parent
 * (test/machines-model.test.ts), so presentation events must not require one. The station is
 * found by its system ID (public API), not through XState's private `_parent`.
 */
function toParent(enqueue: Enqueue, self: unknown, event: ChildEmit | StationEmitted): void {
  const station = (self as AnyActorRef).system.get(EVSE_STATION_SYSTEM_ID) as AnyActorRef | undefined;
  if (station) enqueue.sendTo(station, event);
}

/** Events to the charger go through `enqueue.sendTo` (never `.send()` inside an action). */
interface Enqueue {
  sendTo(to: AnyActorRef, event: EventObject): void;
}

function sendCharger(enqueue: Enqueue, system: { get(id: string): unknown }, e: ChargerEvent): void {
  const ref = chargerOf(system);
  if (ref) enqueue.sendTo(ref, e);
}

/** Present output of the charger now (0 without a charger). */
function presentOutput(system: { get(id: string): unknown }, now: number): { voltageV: number; currentA: number; energyWh: number; peakV: number; peakA: number } {
  const c = chargerOf(system);
  if (!c) return { voltageV: 0, currentA: 0, energyWh: 0, peakV: 0, peakA: 0 };
  const s = advance(c.getSnapshot().context, now);
  return { voltageV: s.presentVoltageV, currentA: s.presentCurrentA, energyWh: s.energyWh, peakV: s.peakVoltageV, peakA: s.peakCurrentA };
}

export const v2gEvseSessionMachine = setup({
  types: {
    input: {} as EvseSessionInput,
    context: {} as EvseSessionContext,
    events: {} as Events,
    output: {} as SessionRecord,
  },
  actors: { hciSequence, hciCommander, hciStatus, statusWatchdog, policy: authorizationPolicyLogic, certificate: certificateAnswerLogic },
  delays: {
    updateInterval: ({ context }) => context.config.updateIntervalMs,
    authorizationTimeout: ({ context }) => context.authorizationTimeoutMs,
  },
  actions: {
    log: enqueueActions(({ enqueue, self }, p: { text: string; level?: 'info' | 'warn' | 'error' }) => toParent(enqueue, self, logEvent('EVSE', p.text, p.level ?? 'info'))),
    logStep: enqueueActions(({ enqueue, self, event }) => toParent(enqueue, self, logEvent('EVSE', (event as { text: string }).text))),
    phase: enqueueActions(({ enqueue, self }, p: { phase: SessionPhase }) => toParent(enqueue, self, { type: 'station.emit', event: { type: 'phase', station: 'EVSE', phase: p.phase } })),
    noteSent: assign({
      longestReactionMs: ({ context, event }) => Math.max(context.longestReactionMs, (event as Extract<CommanderEvent, { type: 'hci.reaction' }>).reactionMs),
    }),
    logCommandFailure: enqueueActions(({ enqueue, self, event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      toParent(enqueue, self, logEvent('EVSE', e.tolerated ? `${e.command} not needed: ${e.error.message}` : `Warning: ${e.error.message}`, e.tolerated ? 'info' : 'warn'));
    }),
    failConfiguration: assign({
      error: ({ event }) => ({ name: 'configurationFailed', detail: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message }),
    }),

    sessionStarted: enqueueActions(({ enqueue, self, context, event, system }) => {
      const fields = f(event);
      const evccId = fields.evccId instanceof Uint8Array ? bytesToHexId(fields.evccId) : String(fields.evccId ?? '');
      const sessionId = fields.sessionId instanceof Uint8Array ? bytesToHexId(fields.sessionId) : '';
      const protocol = enumName(PROTOCOLS, num(fields.protocol));
      enqueue.assign({ evccId, protocol, startedAt: context.clock.now() });
      toParent(enqueue, self, logEvent('EVSE', '"Session started" received', 'info', { protocol, sessionId, evccId }));
      toParent(enqueue, self, logEvent('EVSE', `Protocol: ${protocol}`));
      toParent(enqueue, self, logEvent('EVSE', `Session ID: ${sessionId}`));
      toParent(enqueue, self, logEvent('EVSE', `EVCC ID: ${evccId}`));
      sendCharger(enqueue, system, { type: 'charger.reset' });
    }),
    paymentSelected: enqueueActions(({ enqueue, self, event }) => {
      const fields = f(event);
      const selection = paymentSelection(fields);
      enqueue.assign({ paymentMethod: selection.paymentMethod, contract: selection.contract });
      toParent(
        enqueue,
        self,
        logEvent('EVSE', '"Payment selected" received', 'info', { selectedPaymentMethod: fields.selectedPaymentMethod, ...(selection.contract ? { contract: selection.contract } : {}) }),
      );
      toParent(enqueue, self, logEvent('EVSE', `Selected payment method: ${selection.paymentMethod}`));
      if (selection.contract) toParent(enqueue, self, logEvent('EVSE', describeContract(selection.contract)));
    }),
    authorizationRequested: enqueueActions(({ enqueue, self, context, event }) => {
      const timeoutMs = num(f(event).timeoutMs);
      // Answer before the module's own deadline: keep a margin of 1 s (at most half the time).
      const margin = Math.min(1000, timeoutMs / 2);
      enqueue.assign({ authorizationAt: at(event), authorizationTimeoutMs: Math.max(0, timeoutMs - margin) });
      toParent(enqueue, self, logEvent('EVSE', '"Request Authorization" received', 'info', { timeoutMs }));
      toParent(enqueue, self, { type: 'station.emit', event: { type: 'authorization', station: 'EVSE', evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs } });
    }),
    answerAuthorization: enqueueActions(({ enqueue, self, context }, p: { accepted: boolean; timedOut?: boolean }) => {
      if (p.timedOut) toParent(enqueue, self, logEvent('EVSE', 'Authorization timed out: no answer from the policy', 'warn'));
      toParent(enqueue, self, logEvent('EVSE', p.accepted ? 'Vehicle was authorized by user!' : 'Vehicle was NOT authorized by user!'));
      toParent(enqueue, self, {
        type: 'station.emit',
        event: { type: 'authorization', station: 'EVSE', evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs: context.authorizationTimeoutMs, accepted: p.accepted },
      });
      const result = p.accepted ? AuthorizationResult.succeeded : AuthorizationResult.failed;
      enqueue.sendTo('commander', command(V2g.EvseSetAuthorizationStatus, { result }, 'authorization', context.authorizationAt));
      if (!p.accepted) enqueue.assign({ stopReason: p.timedOut ? 'authorizationTimeout' : 'authorizationDenied' });
    }),
    energyTransferModeSelected: enqueueActions(({ enqueue, self, context, event, system }) => {
      const fields = f(event);
      const mode = num(fields.selectedEnergyTransferMode);
      const dc = fields.dcParameters as { socPercent?: number } | undefined;
      // A renegotiation selects the mode again: the session's start SOC stays the first one.
      enqueue.assign({ energyTransferMode: mode, ...(dc?.socPercent !== undefined ? { socStartPercent: context.socStartPercent ?? dc.socPercent, socPercent: dc.socPercent } : {}) });
      toParent(enqueue, self, logEvent('EVSE', '"Energy transfer mode selected" received', 'info', fields));
      toParent(enqueue, self, logEvent('EVSE', `Selected energy transfer mode: ${enumName(ENERGY_TRANSFER_MODES, mode)}`));
      const limits = { maxVoltageV: num(fields.maxVoltageV), maxCurrentA: num(fields.maxCurrentA), maxPowerW: num(fields.maxPowerW) };
      sendCharger(enqueue, system, { type: 'charger.evLimits', limits });
      if (!context.config.energyTransferModes.includes(mode)) {
        toParent(enqueue, self, logEvent('EVSE', 'Energy transfer mode mismatch!', 'warn'));
        enqueue.assign({ stopReason: 'energyTransferModeMismatch', stopChargingSent: true });
        enqueue.sendTo('commander', command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
      }
    }),
    schedulesRequested: enqueueActions(({ enqueue, self, context, event }) => {
      const maxEntries = Math.max(1, num(f(event).maxEntries) || 1);
      // DIN 70121 carries at most 32767 W per entry (18.10.13 note): say so rather than be cut.
      const maxW = context.protocol === 'DIN70121' ? DIN_MAX_SCHEDULE_POWER_W : Number.POSITIVE_INFINITY;
      const tuples = context.config.schedule.map((t) => ({
        scheduleTupleId: t.scheduleTupleId,
        entries: t.entries.slice(0, maxEntries).map((e) => ({ ...e, powerW: Math.min(e.powerW, maxW) })),
      }));
      enqueue.assign({ schedule: tuples });
      toParent(enqueue, self, logEvent('EVSE', '"Request Schedules" received'));
      toParent(enqueue, self, logEvent('EVSE', `Max entries: ${maxEntries}`));
      toParent(enqueue, self, logEvent('EVSE', `Set the schedule: ${formatSchedule(tuples)}`));
      enqueue.sendTo(
        'commander',
        command(V2g.EvseSetSchedules, { result: context.config.scheduleCode, scheduleTuples: tuples, energyToBeDeliveredWh: undefined, salesTariffs: undefined }, 'schedules', at(event)),
      );
    }),
    dcParametersChanged: enqueueActions(({ enqueue, self, event, system }) => {
      const fields = f(event);
      const targetVoltageV = num(fields.targetVoltageV);
      const targetCurrentA = num(fields.targetCurrentA);
      const socPercent = num(fields.socPercent);
      enqueue.assign({ evTargetVoltageV: targetVoltageV, evTargetCurrentA: targetCurrentA, socPercent });
      toParent(enqueue, self, logEvent('EVSE', '"DC Charge Parameters Changed" received', 'info', fields));
      const limits = { maxVoltageV: num(fields.maxVoltageV), maxCurrentA: num(fields.maxCurrentA), maxPowerW: num(fields.maxPowerW), socPercent };
      sendCharger(enqueue, system, { type: 'charger.ev', limits, voltageV: targetVoltageV, currentA: targetCurrentA });
      if (num(fields.errorCode) > 0) toParent(enqueue, self, logEvent('EVSE', `EV reports error code ${String(fields.errorCode)}`, 'warn'));
    }),
    acParametersChanged: enqueueActions(({ enqueue, self, context, event, system }) => {
      const fields = f(event);
      const maxCurrentA = num(fields.maxCurrentA);
      enqueue.assign({ evMaxCurrentA: maxCurrentA });
      toParent(enqueue, self, logEvent('EVSE', '"AC Charge Parameters Changed" received', 'info', fields));
      const limits = { maxVoltageV: num(fields.maxVoltageV), maxCurrentA };
      const c = context.config.charger;
      // AC: the EV draws what it may at the nominal voltage, on each of its phases (the charger
      // model carries the sum; the EV's power limit from mode selection still applies).
      const currentA = Math.min(limitsOf(context).maxCurrentA, maxCurrentA) * acPhases(context.energyTransferMode);
      sendCharger(enqueue, system, { type: 'charger.ev', limits: { maxVoltageV: limits.maxVoltageV }, voltageV: c.maxVoltageV, currentA });
    }),
    /** Update DC/AC Charging Parameters with the present output (18.10.4 / 18.10.7). */
    sendUpdate: enqueueActions(({ enqueue, context, event, system }) => {
      const now = context.clock.now();
      const out = presentOutput(system, now);
      const c = { ...context.config.charger, ...limitsOf(context) };
      const answersAt = at(event);
      if (isDc(context.energyTransferMode)) {
        enqueue.sendTo('commander', {
          ...command(
            V2g.EvseUpdateDcChargingParameters,
            {
              // An external power stage's isolation monitor speaks for itself; the simulation is valid.
              isolationLevel: context.cableCheckDone ? IsolationLevel[chargerOf(system)?.getSnapshot().context.isolation ?? 'valid'] : IsolationLevel.invalid,
              presentVoltageV: round1(out.voltageV),
              presentCurrentA: round1(out.currentA),
              maxVoltageV: c.maxVoltageV,
              maxCurrentA: c.maxCurrentA,
              maxPowerW: c.maxPowerW,
              status: 0,
            },
            'update',
            answersAt,
          ),
          ...updateOptions(context.config.updateIntervalMs),
        });
      } else {
        enqueue.sendTo('commander', {
          ...command(V2g.EvseUpdateAcChargingParameters, { rcdStatus: false, maxCurrentA: c.maxCurrentA }, 'update', answersAt),
          ...updateOptions(context.config.updateIntervalMs),
        });
      }
      const hostAt = hostNow();
      const gap = context.lastUpdateAt === undefined ? 0 : hostAt - context.lastUpdateAt;
      enqueue.assign({
        lastUpdateAt: hostAt,
        longestUpdateGapMs: context.energyFlowing ? Math.max(context.longestUpdateGapMs, gap) : context.longestUpdateGapMs,
      });
    }),
    cableCheckRequested: enqueueActions(({ enqueue, self, event }) => {
      toParent(enqueue, self, logEvent('EVSE', '"Request Cable Check Status" received'));
      enqueue.assign({ cableCheckDone: true });
      enqueue.sendTo('commander', command(V2g.EvseSetCableCheckFinished, { result: CableCheckResult.succeeded }, 'cableCheck', at(event)));
    }),
    startEnergyTransfer: enqueueActions(({ enqueue, system }) => {
      enqueue.assign({ stopChargingSent: false, energyFlowing: true, lastUpdateAt: undefined });
      sendCharger(enqueue, system, { type: 'charger.start' });
    }),
    /** The safety exit: output 0 and EvseStopCharging (answering the stop request if there was one). */
    stopEnergyTransfer: enqueueActions(({ enqueue, context, event, system }) => {
      sendCharger(enqueue, system, { type: 'charger.stop' });
      enqueue.assign({ energyFlowing: false });
      if (!context.stopChargingSent) {
        enqueue.assign({ stopChargingSent: true });
        enqueue.sendTo('commander', command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
      }
    }),
    ensureStopCharging: enqueueActions(({ enqueue, context, event, system }) => {
      sendCharger(enqueue, system, { type: 'charger.stop' });
      if (!context.stopChargingSent) {
        enqueue.assign({ stopChargingSent: true });
        enqueue.sendTo('commander', command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
      }
    }),
    startChargingRequested: enqueueActions(({ enqueue, self, event }) => {
      const fields = f(event);
      toParent(enqueue, self, logEvent('EVSE', '"Start Charging Requested" received', 'info', fields));
      toParent(enqueue, self, logEvent('EVSE', `Schedule tuple ID: ${String(fields.scheduleTupleId)}`));
      enqueue.sendTo('commander', command(V2g.EvseStartCharging, {}, 'startCharging', at(event)));
    }),
    meterReceipt: enqueueActions(({ enqueue, context, system }) => {
      if (!context.config.meterReceipt) return;
      const out = presentOutput(system, context.clock.now());
      enqueue.sendTo(
        'commander',
        command(
          V2g.EvseSetMeterReceiptRequest,
          {
            meterId: context.config.evseId.slice(0, 32),
            meterReadingWh: Math.round(out.energyWh),
            meterReadingSignature: new Uint8Array(0),
            meterStatus: undefined,
            meterTimestampS: Math.floor(context.clock.now() / 1000),
          },
          'meterReceipt',
        ),
      );
    }),
    stopChargingRequested: enqueueActions(({ enqueue, self, context, event }) => {
      const fields = f(event);
      toParent(enqueue, self, logEvent('EVSE', '"Request Stop Charging" received', 'info', fields));
      if (fields.renegotiation === true) {
        // The session goes on: schedules again, then a new Start Charging Requested.
        toParent(enqueue, self, logEvent('EVSE', 'Renegotiation: new schedules follow'));
        enqueue.assign({ renegotiations: context.renegotiations + 1 });
        return;
      }
      if (!context.stopReason) enqueue.assign({ stopReason: 'evStopped' });
    }),
    /** EVSENotification ReNegotiation (18.10.20): the EV answers with Stop Charging (renegotiate). */
    askRenegotiation: enqueueActions(({ enqueue, self, event }) => {
      const reason = (event as Extract<EvseSessionCommand, { type: 'session.renegotiate' }>).reason;
      toParent(enqueue, self, logEvent('EVSE', `Renegotiation requested (${reason}): notifying the EV`));
      enqueue.sendTo('commander', command(V2g.EvseSendNotification, { renegotiation: true, timeoutS: 1 }, 'notification', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }),
    setLimits: enqueueActions(({ enqueue, self, context, event, system }) => {
      const { type: _, ...given } = event as Extract<EvseSessionCommand, { type: 'session.setLimits' }>;
      const limits = { ...context.limits, ...given };
      enqueue.assign({ limits });
      const now = limitsOf({ config: context.config, limits });
      toParent(enqueue, self, logEvent('EVSE', `Limits now ${now.maxPowerW} W, ${now.maxCurrentA} A: the next parameter update carries them`));
      // AC: the charger model carries the current summed over the phases.
      const phases = isDc(context.energyTransferMode) ? 1 : acPhases(context.energyTransferMode);
      sendCharger(enqueue, system, { type: 'charger.limits', maxPowerW: now.maxPowerW, maxCurrentA: now.maxCurrentA * phases });
    }),
    certificateRequested: enqueueActions(({ enqueue, self, event }) => {
      const install = (event as StatusEvent).message === 'EvseCertificateInstallationRequested';
      toParent(enqueue, self, logEvent('EVSE', install ? '"Certificate Installation Requested" received' : '"Certificate Update Requested" received', 'info', { timeoutMs: f(event).timeoutMs }));
      enqueue.assign({ certificateRequest: event as StatusEvent });
    }),
    /** Set Certificate Installation or Update Response with what the provider logic decided. */
    answerCertificate: enqueueActions(({ enqueue, self, context }, answer: CertificateAnswer) => {
      const request = context.certificateRequest;
      toParent(enqueue, self, logEvent('EVSE', answer.text, answer.level));
      enqueue.assign({ certificateService: { kind: certificateKind(request), outcome: answer.outcome } });
      enqueue.sendTo(
        'commander',
        command(V2g.EvseSetCertificateInstallationOrUpdateResponse, { status: answer.status, exiResponse: answer.exiResponse }, 'certificate', request ? at(request) : undefined),
      );
    }),
    meteringReceiptStatus: enqueueActions(({ enqueue, self, event }) => toParent(enqueue, self, logEvent('EVSE', `Metering receipt status: ${f(event).status ? 'verified' : 'not verified'}`))),
    sessionStopped: enqueueActions(({ enqueue, self, context, event }) => {
      const closure = f(event).closureType === 1 ? 'pause' : 'terminate';
      enqueue.assign({ closure });
      toParent(enqueue, self, logEvent('EVSE', '"Session stopped" received', 'info', { closureType: closure }));
      toParent(enqueue, self, logEvent('EVSE', `Closure type: ${closure}`));
      if (!context.stopReason) enqueue.assign({ stopReason: closure === 'pause' ? 'paused' : 'sessionStopped' });
    }),
    sessionError: enqueueActions(({ enqueue, self, event }) => {
      const code = num(f(event).errorCode);
      const name = enumName(EVSE_SESSION_ERRORS, code);
      toParent(enqueue, self, logEvent('EVSE', '"Session Error" received'));
      toParent(enqueue, self, logEvent('EVSE', `Session error: ${code}: ${name}`, 'error'));
      enqueue.assign({ error: { code, name } });
    }),
    /**
     * The module no longer carries the session: it stopped answering (timeouts with nothing
     * received), or it answers an update with 0x11 (it restarted and has no session). Named in
     * the record; the exits then put the output to 0.
     */
    moduleFailed: enqueueActions(({ enqueue, self, event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      const name = e.moduleSilent ? 'moduleNotResponding' : 'moduleLostSession';
      toParent(enqueue, self, logEvent('EVSE', `Module failure (${name}): ${e.error.message}; output to 0`, 'error'));
      enqueue.assign({ error: { name, detail: e.error.message, ...(e.error instanceof HciError && e.error.code !== undefined ? { code: e.error.code } : {}) } });
    }),
    /** Issue 9 item 4: the wait for the module ended by the watchdog (machines/status-watchdog.ts). */
    noModuleStatus: enqueueActions(({ enqueue, self, event }) => {
      const n = noModuleStatus((event as StatusWatchdogEvent).boundMs);
      toParent(enqueue, self, logEvent('EVSE', n.text, 'error'));
      enqueue.assign({ error: n.error });
    }),
    aborted: enqueueActions(({ enqueue, self, context, event }) => {
      const reason = (event as Extract<EvseSessionCommand, { type: 'session.abort' }>).reason;
      toParent(enqueue, self, logEvent('EVSE', `Session aborted: ${reason}`, 'warn'));
      if (!context.stopReason) enqueue.assign({ stopReason: reason });
    }),
    /**
     * An EV error while charging: no more current, and ask the EV to stop (EVSENotification
     * StopCharging, 18.10.20); its PowerDelivery stop then ends the transfer the normal way.
     */
    stopForEvFault: enqueueActions(({ enqueue, self, event, system }) => {
      const code = num(f(event).errorCode);
      const name = enumName(EV_ERROR_CODES, code);
      toParent(enqueue, self, logEvent('EVSE', `EV error ${code} (${name}) while charging: output to 0, asking the EV to stop`, 'warn'));
      enqueue.assign({ evFaultHandled: true, stopReason: `evError:${name}` });
      sendCharger(enqueue, system, { type: 'charger.targets', voltageV: 0, currentA: 0 });
      enqueue.sendTo('commander', command(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 1 }, 'notification', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }),
    /** The operator stops charging: output to 0 and EVSENotification StopCharging (18.10.20). */
    stopOnRequest: enqueueActions(({ enqueue, self, context, event, system }) => {
      if (context.evFaultHandled) return;
      const reason = (event as Extract<EvseSessionCommand, { type: 'session.stopCharging' }>).reason;
      toParent(enqueue, self, logEvent('EVSE', `Stop charging requested (${reason}): output to 0, asking the EV to stop`));
      enqueue.assign({ evFaultHandled: true, stopReason: reason });
      sendCharger(enqueue, system, { type: 'charger.targets', voltageV: 0, currentA: 0 });
      enqueue.sendTo('commander', command(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 1 }, 'notification', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }),
    evseStopListen: enqueueActions(({ enqueue }) => {
      enqueue.sendTo('commander', command(V2g.EvseStopListen, {}, 'stopListen', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }),
  },
  guards: {
    dcMode: ({ context }) => isDc(context.energyTransferMode),
    /** The EV reports a DC_EVErrorCode while energy flows (first time only). */
    evFault: ({ context, event }) => !context.evFaultHandled && num(f(event).errorCode) > 0,
    /** A failure that means the module no longer carries this session (see moduleFailed). */
    moduleGone: ({ event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      if (e.tolerated) return false;
      if (e.moduleSilent === true) return true;
      return e.tag === 'update' && e.error instanceof HciError && e.error.code === WRONG_STATE;
    },
  },
}).createMachine({
  id: 'v2gEvseSession',
  context: ({ input }) => ({
    ...input,
    startedAt: input.clock.now(),
    cableCheckDone: false,
    stopChargingSent: false,
    energyFlowing: false,
    longestUpdateGapMs: 0,
    longestReactionMs: 0,
    evTargetVoltageV: 0,
    evTargetCurrentA: 0,
    authorizationTimeoutMs: 0,
    limits: {},
    renegotiations: 0,
  }),
  invoke: [...hciChildren(['V2g'])],
  on: {
    'hci.reaction': { actions: 'noteSent' },
    'hci.failed': { actions: 'logCommandFailure' },
  },
  initial: 'configuring',
  states: {
    configuring: {
      entry: { type: 'phase', params: { phase: 'v2gSetup' } },
      invoke: {
        src: 'hciSequence',
        input: ({ context }) => {
          const c = context.config;
          return {
            client: context.client,
            steps: [
              { text: 'Set V2G mode to EVSE', def: V2g.SetMode, fields: { mode: 1 } },
              {
                def: V2g.EvseSetConfiguration,
                fields: {
                  evseIdDin: c.evseIdDin,
                  evseIdIso: c.evseId,
                  protocols: c.protocols,
                  paymentMethods: c.paymentMethods,
                  energyTransferModes: c.energyTransferModes,
                  certificateInstallationSupported: c.certificateInstallationSupport,
                  certificateUpdateSupported: c.certificateUpdateSupport,
                },
              },
              {
                def: V2g.EvseSetDcChargingParameters,
                fields: {
                  isolationLevel: IsolationLevel.invalid,
                  minVoltageV: c.charger.minVoltageV,
                  minCurrentA: c.charger.minCurrentA,
                  maxVoltageV: c.charger.maxVoltageV,
                  maxCurrentA: c.charger.maxCurrentA,
                  maxPowerW: c.charger.maxPowerW,
                  currentRegulationToleranceA: undefined,
                  peakCurrentRippleA: c.charger.peakCurrentRippleA,
                  status: 0,
                },
              },
              { def: V2g.EvseSetAcChargingParameters, fields: { rcdStatus: false, nominalVoltageV: c.charger.maxVoltageV, maxCurrentA: c.charger.maxCurrentA } },
              { text: 'Start V2G', def: V2g.EvseStartListen, fields: {} },
            ],
          };
        },
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'V2g.EvseSessionStarted': { actions: assign({ earlySessionStarted: ({ event }) => event as StatusEvent }) },
        'hci.sequenceDone': 'listening',
        'hci.sequenceFailed': { target: 'done', actions: 'failConfiguration' },
        'session.abort': { target: 'done', actions: 'aborted' },
      },
    },
    listening: {
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.earlySessionStarted) enqueue.raise(context.earlySessionStarted as Ev<'V2g.EvseSessionStarted'>);
      }),
      on: {
        'V2g.EvseSessionStarted': { target: 'session', actions: 'sessionStarted' },
        'session.abort': { target: 'done', actions: ['aborted', 'evseStopListen'] },
        'session.noModuleStatus': { target: 'done', actions: 'noModuleStatus' },
        'hci.failed': [{ guard: 'moduleGone', target: 'done', actions: 'moduleFailed' }, { actions: 'logCommandFailure' }],
      },
    },
    session: {
      type: 'parallel',
      entry: { type: 'phase', params: { phase: 'sessionStarted' } },
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      on: {
        'session.noModuleStatus': { target: 'done', actions: ['noModuleStatus', 'ensureStopCharging'] },
        'V2g.EvsePaymentSelected': { actions: 'paymentSelected' },
        'V2g.EvseEnergyTransferModeSelected': { actions: 'energyTransferModeSelected' },
        'V2g.EvseDcChargeParametersChanged': { actions: ['dcParametersChanged', 'sendUpdate'] },
        'V2g.EvseAcChargeParametersChanged': { actions: ['acParametersChanged', 'sendUpdate'] },
        'V2g.EvseMeteringReceiptStatus': { actions: 'meteringReceiptStatus' },
        'V2g.EvseSessionStopped': { target: 'done', actions: 'sessionStopped' },
        'V2g.EvseSessionError': { target: 'done', actions: ['sessionError', 'ensureStopCharging'] },
        'session.abort': { target: 'done', actions: ['aborted', 'ensureStopCharging', 'evseStopListen'] },
        'session.setLimits': { actions: 'setLimits' },
        'hci.failed': [{ guard: 'moduleGone', target: 'done', actions: ['moduleFailed', 'ensureStopCharging'] }, { actions: 'logCommandFailure' }],
      },
      states: {
        /** Certificate installation/update (PnC): the provider answers within the module's timeout. */
        certificate: {
          initial: 'idle',
          on: {
            'V2g.EvseCertificateInstallationRequested': { target: '.answering', reenter: true, actions: 'certificateRequested' },
            'V2g.EvseCertificateUpdateRequested': { target: '.answering', reenter: true, actions: 'certificateRequested' },
          },
          states: {
            idle: {},
            answering: {
              invoke: {
                id: 'certificate',
                src: 'certificate',
                input: ({ context }) => certificateInput(context),
                onDone: { target: 'idle', actions: { type: 'answerCertificate', params: ({ event }) => event.output } },
              },
            },
          },
        },
        updater: {
          initial: 'idle',
          states: {
            idle: {
              on: { 'V2g.EvseSchedulesRequested': { target: 'running', actions: 'schedulesRequested' } },
            },
            running: {
              on: { 'V2g.EvseSchedulesRequested': { actions: 'schedulesRequested' } },
              after: { updateInterval: { target: 'running', reenter: true, actions: 'sendUpdate' } },
            },
          },
        },
        phase: {
          initial: 'started',
          on: {
            'V2g.EvseAuthorizationStatusRequested': { target: '.authorizing', actions: 'authorizationRequested' },
            'V2g.EvseCableCheckRequested': { target: '.cableCheck', actions: 'cableCheckRequested' },
            'V2g.EvsePreChargeStarted': { target: '.energyTransfer.preCharge' },
            'V2g.EvseStartChargingRequested': { target: '.energyTransfer.charging', actions: 'startChargingRequested' },
            'V2g.EvseStopChargingRequested': { target: '.postCharge', actions: 'stopChargingRequested' },
            'V2g.EvseWeldingDetectionStarted': { target: '.postCharge', actions: { type: 'log', params: { text: '"Welding Detection Started" received' } } },
          },
          states: {
            started: {},
            authorizing: {
              entry: { type: 'phase', params: { phase: 'authorization' } },
              invoke: {
                id: 'policy',
                src: 'policy',
                input: ({ context }) => ({ policy: context.policy, evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs: context.authorizationTimeoutMs }),
                onDone: { target: 'authorized', actions: { type: 'answerAuthorization', params: ({ event }) => ({ accepted: event.output === true }) } },
                onError: { target: 'authorized', actions: { type: 'answerAuthorization', params: { accepted: false } } },
              },
              after: { authorizationTimeout: { target: 'authorized', actions: { type: 'answerAuthorization', params: { accepted: false, timedOut: true } } } },
            },
            authorized: {
              entry: { type: 'phase', params: { phase: 'chargeParameterDiscovery' } },
            },
            cableCheck: {
              entry: { type: 'phase', params: { phase: 'cableCheck' } },
            },
            energyTransfer: {
              entry: 'startEnergyTransfer',
              exit: 'stopEnergyTransfer',
              initial: 'preCharge',
              // Handled here so that moving inside energy transfer never exits it (the exit
              // would stop the charger).
              on: { 'V2g.EvsePreChargeStarted': {} },
              states: {
                preCharge: {
                  entry: [
                    { type: 'phase', params: { phase: 'preCharge' } },
                    { type: 'log', params: { text: '"Pre Charge Started" received' } },
                  ],
                  on: { 'V2g.EvseStartChargingRequested': { target: 'charging', actions: 'startChargingRequested' } },
                },
                charging: {
                  entry: [{ type: 'phase', params: { phase: 'charging' } }, 'meterReceipt'],
                  on: {
                    'V2g.EvseStartChargingRequested': { actions: 'startChargingRequested' },
                    'V2g.EvseDcChargeParametersChanged': [{ guard: 'evFault', actions: ['dcParametersChanged', 'sendUpdate', 'stopForEvFault'] }, { actions: ['dcParametersChanged', 'sendUpdate'] }],
                    'session.stopCharging': { actions: 'stopOnRequest' },
                    'session.renegotiate': { actions: 'askRenegotiation' },
                  },
                },
              },
            },
            postCharge: {
              entry: { type: 'phase', params: { phase: 'postCharge' } },
            },
          },
        },
      },
    },
    done: {
      type: 'final',
      entry: { type: 'phase', params: { phase: 'sessionStopped' } },
    },
  },
  output: ({ context, self }) => evseSessionRecord(context, self.system),
});

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
    longestUpdateGapMs: context.longestUpdateGapMs,
    longestReactionMs: context.longestReactionMs,
    ...(context.socStartPercent !== undefined ? { socStartPercent: context.socStartPercent } : {}),
    ...(context.socPercent !== undefined && Number.isFinite(context.socPercent) ? { socEndPercent: context.socPercent } : {}),
    ...(context.paymentMethod !== undefined ? { paymentMethod: context.paymentMethod } : {}),
    ...(context.contract ? { contract: context.contract } : {}),
    ...(context.certificateService ? { certificateService: context.certificateService } : {}),
    ...(context.renegotiations > 0 ? { renegotiations: context.renegotiations } : {}),
    ...(context.closure !== undefined ? { closure: context.closure } : {}),
  };
}

const emaidOf = (context: EvseSessionContext): { emaid?: string } => (context.contract ? { emaid: context.contract.emaid } : {});

const certificateKind = (request: StatusEvent | undefined): 'installation' | 'update' => (request?.message === 'EvseCertificateUpdateRequested' ? 'update' : 'installation');

/** What the certificate provider logic needs for the request being answered. */
function certificateInput(context: EvseSessionContext) {
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

function formatSchedule(tuples: ScheduleTuple[]): string {
  return tuples.map((t) => `${t.scheduleTupleId}: [${t.entries.map((e) => `(${e.startS}, ${e.intervalS}, ${e.powerW})`).join(', ')}]`).join('; ');
}
