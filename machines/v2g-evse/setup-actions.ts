/**
 * EVSE session, setup phase (18.12.1-18.12.5, 18.12.15/16): Session Started, payment,
 * authorization, energy transfer mode, schedules, certificate installation/update answers.
 */
import { V2g } from '../../codec/catalog.js';
import { ENERGY_TRANSFER_MODES, PROTOCOLS, enumName } from '../../codec/modules/v2g/common.js';
import { AuthorizationResult } from '../../codec/modules/v2g/evse.js';
import type { CertificateAnswer } from '../certificate-provider.js';
import type { AuthorizationProbeTaken } from './authorization-probe.js';
import { type SchedulesOffer, type SchedulesProbeTaken, schedulesProbeInput } from './schedules-probe.js';
import { REREAD_AFTER_MS } from '../state-reread.js';
import { describeContract, paymentSelection } from '../contract.js';
import { bytesToHexId } from '../config.js';
import { type CommanderEvent, type SequenceEvent, UNEXPECTED_MESSAGE, holdCommands, sendCommand } from '../hci-actors.js';
import type { StatusEvent } from '../hci-types.js';
import { type ScheduleTuple, type SessionPhase, logEvent } from '../station-events.js';
import {
  DIN_MAX_SCHEDULE_POWER_W,
  type EvseSessionContext,
  type Events,
  LISTEN_CONFIRM_MS,
  WRONG_STATE,
  act,
  at,
  certificateKind,
  command,
  emaidOf,
  f,
  formatSchedule,
  num,
  sendCharger,
  toParent,
} from './common.js';

const EARLY_LIMIT = 16;

/** The text of the configuration step that sends Start Listen (v2g-evse-session.ts). */
export const START_LISTEN_STEP = 'Start V2G';

