/**
 * V2G service of the simulated EVSE module (WHITE-beet-EI, chapter 18 EVSE side): the
 * configuration commands (18.10) and the host side of the SECC machine (secc-machine.ts), which
 * answers the car's requests, asks its host through the status messages of 18.12 and enforces
 * the timeouts those messages carry. When a host misses one, the session ends the manual's way:
 * Session Error, then Session Stopped (18.12.14), and the car gets a failed response. What it
 * reports of itself and of the car is made in v2g-evse-reports.ts.
 */
import { createActor } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { V2gResultCode } from '../../codec/modules/v2g/common.js';
import { CertificateResponseStatus, SchedulesResult } from '../../codec/modules/v2g/evse.js';
import type { TimerId } from '../../util/clock.js';
import { V2G_LATENCY_MS } from '../cable.js';
import { type ModuleContext, type Reply, type Service, fail, ok } from '../module.js';
import type { EvSnapshot, EvseSnapshot, ScheduleTuple, SessionFailure, V2gMessage, V2gRequest, V2gResponse } from '../v2g-messages.js';
import { seccMachine } from './secc-machine.js';
import type { SeccEvent, SeccPort } from './secc-port.js';
import { type Fields, dcChangedReporter, emitModeSelected, evseSnapshot, num } from './v2g-evse-reports.js';

export { SDP_CONNECT_MS, SDP_WINDOW_MS } from './secc-machine.js';

/** setTimeout's ceiling: a disabled charge-parameter deadline. */
const NEVER_MS = 2 ** 31 - 1;
/**
 * ISO 15118-2 / DIN 70121 V2G_SECC_Sequence_Timeout: the station waits 60 s for the car's next
 * request after each response, then ends the session and closes the connection. The manual names
 * no error code for it; the host sees Session Error 0 (unspecified) and Session Stopped, as for the
 * module's other deadlines. Field case: a car that never sent CableCheckReq (Sevenstax/FreeV2G#340).
 */
export const SEQUENCE_TIMEOUT_MS = 60_000;

