/**
 * V2G service of the simulated EV module (WHITE-beet-PI, chapter 18 EV side): configuration
 * commands (18.9), the EVCC session machine (evcc-machine.ts) and the EV status messages
 * (18.11). The car's battery integrates the energy the station reports delivering, so SOC and
 * "charging complete" move during the charge loop.
 */
import { createActor } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { ENERGY_TRANSFER_MODES, V2gResultCode } from '../../codec/modules/v2g/common.js';
import { SESSION_PHASES, type SessionPhase } from '../phases.js';
import { type ModuleContext, type Reply, type Service, fail, ok } from '../module.js';
import type { EvSnapshot, EvseSnapshot, V2gKind, V2gMessage, V2gRequest } from '../v2g-messages.js';
import { createChargeLoop } from './evcc-loop.js';
import { type EvccPort, evccMachine } from './evcc-machine.js';
import { carContract, carExiRequest, certificateRequestKind } from './pnc.js';
import { dcChangedFields } from './v2g-ev-reports.js';

type Fields = Record<string, unknown>;
const num = (f: Fields, k: string): number => f[k] as number;

const isDcMode = (m: number): boolean => m <= 3;

interface EvConfig {
  evId: Uint8Array;
  protocols: number[];
  energyTransferModes: number[];
  batteryCapacityWh: number;
}