/** Log lines, phases and command outcomes, for the station (and the HCI commander's figures). */
export const presentationActions = {
  log: act(({ enqueue, self }, p: { text: string; level?: 'info' | 'warn' | 'error' }) => toParent(enqueue, self, logEvent('EVSE', p.text, p.level ?? 'info'))),
  logStep: act(({ enqueue, self, event }) => toParent(enqueue, self, logEvent('EVSE', (event as unknown as { text: string }).text))),
  phase: act(({ enqueue, self }, p: { phase: SessionPhase }) => {
    toParent(enqueue, self, { type: 'station.emit', event: { type: 'phase', station: 'EVSE', phase: p.phase } });
    holdCommands(enqueue, self);
  }),
  noteSent: act(({ enqueue, context, event }) => {
    enqueue.assign({ longestReactionMs: Math.max(context.longestReactionMs, (event as Extract<CommanderEvent, { type: 'hci.reaction' }>).reactionMs) });
  }),
  logCommandFailure: act(({ enqueue, self, event }) => {
    const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
    toParent(enqueue, self, logEvent('EVSE', e.tolerated ? `${e.command} not needed: ${e.error.message}` : `Warning: ${e.error.message}`, e.tolerated ? 'info' : 'warn'));
  }),
  /** A resend refused 0x11: the module had taken an earlier send, only its answer was lost (v2g-evse/lost-answers.ts). */
  logTakenUnanswered: act(({ enqueue, self, event }) => {
    const e = event as Extract<CommanderEvent, { type: 'hci.takenUnanswered' }>;
    const hex = `0x${e.code.toString(16).padStart(2, '0')}`;
    toParent(enqueue, self, logEvent('EVSE', `${e.command}: answer lost, the module had taken it (the resend was refused ${hex})`, 'info'));
  }),
  /** At most this many status messages are kept from configuring (see EvseSessionContext.early). */
  keepEarly: act(({ enqueue, context, event }) => {
    const early = context.early ?? [];
    if (early.length < EARLY_LIMIT) enqueue.assign({ early: [...early, event as StatusEvent] });
  }),
  /** Start Listen goes out: what the module sent before it belongs to no session of this listen (stale). */
  forgetStale: act(({ enqueue, event }) => {
    if ((event as Extract<SequenceEvent, { type: 'hci.step' }>).command === 'V2g.EvseStartListen') enqueue.assign({ early: [] });
  }),
  /**
   * Entering `listening`: what came before the sequence ended, from Session Started on, in order.
   * With Session Started lost too (Start Listen's answer awaited, then lost), the first message of
   * the session under way enters it as in `listening` (sessionStartLost) and the rest is handed to
   * the session on its entry (`replayRest`), in order: dropping them left the host waiting for
   * Session Started while the module waited for its authorization answer, until the 20 s listen
   * confirmation stopped a session the car had started (configurationFailed).
   */
  replayEarly: act(({ enqueue, context }) => {
    const early = context.early ?? [];
    const from = early.findIndex((e) => e.type === 'V2g.EvseSessionStarted');
    const first = from >= 0 ? from : early.findIndex((e) => sessionUnderWay(e));
    if (first < 0) {
      if (early.length > 0) enqueue.assign({ early: [] });
      return;
    }
    if (from >= 0) for (const e of early.slice(from)) enqueue.raise(e as Events);
    else enqueue.raise(early[first] as Events);
    enqueue.assign({ early: from >= 0 ? [] : early.slice(first + 1) });
  }),
  /** Entering the session: the messages kept with a lost Session Started after the one that entered it (replayEarly). */
  replayRest: act(({ enqueue, context }) => {
    const rest = context.early ?? [];
    if (rest.length === 0) return;
    for (const e of rest) enqueue.raise(e as Events);
    enqueue.assign({ early: [] });
  }),
  listenUnconfirmed: act(({ enqueue, self, event }) => {
    const detail = (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message;
    enqueue.assign({ listenUnconfirmed: detail });
    toParent(enqueue, self, logEvent('EVSE', `${detail}: the module may be listening (an answer lost); waiting ${LISTEN_CONFIRM_MS / 1000} s for Session Started`, 'warn'));
  }),
  listenConfirmed: act(({ enqueue, self, context }) => {
    if (context.listenUnconfirmed === undefined) return;
    enqueue.assign({ listenUnconfirmed: undefined });
    toParent(enqueue, self, logEvent('EVSE', 'Session Started after all: the module had taken Start Listen'));
  }),
  listenNotConfirmed: act(({ enqueue, self, context }) => {
    const detail = `${context.listenUnconfirmed ?? 'V2g.EvseStartListen failed'}, and no Session Started within ${LISTEN_CONFIRM_MS / 1000} s`;
    toParent(enqueue, self, logEvent('EVSE', `Not listening: ${detail}; stopping whatever the module started`, 'error'));
    enqueue.assign({ error: { name: 'configurationFailed', detail }, listenUnconfirmed: undefined });
  }),
  failConfiguration: act(({ enqueue, event }) => {
    enqueue.assign({ error: { name: 'configurationFailed', detail: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message } });
  }),
};

/**
 * A status message of a running session while the host still listens (not Session Started): the
 * Session Started before it was lost. The V2G module has no query for its session state, so the
 * session's own messages tell: the module carries a session (the EV's Session Setup went through)
 * and waits for the host's answers (Payment Selected, Request Authorization, ...; its Session
 * Error and Session Stopped too). Listening on, the host answered nothing and missed even the
 * session's end (fuzz seed 200602: the EV in its session, the EVSE host in V2G setup for good).
 */
/** The protocol of a session whose Session Started was lost; schedules are then cut as for DIN 70121 (the safe side). */
export const PROTOCOL_UNKNOWN = 'unknown';

/**
 * The configured schedules cut to `maxEntries` entries per tuple (18.12.5), each entry's power
 * limited as the module would for DIN 70121 (18.10.13 note: at most 32767 W; said rather than cut)
 * while the protocol is DIN or unknown.
 */
export function scheduleFor(context: Pick<EvseSessionContext, 'config' | 'protocol'>, maxEntries: number): ScheduleTuple[] {
  const maxW = context.protocol === 'DIN70121' || context.protocol === PROTOCOL_UNKNOWN ? DIN_MAX_SCHEDULE_POWER_W : Number.POSITIVE_INFINITY;
  return context.config.schedule.map((t) => ({
    scheduleTupleId: t.scheduleTupleId,
    entries: t.entries.slice(0, maxEntries).map((e) => ({ ...e, powerW: Math.min(e.powerW, maxW) })),
  }));
}

/**
 * What the EVSE offers a module whose Schedules Requested may have been lost (schedules-probe.ts):
 * one entry per tuple (the lost message's Max entries is unknown; 1 is allowed by every request),
 * nothing once the session is stopping (an energy transfer mode refused, a stop sent).
 */
export function schedulesOffer(context: EvseSessionContext): SchedulesOffer | undefined {
  if (context.stopChargingSent || context.stopReason !== undefined) return undefined;
  return { result: context.config.scheduleCode, scheduleTuples: scheduleFor(context, 1) };
}

/** The schedules probe's input (its offer reads the session's context when it goes). */
export const schedulesProbeInputOf = ({ context, self }: { context: EvseSessionContext; self: { getSnapshot(): { context: EvseSessionContext } } }) =>
  schedulesProbeInput(context.client, context.clock, REREAD_AFTER_MS, () => schedulesOffer(self.getSnapshot().context));

export const sessionUnderWay = (event: { type: string }): boolean => event.type.startsWith('V2g.Evse') && event.type !== 'V2g.EvseSessionStarted';

export const setupActions = {
  /** Enters the session on a message of one under way (sessionUnderWay) and hands that message on to it. */
  sessionStartLost: act(({ enqueue, self, context, event, system }) => {
    const name = (event as StatusEvent).message;
    // The protocol came with the lost message: a record is kept for a started session only (station-common.ts).
    enqueue.assign({ evccId: '', sessionId: '', protocol: PROTOCOL_UNKNOWN, resumed: false, startedAt: (event as StatusEvent).at ?? context.clock.now() });
    toParent(enqueue, self, logEvent('EVSE', `"Session started" lost: "${name}" shows the module's session under way; following it`, 'warn'));
    sendCharger(enqueue, system, { type: 'charger.reset' });
    enqueue.raise(event as Events);
  }),
  sessionStarted: act(({ enqueue, self, context, event, system }) => {
    const fields = f(event);
    const evccId = fields.evccId instanceof Uint8Array ? bytesToHexId(fields.evccId) : String(fields.evccId ?? '');
    const sessionId = fields.sessionId instanceof Uint8Array ? bytesToHexId(fields.sessionId) : '';
    const protocol = enumName(PROTOCOLS, num(fields.protocol));
    const resumed = sessionId !== '' && sessionId === context.resumeSessionId;
    // When it arrived: a Session Started kept from configuring is replayed later (Start Listen's answer lost).
    enqueue.assign({ evccId, protocol, sessionId, resumed, startedAt: (event as StatusEvent).at ?? context.clock.now() });
    toParent(enqueue, self, logEvent('EVSE', '"Session started" received', 'info', { protocol, sessionId, evccId }));
    if (resumed) toParent(enqueue, self, logEvent('EVSE', `Session resumed: the EV came back with the paused session's ID ${sessionId}`));
    toParent(enqueue, self, logEvent('EVSE', `Protocol: ${protocol}`));
    toParent(enqueue, self, logEvent('EVSE', `Session ID: ${sessionId}`));
    toParent(enqueue, self, logEvent('EVSE', `EVCC ID: ${evccId}`));
    sendCharger(enqueue, system, { type: 'charger.reset' });
  }),
  paymentSelected: act(({ enqueue, self, event }) => {
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
  authorizationRequested: act(({ enqueue, self, context, event }) => {
    const timeoutMs = num(f(event).timeoutMs);
    // Answer before the module's own deadline: keep a margin of 1 s (at most half the time).
    const margin = Math.min(1000, timeoutMs / 2);
    enqueue.assign({ authorizationAt: at(event), authorizationTimeoutMs: Math.max(0, timeoutMs - margin) });
    toParent(enqueue, self, logEvent('EVSE', '"Request Authorization" received', 'info', { timeoutMs }));
    toParent(enqueue, self, { type: 'station.emit', event: { type: 'authorization', station: 'EVSE', evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs } });
  }),
  answerAuthorization: act(({ enqueue, self, context }, p: { accepted: boolean; timedOut?: boolean }) => {
    if (p.timedOut) toParent(enqueue, self, logEvent('EVSE', 'Authorization timed out: no answer from the policy', 'warn'));
    toParent(enqueue, self, logEvent('EVSE', p.accepted ? 'Vehicle was authorized by user!' : 'Vehicle was NOT authorized by user!'));
    toParent(enqueue, self, {
      type: 'station.emit',
      event: { type: 'authorization', station: 'EVSE', evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs: context.authorizationTimeoutMs, accepted: p.accepted },
    });
    const result = p.accepted ? AuthorizationResult.succeeded : AuthorizationResult.failed;
    sendCommand(enqueue, self, command(V2g.EvseSetAuthorizationStatus, { result }, 'authorization', context.authorizationAt));
    if (!p.accepted) enqueue.assign({ stopReason: p.timedOut ? 'authorizationTimeout' : 'authorizationDenied' });
  }),
  /** The module took the acceptance offered in a quiet session start: its Authorization Status Requested was lost (v2g-evse/authorization-probe.ts). */
  authorizationProbeTaken: act(({ enqueue, self, context, event }) => {
    const afterMs = (event as AuthorizationProbeTaken).afterMs;
    toParent(enqueue, self, logEvent('EVSE', `"Request Authorization" lost: the module took the acceptance offered ${afterMs} ms into a quiet session start (Set Authorization Status)`, 'warn'));
    toParent(enqueue, self, {
      type: 'station.emit',
      event: { type: 'authorization', station: 'EVSE', evccId: context.evccId ?? '', ...emaidOf(context), timeoutMs: context.authorizationTimeoutMs, accepted: true },
    });
  }),
  energyTransferModeSelected: act(({ enqueue, self, context, event, system }) => {
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
      sendCommand(enqueue, self, command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }
  }),
  schedulesRequested: act(({ enqueue, self, context, event }) => {
    const maxEntries = Math.max(1, num(f(event).maxEntries) || 1);
    const tuples = scheduleFor(context, maxEntries);
    enqueue.assign({ schedule: tuples });
    toParent(enqueue, self, logEvent('EVSE', '"Request Schedules" received'));
    toParent(enqueue, self, logEvent('EVSE', `Max entries: ${maxEntries}`));
    toParent(enqueue, self, logEvent('EVSE', `Set the schedule: ${formatSchedule(tuples)}`));
    sendCommand(
      enqueue,
      self,
      command(V2g.EvseSetSchedules, { result: context.config.scheduleCode, scheduleTuples: tuples, energyToBeDeliveredWh: undefined, salesTariffs: undefined }, 'schedules', at(event)),
    );
  }),
  /** The module took the schedules offered after a quiet Energy Transfer Mode Selected: its Schedules Requested was lost (v2g-evse/schedules-probe.ts). */
  schedulesProbeTaken: act(({ enqueue, self, event }) => {
    const { afterMs, scheduleTuples } = event as SchedulesProbeTaken;
    enqueue.assign({ schedule: scheduleTuples });
    toParent(
      enqueue,
      self,
      logEvent(
        'EVSE',
        `"Request Schedules" lost: the module took the schedules offered ${afterMs} ms after "Energy transfer mode selected" (Set Schedules): ${formatSchedule(scheduleTuples)}`,
        'warn',
      ),
    );
  }),
  certificateRequested: act(({ enqueue, self, event }) => {
    const install = (event as StatusEvent).message === 'EvseCertificateInstallationRequested';
    toParent(enqueue, self, logEvent('EVSE', install ? '"Certificate Installation Requested" received' : '"Certificate Update Requested" received', 'info', { timeoutMs: f(event).timeoutMs }));
    enqueue.assign({ certificateRequest: event as StatusEvent });
  }),
  /** Set Certificate Installation or Update Response with what the provider logic decided. */
  answerCertificate: act(({ enqueue, self, context }, answer: CertificateAnswer) => {
    const request = context.certificateRequest;
    toParent(enqueue, self, logEvent('EVSE', answer.text, answer.level));
    enqueue.assign({ certificateService: { kind: certificateKind(request), outcome: answer.outcome } });
    sendCommand(
      enqueue,
      self,
      command(V2g.EvseSetCertificateInstallationOrUpdateResponse, { status: answer.status, exiResponse: answer.exiResponse }, 'certificate', request ? at(request) : undefined),
    );
  }),
};