/** 18.12.14 code 3 / 18.11.14 code 8: a request for a session the station does not have. */
const UNKNOWN_SESSION: SessionFailure = { evseSessionError: 3, evSessionError: 8 };
/** Session IDs are compared by value (8 bytes, 18.12.1). */
const sameId = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** What the station keeps about the running session (its phase is the machine's state). */
interface Session {
  id: Uint8Array;
  protocol: number;
  cableCheckSince: number;
  preChargeStarted: boolean;
  weldingStarted: boolean;
  notification: { renegotiation: boolean; maxDelayS: number } | undefined;
  scriptedErrorsFired: Set<string>;
}

export function createV2gEvseService(ctx: ModuleContext, common: { mode: () => number; setMode: (m: number) => void }): Service {
  const { cable, clock, scenario } = ctx;
  const timeouts = scenario.station.timeouts;
  let config: Fields | undefined;
  let dc: Fields | undefined;
  let ac: Fields | undefined;
  let schedules: ScheduleTuple[] = [];
  let energyToBeDeliveredWh: number | undefined;
  let sdp: Fields = { unsecurePort: ctx.rng.int(49152, 65535) };
  let chargeParameterMs = timeouts.chargeParameterMs;
  /** The charge loop's parameter deadline (the SECC machine arms it in its charge loop state). */
  let parameterDeadline: TimerId | undefined;
  let parameterDeadlineArmed = false;
  const clearParameterDeadline = (): void => {
    if (parameterDeadline !== undefined) clock.clearTimeout(parameterDeadline);
    parameterDeadline = undefined;
  };
  const parameterDeadlineMissed = (): void => {
    parameterDeadline = undefined;
    actor.send({ type: 'PARAMETER_TIMEOUT' });
  };
  /** A host update in the charge loop restarts the deadline; elsewhere it changes nothing. */
  const parametersUpdated = (): void => {
    if (parameterDeadlineArmed) port.armParameterDeadline();
  };
  let session: Session | undefined;
  /** The failure the car learns with its next request after the session ended. */
  let pendingFailure: SessionFailure | undefined;
  /**
   * The Session ID of a session the car paused (SessionStopReq ChargingSession=Pause, ISO 15118-2
   * 8.4.1 as quoted in Sevenstax/FreeV2G#21): a SessionSetupReq carrying it resumes that session.
   */
  let pausedId: Uint8Array | undefined;
  /** Runs from each response to the car until its next request (SEQUENCE_TIMEOUT_MS). */
  let sequenceTimer: number | undefined;
  const stopSequenceTimer = (): void => {
    if (sequenceTimer !== undefined) clock.clearTimeout(sequenceTimer);
    sequenceTimer = undefined;
  };

  const snapshot = (): EvseSnapshot => evseSnapshot({ config, dc, ac, schedules, energyToBeDeliveredWh }, session?.protocol ?? 1);

  const respond = (req: V2gRequest, extra: Partial<V2gResponse> = {}): void => {
    const res: V2gResponse = {
      type: 'res',
      kind: req.kind,
      ok: true,
      processing: 'finished',
      sessionId: session?.id ?? req.sessionId,
      evse: snapshot(),
      ...extra,
    };
    cable.sendV2g('EVSE', res);
    stopSequenceTimer();
    if (session) sequenceTimer = clock.setTimeout(() => send({ type: 'SEQUENCE_TIMEOUT' }), SEQUENCE_TIMEOUT_MS);
  };
  const refuse = (req: V2gRequest, failure: SessionFailure): void => respond(req, { ok: false, failure });

  const emitDcChanged = dcChangedReporter(ctx);

  const chooseProtocol = (ev: EvSnapshot): number | undefined => {
    const mine = (config?.protocols as number[]) ?? [];
    const both = ev.protocols.filter((p) => mine.includes(p));
    const preferred = scenario.ev.protocol === undefined ? undefined : scenario.ev.protocol === 'DIN70121' ? 0 : 1;
    if (preferred !== undefined && both.includes(preferred)) return preferred;
    return both.includes(1) ? 1 : both[0];
  };

  const port: SeccPort = {
    startSession(req) {
      const protocol = chooseProtocol(req.ev) ?? 1;
      // A resumed session keeps its Session ID; a new one gets a fresh ID.
      const resumed = pausedId !== undefined && sameId(req.sessionId, pausedId);
      const id = resumed && pausedId ? pausedId : new Uint8Array(8).map(() => ctx.rng.int(0, 255));
      pausedId = undefined;
      pendingFailure = undefined;
      session = { id, protocol, cableCheckSince: 0, preChargeStarted: false, weldingStarted: false, notification: undefined, scriptedErrorsFired: new Set() };
      ctx.emit(V2g.EvseSessionStarted, { protocol, sessionId: id, evccId: req.ev.evccId.slice(0, 20) });
      respond(req, { protocol });
    },
    respond,
    refuse,
    refuseNoSession(req) {
      refuse(req, pendingFailure ?? UNKNOWN_SESSION);
      pendingFailure = undefined;
    },
    abort(failure, held) {
      ctx.emit(V2g.EvseSessionError, { errorCode: failure.evseSessionError });
      ctx.emit(V2g.EvseSessionStopped, { closureType: 0 });
      if (held) refuse(held, failure);
      else pendingFailure = failure;
      session = undefined;
      stopSequenceTimer();
    },
    closeConnection() {
      const res: V2gResponse = { type: 'res', kind: 'sessionStop', ok: false, processing: 'finished', sessionId: new Uint8Array(8), evse: snapshot(), closed: true };
      cable.sendV2g('EVSE', res);
    },
    stopAfterResponse(req) {
      // 18.12.13 closure type 1: "Paused (Session can be resumed later on)".
      const pause = req.chargingSession === 'pause';
      if (pause && session) pausedId = session.id;
      session = undefined;
      stopSequenceTimer();
      // The host hears of it once the car has its response (TCP closes after SessionStopRes),
      // so an EVSE host switching its PWM back to 100 % cannot overtake the car's Session Stopped.
      clock.setTimeout(() => ctx.emit(V2g.EvseSessionStopped, { closureType: pause ? 1 : 0 }), 2 * V2G_LATENCY_MS);
    },
    canStart: (req) => chooseProtocol(req.ev) !== undefined,
    modeSupported: (req) => ((config?.energyTransferModes as number[]) ?? []).includes(req.energyTransferMode ?? 0),
    cableCheckLongEnough: () => clock.now() - (session?.cableCheckSince ?? 0) >= scenario.station.cableCheckMs,
    // With contract payment the module reports Payment Selected once it has the contract
    // (Payment Details): the message carries it (18.12.2).
    paymentSelected: (req) => {
      if (req.paymentMethod !== 1) ctx.emit(V2g.EvsePaymentSelected, { selectedPaymentMethod: req.paymentMethod ?? 0 });
    },
    paymentDetails: (req) => ctx.emit(V2g.EvsePaymentSelected, { selectedPaymentMethod: 1, ...(req.contract ? { contract: req.contract } : {}) }),
    certificateRequested: (req) =>
      ctx.emit(req.kind === 'certificateUpdate' ? V2g.EvseCertificateUpdateRequested : V2g.EvseCertificateInstallationRequested, {
        timeoutMs: timeouts.certificateMs,
        exiRequest: req.exiRequest ?? new Uint8Array(0),
      }),
    authorizationRequested: () => ctx.emit(V2g.EvseAuthorizationStatusRequested, { timeoutMs: timeouts.authorizationMs }),
    schedulesRequested(req) {
      emitModeSelected(ctx, req);
      ctx.emit(V2g.EvseSchedulesRequested, { timeoutMs: timeouts.schedulesMs, maxEntries: req.maxEntries ?? 20 });
    },
    cableCheckRequested() {
      if (session) session.cableCheckSince = clock.now();
      ctx.emit(V2g.EvseCableCheckRequested, { timeoutMs: timeouts.cableCheckMs });
    },
    dcParameters: (req, withTargets) => emitDcChanged(req.ev, withTargets),
    preCharge() {
      if (session && !session.preChargeStarted) ctx.emit(V2g.EvsePreChargeStarted);
      if (session) session.preChargeStarted = true;
    },
    welding() {
      if (session && !session.weldingStarted) ctx.emit(V2g.EvseWeldingDetectionStarted);
      if (session) session.weldingStarted = true;
    },
    startChargingRequested(req) {
      ctx.emit(V2g.EvseStartChargingRequested, {
        timeoutMs: timeouts.startChargingMs,
        scheduleTupleId: req.scheduleTupleId ?? 1,
        chargingProfile: req.chargingProfile ?? [],
      });
    },
    stopChargingRequested(req) {
      ctx.emit(V2g.EvseStopChargingRequested, { timeoutMs: timeouts.stopChargingMs, renegotiation: req.chargeProgress === 'renegotiate' });
    },
    takeNotification() {
      const n = session?.notification;
      if (session) session.notification = undefined;
      return n ? { notification: n } : {};
    },
    armParameterDeadline: () => {
      clearParameterDeadline();
      // 0 disables the deadline (FreeV2G 0x76): setTimeout's ceiling, as never.
      parameterDeadline = clock.setTimeout(parameterDeadlineMissed, chargeParameterMs || NEVER_MS);
      parameterDeadlineArmed = true;
    },
    disarmParameterDeadline: () => {
      clearParameterDeadline();
      parameterDeadlineArmed = false;
    },
  };

  const start = () => createActor(seccMachine, { clock, input: { port, timeouts } }).start();
  let actor = start();
  const send = (e: SeccEvent): void => actor.send(e);
  const can = (e: SeccEvent): boolean => actor.getSnapshot().can(e);
  const inSession = (state: string): boolean => actor.getSnapshot().matches({ session: state } as never);

  /** Scenario `station.errors`: the station fails this phase once per session. */
  const scriptedFailure = (s: Session): SessionFailure | undefined => {
    const e = scenario.station.errors.find((x) => x.phase === cable.phase && !s.scriptedErrorsFired.has(x.phase));
    if (!e) return undefined;
    s.scriptedErrorsFired.add(e.phase);
    return { evseSessionError: e.evseSessionError, evSessionError: e.evSessionError };
  };

  /**
   * ISO 15118-2 / DIN 70121: a request whose header carries another session ID than the one
   * SessionSetupRes gave is answered FAILED_UnknownSession and the session ends (Session Error
   * "unknown session" to the host); a car that changes its ID does so (Sevenstax/FreeV2G#14).
   */
  const unknownSession = (s: Session, m: V2gRequest): boolean => m.kind !== 'sessionSetup' && !sameId(s.id, m.sessionId);

  /**
   * The charge loop's requests (one every loop interval) change no state: answered here as the
   * machine's `session` REQ transition does (`dcTargets`, `respondLoop`) without a macrostep of
   * it (issue 12 target 4). Only in `charging` and for a request the car did not abort.
   */
  const loopRequestInPlace = (m: V2gRequest): boolean => {
    if ((m.kind !== 'currentDemand' && m.kind !== 'chargingStatus') || m.aborted === true) return false;
    if ((actor.getSnapshot().value as { session?: unknown }).session !== 'charging') return false;
    if (m.kind === 'currentDemand') port.dcParameters(m, true);
    port.respond(m, port.takeNotification());
    return true;
  };

  cable.attachSecc((m: V2gMessage) => {
    if (m.type !== 'req') return;
    stopSequenceTimer();
    const failure = session && !m.aborted ? (unknownSession(session, m) ? UNKNOWN_SESSION : scriptedFailure(session)) : undefined;
    if (!failure && loopRequestInPlace(m)) return;
    send(failure ? { type: 'ABORT', failure, req: m } : { type: 'REQ', req: m });
  });
  // Unplugged: the session is over; the PLC link lost with the car plugged in: only silence
  // follows, and the station's timers end the session (secc-machine.ts).
  const offChange = cable.onChange(() => {
    if (!cable.isPlugged) send({ type: 'UNPLUGGED' });
    else if (!cable.plcLinkUp) send({ type: 'LINK_LOST' });
    if (!cable.isPlugged) pausedId = undefined;
  });

  const isEvse = (): boolean => common.mode() === 1;
  const listening = (): boolean => !actor.getSnapshot().matches('closed');
  /** Configuration commands: EVSE mode, and not while listening (18 intro). */
  const configure = (apply: () => void): Reply => {
    if (!isEvse() || listening()) return fail(V2gResultCode.wrongState);
    apply();
    return ok();
  };
  /**
   * A host answer the machine is waiting for, else 0x11 (18.5, "not in the state to receive the
   * command"); the field firmware refuses Start Charging so once it no longer waits for it
   * (Sevenstax/FreeV2G#199). The host's probes rely on it (v2g-evse/start-charging-probe.ts).
   */
  const answer = (e: SeccEvent): Reply => {
    if (!can(e)) return fail(V2gResultCode.wrongState);
    send(e);
    return ok();
  };

  return {
    module: 'V2g',
    handlers: {
      EvseSetConfiguration: (m) => configure(() => (config = { ...m.fields })),
      EvseGetConfiguration: () => (config ? ok({ ...config }) : fail(V2gResultCode.wrongState)),
      EvseSetDcChargingParameters: (m) => configure(() => (dc = { ...m.fields, presentVoltageV: 0, presentCurrentA: 0 })),
      EvseUpdateDcChargingParameters: (m) => {
        if (!isEvse() || !dc) return fail(V2gResultCode.wrongState);
        const f = m.fields;
        // In place, no copy: 5 updates a second in the charge loop. `dc` never leaves this
        // closure (the car's snapshot and the Get command copy its values).
        dc.isolationLevel = f.isolationLevel;
        dc.presentVoltageV = f.presentVoltageV;
        dc.presentCurrentA = f.presentCurrentA;
        dc.status = f.status;
        if (f.maxVoltageV !== undefined) dc.maxVoltageV = f.maxVoltageV;
        if (f.maxCurrentA !== undefined) dc.maxCurrentA = f.maxCurrentA;
        if (f.maxPowerW !== undefined) dc.maxPowerW = f.maxPowerW;
        parametersUpdated();
        return ok();
      },
      EvseGetDcChargingParameters: () => (dc ? ok({ ...dc }) : fail(V2gResultCode.wrongState)),
      EvseSetAcChargingParameters: (m) => configure(() => (ac = { ...m.fields })),
      EvseUpdateAcChargingParameters: (m) => {
        if (!isEvse() || !ac) return fail(V2gResultCode.wrongState);
        ac = { ...ac, rcdStatus: m.fields.rcdStatus, ...(m.fields.maxCurrentA !== undefined ? { maxCurrentA: m.fields.maxCurrentA } : {}) };
        parametersUpdated();
        return ok();
      },
      EvseGetAcChargingParameters: () => (ac ? ok({ ...ac }) : fail(V2gResultCode.wrongState)),
      EvseSetSdpConfig: (m) => configure(() => (sdp = { ...m.fields })),
      EvseGetSdpConfig: () => ok({ ...sdp }),
      EvseStartListen: () => {
        if (!isEvse() || listening() || !config || (!dc && !ac)) return fail(V2gResultCode.wrongState);
        send({ type: 'LISTEN' });
        return ok();
      },
      EvseStopListen: () => {
        send({ type: 'STOP_LISTEN' });
        return ok();
      },
      EvseSetAuthorizationStatus: (m) => answer({ type: 'AUTHORIZATION', ok: num(m.fields, 'result') === 0 }),
      EvseSetSchedules: (m) => {
        const tuples = m.fields.scheduleTuples as ScheduleTuple[];
        const accepted = num(m.fields, 'result') === SchedulesResult.ok && tuples.length > 0;
        if (!can({ type: 'SCHEDULES', ok: accepted })) return fail(V2gResultCode.wrongState);
        if (accepted) {
          schedules = tuples;
          energyToBeDeliveredWh = m.fields.energyToBeDeliveredWh as number | undefined;
        }
        send({ type: 'SCHEDULES', ok: accepted });
        return ok();
      },
      EvseSetCableCheckFinished: (m) => answer({ type: 'CABLE_CHECK', ok: num(m.fields, 'result') === 0 }),
      EvseStartCharging: () => answer({ type: 'START_CHARGING' }),
      EvseStopCharging: () => answer({ type: 'STOP_CHARGING' }),
      /** 18.10.20: rides on the next charge-loop response as an EVSENotification. */
      EvseSendNotification: (m) => {
        if (!session || !inSession('charging')) return fail(V2gResultCode.wrongState);
        session.notification = { renegotiation: m.fields.renegotiation as boolean, maxDelayS: num(m.fields, 'timeoutS') };
        return ok();
      },
      /** 18.10.19: the simulated car verifies every receipt (status true) with its next loop request. */
      EvseSetMeterReceiptRequest: () => {
        const s = session;
        if (!s || !inSession('charging')) return fail(V2gResultCode.wrongState);
        clock.setTimeout(() => {
          if (session === s) ctx.emit(V2g.EvseMeteringReceiptStatus, { status: true });
        }, scenario.ev.loopIntervalMs);
        return ok();
      },
      /** 18.10.18: success forwards the EXI response to the car; any other status fails the session. */
      EvseSetCertificateInstallationOrUpdateResponse: (m) =>
        answer({ type: 'CERTIFICATE', ok: num(m.fields, 'status') === CertificateResponseStatus.success, exiResponse: m.fields.exiResponse as Uint8Array }),
      /** FreeV2G 0x76: the charge-loop parameter timeout (0 disables it). */
      EvseSetSessionParameterTimeout: (m) => {
        if (!isEvse()) return fail(V2gResultCode.wrongState);
        chargeParameterMs = num(m.fields, 'timeoutMs');
        return ok();
      },
    },
    reset() {
      actor.stop();
      port.disarmParameterDeadline();
      stopSequenceTimer();
      session = undefined;
      pendingFailure = undefined;
      pausedId = undefined;
      config = undefined;
      dc = undefined;
      ac = undefined;
      schedules = [];
      chargeParameterMs = timeouts.chargeParameterMs;
      common.setMode(2);
      actor = start();
    },
    close() {
      offChange();
      stopSequenceTimer();
      actor.stop();
      port.disarmParameterDeadline();
    },
  };
}
