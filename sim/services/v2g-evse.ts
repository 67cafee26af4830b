/**
 * V2G service of the simulated EVSE module (WHITE-beet-EI, chapter 18 EVSE side): the
 * configuration commands (18.10) and the SECC, which answers the car's requests, asks its host
 * through the status messages of 18.12 and enforces the timeouts those messages carry. When a
 * host misses one, the session ends the manual's way: Session Error, then Session Stopped
 * (18.12.14), and the car gets a failed response.
 */
import { V2g } from '../../codec/catalog.js';
import { V2gResultCode } from '../../codec/modules/v2g/common.js';
import { SchedulesResult } from '../../codec/modules/v2g/evse.js';
import type { TimerId } from '../../util/clock.js';
import { V2G_LATENCY_MS } from '../cable.js';
import { type ModuleContext, type Reply, type Service, fail, ok } from '../module.js';
import type { EvSnapshot, EvseSnapshot, ScheduleTuple, SessionFailure, V2gMessage, V2gRequest, V2gResponse } from '../v2g-messages.js';

type Fields = Record<string, unknown>;
const num = (f: Fields, k: string): number => f[k] as number;

/** 18.12.14 codes the simulator uses. */
const EVSE_ERR = { unspecified: 0, unknownSession: 3, wrongEnergyTransferType: 19, chargeParameterTimeout: 23 } as const;
/** 18.11.14 code 8: no details delivered by the EVSE. */
const EV_UNSPECIFIED = 8;
/** How long a car repeats SDP requests before it gives up: ISO 15118-2, 50 x 250 ms. */
export const SDP_WINDOW_MS = 50 * 250;
/** From the SDP answer to SessionSetupReq (SDP retry, TCP connect, supportedAppProtocol). */
export const SDP_CONNECT_MS = 100;
const timeoutFailure: SessionFailure = { evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED };

interface Session {
  id: Uint8Array;
  protocol: number;
  mode: number;
  auth: 'none' | 'requested' | 'accepted';
  schedules: 'none' | 'requested' | 'set';
  cableCheck: 'none' | 'requested' | 'finished';
  cableCheckSince: number;
  preChargeStarted: boolean;
  weldingStarted: boolean;
  /** A request the SECC holds until its host answers (power delivery). */
  held: V2gRequest | undefined;
  heldFor: 'start' | 'stop' | undefined;
  inChargeLoop: boolean;
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
  let listening = false;
  let chargeParameterMs = timeouts.chargeParameterMs;
  let session: Session | undefined;
  /** The failure the car learns with its next request after the session ended. */
  let pendingFailure: SessionFailure | undefined;
  let hostTimer: TimerId | undefined;
  /** A session setup that arrived before Start Listen (the car still discovering the SECC). */
  let awaitingSetup: { req: V2gRequest; timer: TimerId } | undefined;
  let watchdog: TimerId | undefined;