export function createV2gEvService(ctx: ModuleContext, common: { mode: () => number; setMode: (m: number) => void }): Service {
  const { cable, clock, scenario } = ctx;
  let config: EvConfig | undefined;
  let dc: Fields | undefined;
  let ac: Fields | undefined;
  let profile: { scheduleTupleId: number; entries: Array<{ startS: number; intervalS: number; powerW: number }> } | undefined;

  // Per-session state.
  let sessionId: Uint8Array = new Uint8Array(8);
  let selectedMode = 0;
  /** Plug & Charge this session: the scenario's car has a contract and the station offers PnC. */
  let contractPayment = false;
  /** The protocol the SECC agreed in its SessionSetupRes (0 DIN 70121, 1 ISO 15118-2). */
  let selectedProtocol = 1;
  let lastEvse: EvseSnapshot | undefined;
  let lastAc = '';
  let energyWh = 0;
  let socStart = 50;
  let lastLoopAt = 0;
  let loopStartedAt = 0;

  /**
   * Pause and resume (scenario ev.pause; ISO 15118-2 SessionStopReq ChargingSession=Pause): the
   * car pauses once per plug-in and keeps the paused Session ID; the next Start Session from its
   * host resumes with it (SessionSetupReq with that ID) once `resumeAfterMs` has passed.
   */
  let paused: { sessionId: Uint8Array; at: number } | undefined;
  let pauseArmed = false;
  /** Start Session was accepted and the car waits for its resume time before SessionSetupReq. */
  let startPending = false;

  /** The SOC the EV host reported with Update DC Charging Parameters during this session. */
  let hostSoc: number | undefined;
  /** The simulated battery's SOC from the energy the EVSE reports delivering. */
  const batterySoc = (): number => Math.min(100, socStart + (energyWh / scenario.ev.battery.capacityWh) * 100);
  /** A host that keeps its own battery (and reports it) wins; else the simulated battery. */
  const soc = (): number => hostSoc ?? batterySoc();
  const phaseIndex = (p: SessionPhase): number => SESSION_PHASES.indexOf(p);
  /** A scripted car error (scenario ev.errors) in force in the current phase. */
  const scriptedError = (): number => {
    let code = 0;
    for (const e of scenario.ev.errors) if (phaseIndex(cable.phase) >= phaseIndex(e.phase)) code = e.evErrorCode;
    return code;
  };

  const snapshot = (): EvSnapshot => {
    const s = soc();
    // A scenario target scripts when the car calls itself complete; without one the battery is
    // complete at the full SOC the EV host configured (its host decides when to stop before that).
    const target = scenario.ev.battery.socTargetPercent ?? ((dc && num(dc, 'fullSocPercent')) || 100);
    const afterMs = scenario.ev.stopAfterChargingMs;
    const inLoop = cable.phase === 'chargeLoop';
    const complete = s >= target || (inLoop && afterMs !== undefined && clock.now() - loopStartedAt >= afterMs);
    const err = scriptedError();
    return {
      evccId: config?.evId ?? ctx.mac,
      protocols: config?.protocols ?? [1],
      energyTransferModes: config?.energyTransferModes ?? [],
      batteryCapacityWh: config?.batteryCapacityWh ?? 0,
      ...(dc ? { dc: dc as unknown as NonNullable<EvSnapshot['dc']> } : {}),
      ...(ac ? { ac: ac as unknown as NonNullable<EvSnapshot['ac']> } : {}),
      socPercent: Math.floor(s),
      errorCode: err !== 0 ? err : dc ? num(dc, 'status') : 0,
      // Some cars say EVReady=false until a later phase, e.g. an ID.4 in Charge Parameter
      // Discovery (Sevenstax/FreeV2G#58).
      ready: err === 0 && (dc ? num(dc, 'status') === 0 : true) && phaseIndex(cable.phase) >= phaseIndex(scenario.ev.readyFromPhase),
      chargingComplete: complete,
      bulkChargingComplete: dc ? s >= num(dc, 'bulkSocPercent') : false,
    };
  };

  /** The energy transfer mode the car asks for: the scenario's choice if both sides can. */
  const chooseMode = (evse: EvseSnapshot): number | undefined => {
    const mine = config?.energyTransferModes ?? [];
    const common = mine.filter((m) => evse.energyTransferModes.includes(m));
    const preferred = scenario.ev.energyTransferMode;
    const want = preferred === undefined ? -1 : ENERGY_TRANSFER_MODES.indexOf(preferred);
    return common.includes(want) ? want : common[0];
  };

  const integrate = (evse: EvseSnapshot): void => {
    const now = clock.now();
    const dt = lastLoopAt === 0 ? 0 : now - lastLoopAt;
    lastLoopAt = now;
    let powerW = 0;
    if (isDcMode(selectedMode) && evse.dc) powerW = evse.dc.presentVoltageV * evse.dc.presentCurrentA;
    else if (evse.ac && ac) {
      const phases = selectedMode === 5 ? 3 : 1;
      powerW = evse.ac.nominalVoltageV * Math.min(num(ac, 'maxCurrentA'), evse.ac.maxCurrentA) * phases;
    }
    energyWh += (Math.max(0, powerW) * dt) / 3_600_000;
    cable.emit({ type: 'battery', at: now, socPercent: batterySoc(), energyWh });
  };

  const emitDc = (evse: EvseSnapshot): void => {
    const fields = dcChangedFields(evse);
    if (fields) ctx.emit(V2g.EvDcChargeParametersChanged, fields);
  };

  const emitAc = (evse: EvseSnapshot, always: boolean): void => {
    if (!evse.ac) return;
    const fields = { nominalVoltageV: evse.ac.nominalVoltageV, maxCurrentA: evse.ac.maxCurrentA, rcd: evse.ac.rcd };
    const key = JSON.stringify(fields);
    if (!always && key === lastAc) return;
    lastAc = key;
    ctx.emit(V2g.EvAcChargeParametersChanged, fields);
  };

  /** Sessions this car set up (for scenario `ev.changesSessionId`). */
  let setups = 0;
  /** The session ID in a request's header: the scenario's car may send a wrong one (Sevenstax/FreeV2G#14). */
  const headerSessionId = (kind: V2gKind): Uint8Array => {
    if (kind === 'sessionSetup') {
      setups++;
      const fixed = scenario.ev.setupSessionId;
      return fixed === undefined ? sessionId : Uint8Array.from(fixed.match(/../g) ?? [], (h) => parseInt(h, 16));
    }
    const change = scenario.ev.changesSessionId;
    const changed = change !== undefined && setups <= change.sessions && phaseIndex(cable.phase) >= phaseIndex(change.phase);
    return changed ? sessionId.map((b) => b ^ 0x5a) : sessionId;
  };

  const port: EvccPort = {
    send(kind: V2gKind, extra?: Partial<V2gRequest>) {
      const req: V2gRequest = { type: 'req', kind, sessionId: headerSessionId(kind), ev: snapshot() };
      // As a spread would (same keys, same order), without one for every loop request.
      if (extra !== undefined) Object.assign(req, extra);
      if (kind === 'sessionSetup') req.protocol = undefined;
      if (kind === 'paymentSelection') req.paymentMethod = contractPayment ? 1 : 0;
      if (kind === 'certificateInstallation' || kind === 'certificateUpdate') req.exiRequest = carExiRequest(kind, req.ev.evccId);
      if (kind === 'paymentDetails' && scenario.ev.pnc) req.contract = carContract(scenario.ev.pnc);
      if (kind === 'chargeParameterDiscovery') {
        req.energyTransferMode = selectedMode;
        req.maxEntries = 20;
      }
      if (kind === 'powerDelivery' && extra?.chargeProgress === 'start') {
        const tuple = profile ?? (lastEvse?.schedules[0] as typeof profile);
        req.scheduleTupleId = tuple?.scheduleTupleId ?? 1;
        req.chargingProfile = (tuple?.entries ?? [{ startS: 0, intervalS: 0, powerW: 0 }]).slice(0, 24).map((e) => ({ startS: e.startS, powerW: e.powerW }));
      }
      if (!cable.sendV2g('EV', req)) actor.send({ type: 'LINK_LOST' });
    },
    phase: (p) => cable.setPhase(p),
    sessionStarted(res) {
      lastEvse = res.evse;
      ctx.emit(V2g.EvSessionStarted, {
        // Reported after PaymentSelectionRes, which carries no protocol: the one SessionSetupRes agreed.
        selectedProtocol,
        sessionId,
        // The SECC answered with the ID in the agreed protocol's format (ISO or DIN).
        evseId: res.evse.evseId.slice(0, 37),
        selectedPaymentMethod: contractPayment ? 1 : 0,
        selectedEnergyTransferMode: selectedMode,
      });
    },
    chargeParametersDiscovered(res) {
      lastEvse = res.evse;
      if (res.evse.schedules.length > 0) ctx.emit(V2g.EvScheduleReceived, { scheduleTuples: res.evse.schedules });
      if (isDcMode(selectedMode)) emitDc(res.evse);
      else emitAc(res.evse, true);
    },
    cableCheckReady: () => ctx.emit(V2g.EvCableCheckReady),
    cableCheckFinished: () => ctx.emit(V2g.EvCableCheckFinished),
    preChargingReady: () => ctx.emit(V2g.EvPreChargingReady),
    chargingReady: () => ctx.emit(V2g.EvChargingReady),
    chargingStarted() {
      loopStartedAt = clock.now();
      lastLoopAt = 0;
      const pause = scenario.ev.pause;
      if (pause && !pauseArmed) {
        pauseArmed = true;
        clock.setTimeout(() => actor.send({ type: 'PAUSE' }), pause.afterChargingMs);
      }
      ctx.emit(V2g.EvChargingStarted);
    },
    chargingStopped: () => ctx.emit(V2g.EvChargingStopped),
    postChargingReady: () => ctx.emit(V2g.EvPostChargingReady),
    dcParameters(res) {
      lastEvse = res.evse;
      emitDc(res.evse);
    },
    loopResponse(res) {
      lastEvse = res.evse;
      integrate(res.evse);
      if (isDcMode(selectedMode)) emitDc(res.evse);
      else emitAc(res.evse, false);
      if (res.notification) {
        ctx.emit(V2g.EvNotificationReceived, { type: res.notification.renegotiation ? 1 : 0, maxDelayS: res.notification.maxDelayS });
      }
    },
    sessionStopped(pausedNow) {
      if (pausedNow) paused = { sessionId, at: clock.now() };
      // 18.11.12 carries no closure type: the EV host is not told that this was a pause.
      ctx.emit(V2g.EvSessionStopped);
    },
    sessionError(code) {
      ctx.emit(V2g.EvSessionError, { code });
      // Whatever the cause, the car closes its connection; a station still in the session notices.
      cable.sendV2g('EV', { type: 'req', kind: 'sessionStop', sessionId, ev: snapshot(), aborted: true });
    },
    preChargeDone(res, elapsedMs) {
      const target = dc ? num(dc, 'targetVoltageV') : 0;
      const present = res.evse.dc?.presentVoltageV ?? 0;
      return elapsedMs >= scenario.ev.preChargeMs && Math.abs(present - target) <= scenario.ev.preChargeToleranceV;
    },
    isDc: () => isDcMode(selectedMode),
    contractPayment: () => contractPayment,
    certificateRequest: () => certificateRequestKind(scenario.ev.pnc),
    now: () => clock.now(),
  };

  // Stopping the actor runs no exit actions: reset and close stop the loop's timers too.
  const loop = createChargeLoop({ clock, port, loopIntervalMs: scenario.ev.loopIntervalMs, stopRequested: () => actor.getSnapshot().context.stopRequested, send: (e) => actor.send(e) });
  const input = { port, loop, loopIntervalMs: scenario.ev.loopIntervalMs, preChargeTimeoutMs: scenario.ev.preChargeTimeoutMs };
  const start = () => createActor(evccMachine, { clock, input }).start();
  let actor = start();

  cable.attachEvcc((m: V2gMessage) => {
    if (m.type !== 'res') return;
    // The station closed the connection: the session is over, as when the link drops.
    if (m.closed) {
      if (!actor.getSnapshot().matches('idle')) actor.send({ type: 'LINK_LOST' });
      return;
    }
    if (m.kind === 'serviceDiscovery') {
      const mode = chooseMode(m.evse);
      if (mode === undefined) {
        // 18.11.14 code 2: no energy transfer mode both sides support.
        actor.send({ type: 'RES', res: { ...m, ok: false, failure: { evSessionError: 2, evseSessionError: 19 } } });
        return;
      }
      selectedMode = mode;
      contractPayment = scenario.ev.pnc !== undefined && m.evse.paymentMethods.includes(1);
    }
    if (m.kind === 'sessionSetup') {
      // Resumed (the station kept the ID) or refused: either way the pause is over.
      paused = undefined;
      sessionId = m.sessionId;
      selectedProtocol = m.protocol ?? selectedProtocol;
    }
    // The charge loop takes its ordinary responses itself (evcc-loop.ts).
    if (loop.response(m)) return;
    actor.send({ type: 'RES', res: m });
  });

  const offChange = cable.onChange(() => {
    if (!cable.plcLinkUp && !actor.getSnapshot().matches('idle')) actor.send({ type: 'LINK_LOST' });
    // Unplugged: a paused session cannot be resumed; the next plug-in may pause again.
    if (!cable.isPlugged) {
      paused = undefined;
      pauseArmed = false;
    }
  });

  const top = (): string => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : (Object.keys(v)[0] ?? 'idle');
  };
  const inState = (...names: string[]): boolean => names.includes(top());
  const active = (): boolean => startPending || !inState('idle');
  const isEv = (): boolean => common.mode() === 0;

  /** Configuration commands: only in EV mode, only while no session runs (18 intro). */
  const configure = (apply: () => void): Reply => {
    if (!isEv() || active()) return fail(V2gResultCode.wrongState);
    apply();
    return ok();
  };

  const hostEvent = (allowed: boolean, event: Parameters<typeof actor.send>[0]): Reply => {
    if (!allowed) return fail(V2gResultCode.wrongState);
    actor.send(event);
    return ok();
  };

  return {
    module: 'V2g',
    handlers: {
      EvSetConfiguration: (m) =>
        configure(() => {
          config = {
            evId: m.fields.evId as Uint8Array,
            protocols: m.fields.protocols as number[],
            energyTransferModes: m.fields.energyTransferModes as number[],
            batteryCapacityWh: m.fields.batteryCapacityWh as number,
          };
        }),
      EvGetConfiguration: () => (config ? ok({ ...config, paymentMethods: [0] }) : fail(V2gResultCode.wrongState)),
      EvSetDcChargingParameters: (m) => configure(() => (dc = { ...m.fields })),
      EvUpdateDcChargingParameters: (m) => {
        if (!isEv() || !dc) return fail(V2gResultCode.wrongState);
        dc = { ...dc, ...m.fields };
        if (active()) hostSoc = m.fields.socPercent as number;
        return ok();
      },
      EvGetDcChargingParameters: () => (dc ? ok({ ...dc }) : fail(V2gResultCode.wrongState)),
      EvSetAcChargingParameters: (m) => configure(() => (ac = { ...m.fields })),
      EvUpdateAcChargingParameters: (m) => {
        if (!isEv() || !ac) return fail(V2gResultCode.wrongState);
        ac = { ...ac, ...m.fields };
        return ok();
      },
      EvGetAcChargingParameters: () => (ac ? ok({ ...ac }) : fail(V2gResultCode.wrongState)),
      EvSetChargingProfile: (m) => {
        if (!isEv()) return fail(V2gResultCode.wrongState);
        profile = m.fields as typeof profile;
        return ok();
      },
      /** 18.9.10: needs configuration, parameters and the PLC link SLAC established. */
      EvStartSession: () => {
        if (!isEv() || active() || !config || (!dc && !ac) || !cable.plcLinkUp) return fail(V2gResultCode.wrongState);
        energyWh = 0;
        hostSoc = undefined;
        socStart = scenario.ev.battery.socStartPercent ?? (dc ? num(dc, 'socPercent') : 50);
        lastAc = '';
        lastEvse = undefined;
        // ISO 15118-2: SessionSetupReq carries 0 for a new session, the paused one's ID to resume.
        sessionId = paused ? paused.sessionId : new Uint8Array(8);
        const waitMs = paused ? Math.max(0, paused.at + (scenario.ev.pause?.resumeAfterMs ?? 0) - clock.now()) : 0;
        if (waitMs === 0) actor.send({ type: 'START' });
        else {
          startPending = true;
          clock.setTimeout(() => {
            if (!startPending) return; // reset meanwhile
            startPending = false;
            actor.send({ type: 'START' });
          }, waitMs);
        }
        return ok();
      },
      EvStartCableCheck: () => hostEvent(inState('cableCheckReady'), { type: 'HOST_CABLE_CHECK' }),
      EvStartPreCharging: () => hostEvent(inState('preChargeReady'), { type: 'HOST_PRE_CHARGE' }),
      EvStartCharging: () =>
        hostEvent(inState('chargingReady') || (inState('preCharge') && actor.getSnapshot().context.chargingReadySent), {
          type: 'HOST_START_CHARGING',
        }),
      EvStopCharging: (m) => hostEvent(inState('chargeLoop'), { type: 'HOST_STOP_CHARGING', renegotiation: m.fields.renegotiation as boolean }),
      /** 18.9.15: after Post Charging Ready; also before charging started (the host gives up). */
      EvStopSession: () => hostEvent(inState('weldingDetection', 'cableCheckReady', 'preChargeReady', 'preCharge', 'chargingReady'), { type: 'HOST_STOP_SESSION' }),
    },
    reset() {
      loop.stop();
      actor.stop();
      actor = start();
      config = undefined;
      dc = undefined;
      ac = undefined;
      profile = undefined;
      paused = undefined;
      pauseArmed = false;
      startPending = false;
      common.setMode(2);
    },
    close() {
      offChange();
      loop.stop();
      actor.stop();
    },
  };
}