  const snapshot = (): EvseSnapshot => {
    const proto = session?.protocol ?? 1;
    return {
      evseId: String(proto === 1 ? (config?.evseIdIso ?? '') : (config?.evseIdDin ?? '')),
      protocols: (config?.protocols as number[]) ?? [],
      paymentMethods: (config?.paymentMethods as number[]) ?? [0],
      energyTransferModes: (config?.energyTransferModes as number[]) ?? [],
      ...(dc
        ? {
            dc: {
              isolationLevel: num(dc, 'isolationLevel'),
              minVoltageV: num(dc, 'minVoltageV'),
              minCurrentA: num(dc, 'minCurrentA'),
              maxVoltageV: num(dc, 'maxVoltageV'),
              maxCurrentA: num(dc, 'maxCurrentA'),
              maxPowerW: num(dc, 'maxPowerW'),
              ...(dc.currentRegulationToleranceA !== undefined ? { currentRegulationToleranceA: num(dc, 'currentRegulationToleranceA') } : {}),
              peakCurrentRippleA: num(dc, 'peakCurrentRippleA'),
              presentVoltageV: (dc.presentVoltageV as number | undefined) ?? 0,
              presentCurrentA: (dc.presentCurrentA as number | undefined) ?? 0,
              status: num(dc, 'status'),
            },
          }
        : {}),
      ...(ac ? { ac: { rcd: ac.rcdStatus as boolean, nominalVoltageV: num(ac, 'nominalVoltageV'), maxCurrentA: num(ac, 'maxCurrentA') } } : {}),
      schedules,
      ...(energyToBeDeliveredWh !== undefined ? { energyToBeDeliveredWh } : {}),
    };
  };

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
  };
  const refuse = (req: V2gRequest, failure: SessionFailure): void => respond(req, { ok: false, failure });

  const clearHostTimer = (): void => {
    if (hostTimer !== undefined) clock.clearTimeout(hostTimer);
    hostTimer = undefined;
  };
  const stopWatchdog = (): void => {
    if (watchdog !== undefined) clock.clearTimeout(watchdog);
    watchdog = undefined;
  };
  /** 18.10.4/18.10.7: the host must update its parameters within chargeParameterMs. */
  const feedWatchdog = (): void => {
    stopWatchdog();
    if (!session?.inChargeLoop || chargeParameterMs === 0) return;
    watchdog = clock.setTimeout(() => abort({ evseSessionError: EVSE_ERR.chargeParameterTimeout, evSessionError: EV_UNSPECIFIED }), chargeParameterMs);
  };
  const waitForHost = (ms: number): void => {
    clearHostTimer();
    hostTimer = clock.setTimeout(() => abort(timeoutFailure), ms);
  };

  /** Ends the session with an error: Session Error then Session Stopped (18.12.14). */
  function abort(failure: SessionFailure): void {
    const s = session;
    if (!s) return;
    ctx.emit(V2g.EvseSessionError, { errorCode: failure.evseSessionError });
    end();
    if (s.held) refuse(s.held, failure);
    else pendingFailure = failure;
  }

  function end(): void {
    clearHostTimer();
    stopWatchdog();
    session = undefined;
    ctx.emit(V2g.EvseSessionStopped, { closureType: 0 });
  }

  const emitDcChanged = (ev: EvSnapshot, withTargets: boolean): void => {
    const d = ev.dc;
    if (!d) return;
    ctx.emit(V2g.EvseDcChargeParametersChanged, {
      maxVoltageV: d.maxVoltageV,
      maxCurrentA: d.maxCurrentA,
      maxPowerW: d.maxPowerW,
      ready: ev.ready,
      errorCode: ev.errorCode,
      socPercent: ev.socPercent,
      targetVoltageV: withTargets ? d.targetVoltageV : 0,
      targetCurrentA: withTargets ? d.targetCurrentA : 0,
      fullSocPercent: d.fullSocPercent,
      bulkSocPercent: d.bulkSocPercent,
      chargingComplete: ev.chargingComplete,
      bulkChargingComplete: ev.bulkChargingComplete,
    });
  };

  const emitModeSelected = (req: V2gRequest): void => {
    const ev = req.ev;
    const mode = req.energyTransferMode ?? 0;
    if (mode <= 3 && ev.dc) {
      const d = ev.dc;
      ctx.emit(V2g.EvseEnergyTransferModeSelected, {
        departureTimeS: d.departureTimeS,
        energyRequestWh: d.energyRequestWh,
        maxVoltageV: d.maxVoltageV,
        minCurrentA: d.minCurrentA,
        maxCurrentA: d.maxCurrentA,
        maxPowerW: d.maxPowerW,
        selectedEnergyTransferMode: mode,
        dcParameters: {
          energyCapacityWh: ev.batteryCapacityWh,
          fullSocPercent: d.fullSocPercent,
          bulkSocPercent: d.bulkSocPercent,
          ready: ev.ready,
          errorCode: ev.errorCode,
          socPercent: ev.socPercent,
        },
      });
    } else if (ev.ac) {
      const a = ev.ac;
      ctx.emit(V2g.EvseEnergyTransferModeSelected, {
        departureTimeS: a.departureTimeS,
        energyRequestWh: a.energyRequestWh,
        maxVoltageV: a.maxVoltageV,
        minCurrentA: a.minCurrentA,
        maxCurrentA: a.maxCurrentA,
        maxPowerW: a.maxPowerW,
        selectedEnergyTransferMode: mode,
      });
      ctx.emit(V2g.EvseAcChargeParametersChanged, {
        maxVoltageV: a.maxVoltageV,
        minCurrentA: a.minCurrentA,
        maxCurrentA: a.maxCurrentA,
        energyAmountWh: a.energyRequestWh,
      });
    }
  };

  const chooseProtocol = (ev: EvSnapshot): number | undefined => {
    const mine = (config?.protocols as number[]) ?? [];
    const both = ev.protocols.filter((p) => mine.includes(p));
    const preferred = scenario.ev.protocol === undefined ? undefined : scenario.ev.protocol === 'DIN70121' ? 0 : 1;
    if (preferred !== undefined && both.includes(preferred)) return preferred;
    return both.includes(1) ? 1 : both[0];
  };

  /** Scenario `station.errors`: the station fails this phase once per session. */
  const scriptedFailure = (s: Session): SessionFailure | undefined => {
    const e = scenario.station.errors.find((x) => x.phase === cable.phase && !s.scriptedErrorsFired.has(x.phase));
    if (!e) return undefined;
    s.scriptedErrorsFired.add(e.phase);
    return { evseSessionError: e.evseSessionError, evSessionError: e.evSessionError };
  };

  function onRequest(req: V2gRequest): void {
    if (req.kind === 'sessionSetup') return sessionSetup(req);
    const s = session;
    if (req.aborted) {
      // The car closed the connection: the session ends with an error, nothing to answer.
      if (s) {
        ctx.emit(V2g.EvseSessionError, { errorCode: EVSE_ERR.unspecified });
        end();
      }
      return;
    }
    if (!s) {
      refuse(req, pendingFailure ?? { evseSessionError: EVSE_ERR.unknownSession, evSessionError: EV_UNSPECIFIED });
      pendingFailure = undefined;
      return;
    }
    const scripted = scriptedFailure(s);
    if (scripted) {
      s.held = req;
      return abort(scripted);
    }
    switch (req.kind) {
      case 'serviceDiscovery':
        return respond(req);
      case 'paymentSelection':
        ctx.emit(V2g.EvsePaymentSelected, { selectedPaymentMethod: req.paymentMethod ?? 0 });
        return respond(req);
      case 'authorization':
        return authorization(s, req);
      case 'chargeParameterDiscovery':
        return chargeParameterDiscovery(s, req);
      case 'cableCheck':
        return cableCheck(s, req);
      case 'preCharge':
        if (!s.preChargeStarted) ctx.emit(V2g.EvsePreChargeStarted);
        s.preChargeStarted = true;
        emitDcChanged(req.ev, true);
        return respond(req);
      case 'powerDelivery':
        return powerDelivery(s, req);
      case 'currentDemand':
        emitDcChanged(req.ev, true);
        return respond(req, notification(s));
      case 'chargingStatus':
        return respond(req, notification(s));
      case 'weldingDetection':
        if (!s.weldingStarted) ctx.emit(V2g.EvseWeldingDetectionStarted);
        s.weldingStarted = true;
        emitDcChanged(req.ev, false);
        return respond(req);
      case 'sessionStop':
        respond(req);
        // The host hears of it once the car has its response (TCP closes after SessionStopRes),
        // so an EVSE host switching its PWM back to 100 % cannot overtake the car's Session Stopped.
        session = undefined;
        clearHostTimer();
        stopWatchdog();
        clock.setTimeout(() => ctx.emit(V2g.EvseSessionStopped, { closureType: 0 }), 2 * V2G_LATENCY_MS);
        return;
    }
  }

  /**
   * A car that finds no SECC listening keeps repeating its SDP request (ISO 15118-2: every
   * 250 ms, up to 50 times) until the host starts listening (21.8.1); only after that window
   * does it give up. The simulator holds the car's first request for that long instead.
   */
  function awaitListen(req: V2gRequest): void {
    dropAwaitingSetup();
    const timer = clock.setTimeout(() => {
      awaitingSetup = undefined;
      refuse(req, { evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED });
    }, SDP_WINDOW_MS);
    awaitingSetup = { req, timer };
  }
  function dropAwaitingSetup(): void {
    if (awaitingSetup) clock.clearTimeout(awaitingSetup.timer);
    awaitingSetup = undefined;
  }

  function sessionSetup(req: V2gRequest): void {
    if (!listening && !session) return awaitListen(req);
    const protocol = chooseProtocol(req.ev);
    if (!listening || session || protocol === undefined) {
      refuse(req, { evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED });
      return;
    }
    const id = new Uint8Array(8).map(() => ctx.rng.int(0, 255));
    pendingFailure = undefined;
    session = {
      id,
      protocol,
      mode: 0,
      auth: 'none',
      schedules: 'none',
      cableCheck: 'none',
      cableCheckSince: 0,
      preChargeStarted: false,
      weldingStarted: false,
      held: undefined,
      heldFor: undefined,
      inChargeLoop: false,
      notification: undefined,
      scriptedErrorsFired: new Set(),
    };
    ctx.emit(V2g.EvseSessionStarted, { protocol, sessionId: id, evccId: req.ev.evccId.slice(0, 20) });
    respond(req, { protocol });
  }

  function authorization(s: Session, req: V2gRequest): void {
    if (s.auth === 'accepted') return respond(req);
    if (s.auth === 'none') {
      s.auth = 'requested';
      ctx.emit(V2g.EvseAuthorizationStatusRequested, { timeoutMs: timeouts.authorizationMs });
      waitForHost(timeouts.authorizationMs);
    }
    respond(req, { processing: 'ongoing' });
  }

  function chargeParameterDiscovery(s: Session, req: V2gRequest): void {
    const mode = req.energyTransferMode ?? 0;
    if (!((config?.energyTransferModes as number[]) ?? []).includes(mode)) {
      s.held = req;
      return abort({ evseSessionError: EVSE_ERR.wrongEnergyTransferType, evSessionError: 2 });
    }
    if (s.schedules === 'set') {
      s.schedules = 'none';
      return respond(req);
    }
    if (s.schedules === 'none') {
      s.mode = mode;
      s.schedules = 'requested';
      emitModeSelected(req);
      ctx.emit(V2g.EvseSchedulesRequested, { timeoutMs: timeouts.schedulesMs, maxEntries: req.maxEntries ?? 20 });
      waitForHost(timeouts.schedulesMs);
    }
    respond(req, { processing: 'ongoing' });
  }

  function cableCheck(s: Session, req: V2gRequest): void {
    if (s.cableCheck === 'none') {
      s.cableCheck = 'requested';
      s.cableCheckSince = clock.now();
      ctx.emit(V2g.EvseCableCheckRequested, { timeoutMs: timeouts.cableCheckMs });
      waitForHost(timeouts.cableCheckMs);
    }
    emitDcChanged(req.ev, false);
    // A slow isolation monitor (scenario station.cableCheckMs) keeps the check ongoing.
    const done = s.cableCheck === 'finished' && clock.now() - s.cableCheckSince >= scenario.station.cableCheckMs;
    respond(req, { processing: done ? 'finished' : 'ongoing' });
  }

  function powerDelivery(s: Session, req: V2gRequest): void {
    s.held = req;
    if (req.chargeProgress === 'start') {
      s.heldFor = 'start';
      ctx.emit(V2g.EvseStartChargingRequested, {
        timeoutMs: timeouts.startChargingMs,
        scheduleTupleId: req.scheduleTupleId ?? 1,
        chargingProfile: req.chargingProfile ?? [],
      });
      waitForHost(timeouts.startChargingMs);
    } else {
      s.heldFor = 'stop';
      s.inChargeLoop = false;
      stopWatchdog();
      ctx.emit(V2g.EvseStopChargingRequested, { timeoutMs: timeouts.stopChargingMs, renegotiation: req.chargeProgress === 'renegotiate' });
      waitForHost(timeouts.stopChargingMs);
    }
  }

  const notification = (s: Session): Partial<V2gResponse> => {
    const n = s.notification;
    s.notification = undefined;
    return n ? { notification: n } : {};
  };

  /** The host answered a held power delivery request. */
  const release = (which: 'start' | 'stop'): Reply => {
    const s = session;
    if (!s?.held || s.heldFor !== which) return fail(V2gResultCode.wrongState);
    const req = s.held;
    s.held = undefined;
    s.heldFor = undefined;
    clearHostTimer();
    if (which === 'start') {
      s.inChargeLoop = true;
      feedWatchdog();
    } else if (req.chargeProgress === 'renegotiate') {
      s.schedules = 'none';
    }
    respond(req);
    return ok();
  };

  cable.attachSecc((m: V2gMessage) => {
    if (m.type === 'req') onRequest(m);
  });
  const offChange = cable.onChange(() => {
    if (!cable.plcLinkUp) dropAwaitingSetup();
    // The car is gone (unplugged, PLC link lost): the session cannot continue.
    if (session && !cable.plcLinkUp) {
      session.held = undefined;
      abort(timeoutFailure);
      pendingFailure = undefined;
    }
  });

  const isEvse = (): boolean => common.mode() === 1;
  /** Configuration commands: EVSE mode, and not while listening (18 intro). */
  const configure = (apply: () => void): Reply => {
    if (!isEvse() || listening) return fail(V2gResultCode.wrongState);
    apply();
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
        dc = {
          ...dc,
          isolationLevel: f.isolationLevel,
          presentVoltageV: f.presentVoltageV,
          presentCurrentA: f.presentCurrentA,
          status: f.status,
          ...(f.maxVoltageV !== undefined ? { maxVoltageV: f.maxVoltageV } : {}),
          ...(f.maxCurrentA !== undefined ? { maxCurrentA: f.maxCurrentA } : {}),
          ...(f.maxPowerW !== undefined ? { maxPowerW: f.maxPowerW } : {}),
        };
        feedWatchdog();
        return ok();
      },
      EvseGetDcChargingParameters: () => (dc ? ok({ ...dc }) : fail(V2gResultCode.wrongState)),
      EvseSetAcChargingParameters: (m) => configure(() => (ac = { ...m.fields })),
      EvseUpdateAcChargingParameters: (m) => {
        if (!isEvse() || !ac) return fail(V2gResultCode.wrongState);
        ac = { ...ac, rcdStatus: m.fields.rcdStatus, ...(m.fields.maxCurrentA !== undefined ? { maxCurrentA: m.fields.maxCurrentA } : {}) };
        feedWatchdog();
        return ok();
      },
      EvseGetAcChargingParameters: () => (ac ? ok({ ...ac }) : fail(V2gResultCode.wrongState)),
      EvseSetSdpConfig: (m) => configure(() => (sdp = { ...m.fields })),
      EvseGetSdpConfig: () => ok({ ...sdp }),
      EvseStartListen: () => {
        if (!isEvse() || listening || !config || (!dc && !ac)) return fail(V2gResultCode.wrongState);
        listening = true;
        const waiting = awaitingSetup?.req;
        dropAwaitingSetup();
        // The car's next SDP repetition finds the SECC; SDP, TCP connect and the protocol
        // handshake take a moment, so the session starts a little after this response.
        if (waiting) clock.setTimeout(() => sessionSetup(waiting), SDP_CONNECT_MS);
        return ok();
      },
      EvseStopListen: () => {
        if (session) abort(timeoutFailure);
        listening = false;
        return ok();
      },
      EvseSetAuthorizationStatus: (m) => {
        const s = session;
        if (!s || s.auth !== 'requested') return fail(V2gResultCode.wrongState);
        clearHostTimer();
        if (num(m.fields, 'result') === 0) s.auth = 'accepted';
        else abort({ evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED });
        return ok();
      },
      EvseSetSchedules: (m) => {
        const s = session;
        if (!s || s.schedules !== 'requested') return fail(V2gResultCode.wrongState);
        clearHostTimer();
        const tuples = m.fields.scheduleTuples as ScheduleTuple[];
        if (num(m.fields, 'result') !== SchedulesResult.ok || tuples.length === 0) {
          abort({ evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED });
          return ok();
        }
        schedules = tuples;
        energyToBeDeliveredWh = m.fields.energyToBeDeliveredWh as number | undefined;
        s.schedules = 'set';
        return ok();
      },
      EvseSetCableCheckFinished: (m) => {
        const s = session;
        if (!s || s.cableCheck !== 'requested') return fail(V2gResultCode.wrongState);
        clearHostTimer();
        if (num(m.fields, 'result') === 0) s.cableCheck = 'finished';
        else abort({ evseSessionError: EVSE_ERR.unspecified, evSessionError: EV_UNSPECIFIED });
        return ok();
      },
      EvseStartCharging: () => release('start'),
      EvseStopCharging: () => release('stop'),
      /** 18.10.20: rides on the next charge-loop response as an EVSENotification. */
      EvseSendNotification: (m) => {
        const s = session;
        if (!s?.inChargeLoop) return fail(V2gResultCode.wrongState);
        s.notification = { renegotiation: m.fields.renegotiation as boolean, maxDelayS: num(m.fields, 'timeoutS') };
        return ok();
      },
      /** 18.10.19: the simulated car verifies every receipt (status true) with its next loop request. */
      EvseSetMeterReceiptRequest: () => {
        const s = session;
        if (!s?.inChargeLoop) return fail(V2gResultCode.wrongState);
        clock.setTimeout(() => {
          if (session === s) ctx.emit(V2g.EvseMeteringReceiptStatus, { status: true });
        }, scenario.ev.loopIntervalMs);
        return ok();
      },
      /** The simulated car pays by EIM only and never asks for a certificate (18.12.15/16). */
      EvseSetCertificateInstallationOrUpdateResponse: () => fail(V2gResultCode.wrongState),
      /** FreeV2G 0x76: the charge-loop parameter timeout (0 disables it). */
      EvseSetSessionParameterTimeout: (m) => {
        if (!isEvse()) return fail(V2gResultCode.wrongState);
        chargeParameterMs = num(m.fields, 'timeoutMs');
        return ok();
      },
    },
    reset() {
      dropAwaitingSetup();
      clearHostTimer();
      stopWatchdog();
      session = undefined;
      pendingFailure = undefined;
      listening = false;
      config = undefined;
      dc = undefined;
      ac = undefined;
      schedules = [];
      chargeParameterMs = timeouts.chargeParameterMs;
      common.setMode(2);
    },
    close() {
      offChange();
      dropAwaitingSetup();
      clearHostTimer();
      stopWatchdog();
    },
  };
}
