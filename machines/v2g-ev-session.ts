/**
 * One V2G session, EV side (manual 18.9, 18.11, 21.9): configure, start the session, then react
 * to every EV status message 0xC0-0xCD: schedule -> charging profile, cable check (state C),
 * pre-charge, start charging once the EVSE's present values suit the battery, follow the
 * schedule's power entries while updating the parameters as the SOC rises, stop at the target
 * SOC (or when the EVSE asks), post-charge and stop the session.
 *
 * Siblings used through the actor system: 'battery' (SOC model) and 'cp' (resistor level).
 * Events from the parent: session.abort {reason}. Output: SessionRecord.
 */
import { type ActorRefFrom, type AnyActorRef, type EventObject, assign, enqueueActions, sendParent, setup } from 'xstate';
import { V2g } from '../codec/catalog.js';
import type { CommandDef } from '../codec/message.js';
import { ENERGY_TRANSFER_MODES, EV_SESSION_ERRORS, EVSE_STATUSES, PROTOCOLS, enumName } from '../codec/modules/v2g/common.js';
import { type Clock, hostNow } from '../util/clock.js';
import { type BatteryEvent, type BatteryState, advanceBattery, type batteryMachine, currentForPower, reportedSoc } from './battery.js';
import { type EvConfig, type BatteryConfig, bytesToHexId, macToBytes } from './config.js';
import { acCurrentPerPhaseA, acFault, acParameters, acPhases } from './ev-ac.js';
import { type CommandRequest, type CommanderEvent, type SequenceEvent, UNEXPECTED_MESSAGE, hciCommander, hciSequence, hciStatus, hciChildren } from './hci-actors.js';
import { type StatusWatchdogEvent, noModuleStatus, statusWatchdog } from './status-watchdog.js';
import type { HciClient, StatusEvent } from './hci-types.js';
import { type ScheduleEntry, type ScheduleTuple, type SessionPhase, type SessionRecord, logEvent } from './station-events.js';

export interface EvSessionInput {
  client: HciClient;
  clock: Clock;
  config: EvConfig;
}

export type EvSessionCommand =
  | { type: 'session.abort'; reason: string }
  | { type: 'session.stopCharging'; reason: string }
  /** EV-initiated renegotiation (Stop Charging with the renegotiation flag, 18.9.14). */
  | { type: 'session.renegotiate'; reason: string };

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
  /** Resistor C asked for and not yet B again (the EV is asking for energy). */
  resistorC?: boolean;
  /**
   * Stop Charging went out with the renegotiation flag: the session goes on with new schedules
   * and a new Power Delivery, without cable check and pre-charge (ISO 15118-2 renegotiation).
   */
  renegotiating?: boolean;
}

type Events = EvSessionCommand | SequenceEvent | CommanderEvent | StatusEvent | StatusWatchdogEvent;

/** V2G result code 0x11 (18.5): the module is not in a state for this command. */
const WRONG_STATE = 0x11;
const TOLERATE = [UNEXPECTED_MESSAGE, WRONG_STATE] as const;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const f = (e: unknown): Record<string, unknown> => (e as StatusEvent).fields;
/** When the status message arrived, in host real time (reaction times are real time). */
const at = (e: unknown): number | undefined => (e as StatusEvent).hostAt;
const isDc = (mode: number | undefined): boolean => mode === undefined || mode <= 3;
const hasDc = (c: EvConfig): boolean => c.energyTransferModes.some((m) => m <= 3);
const hasAc = (c: EvConfig): boolean => c.energyTransferModes.some((m) => m >= 4);

function command(def: CommandDef, fields: unknown, tag: string, answersAt?: number, tolerate?: readonly number[]): CommandRequest {
  return { type: 'hci.send', def, fields, tag, ...(answersAt !== undefined ? { answersAt } : {}), ...(tolerate ? { tolerate } : {}) };
}

type System = { get(id: string): unknown };
type BatteryRef = ActorRefFrom<typeof batteryMachine>;

function batteryNow(system: System, config: BatteryConfig, now: number): BatteryState {
  const b = system.get('battery') as BatteryRef | undefined;
  if (!b) return { config, levelWh: config.levelWh, inputVoltageV: 0, inputCurrentA: 0, charging: false, at: now, energyWh: 0 };
  return advanceBattery(b.getSnapshot().context, now);
}

/** Events to siblings go through `enqueue.sendTo` (never `.send()` inside an action). */
interface Enqueue {
  sendTo(to: AnyActorRef, event: EventObject & Record<string, unknown>): void;
}

function sendBattery(enqueue: Enqueue, system: System, e: BatteryEvent): void {
  const ref = system.get('battery') as AnyActorRef | undefined;
  if (ref) enqueue.sendTo(ref, e);
}

function sendCp(enqueue: Enqueue & { assign(a: Partial<EvSessionContext>): void }, system: System, level: 'B' | 'C'): void {
  enqueue.assign({ resistorC: level === 'C' });
  const ref = system.get('cp') as AnyActorRef | undefined;
  if (ref) enqueue.sendTo(ref, { type: 'cp.resistor', level });
}

/** DC parameters for Set/Update DC Charging Parameters from the battery (reference Ev.py). */
function dcParameters(b: BatteryState, targetCurrentA: number) {
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

export const v2gEvSessionMachine = setup({
  types: {
    input: {} as EvSessionInput,
    context: {} as EvSessionContext,
    events: {} as Events,
    output: {} as SessionRecord,
  },
  actors: { hciSequence, hciCommander, hciStatus, statusWatchdog },
  delays: {
    updateInterval: ({ context }) => context.config.updateIntervalMs,
    recheck: 500,
    postChargeFallback: 5000,
  },
  actions: {
    log: sendParent((_, p: { text: string; level?: 'info' | 'warn' | 'error' }) => logEvent('EV', p.text, p.level ?? 'info')),
    logStep: sendParent(({ event }) => logEvent('EV', (event as { text: string }).text)),
    phase: sendParent((_, p: { phase: SessionPhase }) => ({ type: 'station.emit', event: { type: 'phase', station: 'EV', phase: p.phase } })),
    noteSent: assign({
      longestReactionMs: ({ context, event }) => Math.max(context.longestReactionMs, (event as Extract<CommanderEvent, { type: 'hci.reaction' }>).reactionMs),
    }),
    logCommandFailure: sendParent(({ event }) => {
      const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
      return logEvent('EV', e.tolerated ? `${e.command} not needed: ${e.error.message}` : `Warning: ${e.error.message}`, e.tolerated ? 'info' : 'warn');
    }),
    /** Issue 9 item 4: the wait for the module ended by the watchdog (machines/status-watchdog.ts). */
    noModuleStatus: enqueueActions(({ enqueue, event }) => {
      const n = noModuleStatus((event as StatusWatchdogEvent).boundMs);
      enqueue.sendParent(logEvent('EV', n.text, 'error'));
      enqueue.assign({ error: n.error });
    }),
    failConfiguration: assign({
      error: ({ event }) => ({ name: 'configurationFailed', detail: (event as Extract<SequenceEvent, { type: 'hci.sequenceFailed' }>).error.message }),
    }),
    sessionStarted: enqueueActions(({ enqueue, context, event, system }) => {
      const fields = f(event);
      const protocol = enumName(PROTOCOLS, num(fields.selectedProtocol));
      const mode = num(fields.selectedEnergyTransferMode);
      const b = batteryNow(system, context.config.battery, context.clock.now());
      enqueue.assign({ protocol, energyTransferMode: mode, evseId: String(fields.evseId ?? ''), startedAt: context.clock.now(), socStartPercent: reportedSoc(b) });
      enqueue.sendParent(logEvent('EV', '"Session started" received', 'info', fields));
      enqueue.sendParent(logEvent('EV', `\tProtocol: ${protocol}`));
      enqueue.sendParent(logEvent('EV', `\tEVSE ID: ${String(fields.evseId ?? '')}`));
      enqueue.sendParent(logEvent('EV', `\tEnergy transfer mode: ${enumName(ENERGY_TRANSFER_MODES, mode)}`));
      if (!context.config.energyTransferModes.includes(mode)) enqueue.sendParent(logEvent('EV', '\t\twrong energy transfer mode!', 'warn'));
    }),
    scheduleReceived: enqueueActions(({ enqueue, context, event }) => {
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
      enqueue.sendTo('commander', command(V2g.EvSetChargingProfile, profile, 'profile', at(event)));
    }),
    dcParametersChanged: enqueueActions(({ enqueue, context, event, system }) => {
      const fields = f(event);
      const v = num(fields.presentVoltageV);
      const i = num(fields.presentCurrentA);
      const status = num(fields.status);
      enqueue.assign({
        presentVoltageV: Number.isFinite(v) ? v : 0,
        presentCurrentA: Number.isFinite(i) ? i : 0,
        evseStatus: Number.isFinite(status) ? status : 0,
        peakVoltageV: Math.max(context.peakVoltageV, context.chargingStartedAt !== undefined && Number.isFinite(v) ? v : 0),
        peakCurrentA: Math.max(context.peakCurrentA, context.chargingStartedAt !== undefined && Number.isFinite(i) ? i : 0),
      });
      enqueue.sendParent(logEvent('EV', '"DC Charge Parameters Changed" received', 'info', fields));
      sendBattery(enqueue, system, { type: 'battery.input', voltageV: Number.isFinite(v) ? v : 0, currentA: Number.isFinite(i) ? i : 0 });
    }),
    acParametersChanged: enqueueActions(({ enqueue, context, event, system }) => {
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
      if (context.chargingStartedAt !== undefined) enqueue.sendTo('commander', command(V2g.EvStopCharging, { renegotiation: false }, 'stopCharging', at(event), TOLERATE));
      else enqueue.sendTo('commander', command(V2g.EvStopSession, {}, 'stopSession', at(event), TOLERATE));
    }),
    startCableCheck: enqueueActions(({ enqueue, event, system }) => {
      enqueue.sendParent(logEvent('EV', '"Cable Check Ready" received'));
      sendCp(enqueue, system, 'C');
      enqueue.sendTo('commander', command(V2g.EvStartCableCheck, {}, 'cableCheck', at(event)));
    }),
    startPreCharging: enqueueActions(({ enqueue, event }) => {
      enqueue.sendParent(logEvent('EV', '"Pre Charging Ready" received'));
      enqueue.sendTo('commander', command(V2g.EvStartPreCharging, {}, 'preCharge', at(event)));
    }),
    startCharging: enqueueActions(({ enqueue, context, event, system }) => {
      enqueue.sendParent(logEvent('EV', 'Start charging: EVSE output within the battery limits'));
      enqueue.sendTo('commander', command(V2g.EvStartCharging, {}, 'startCharging', at(event)));
      // DC switched to state C before the cable check; AC does it now (reference), and so does a
      // renegotiated DC session (back in B since Charging Stopped, no cable check this time).
      if (!context.resistorC) sendCp(enqueue, system, 'C');
    }),
    chargingStarted: enqueueActions(({ enqueue, context, system }) => {
      enqueue.assign({ chargingStartedAt: context.clock.now(), stopChargingSent: false, renegotiating: false, lastUpdateAt: undefined });
      enqueue.sendParent(logEvent('EV', '"Charging Started" received'));
      sendBattery(enqueue, system, { type: 'battery.charging', on: true });
    }),
    /** Periodic update while charging: follow the profile's power, report SOC, stop at target. */
    chargeTick: enqueueActions(({ enqueue, context, event, system }) => {
      const now = context.clock.now();
      const b = batteryNow(system, context.config.battery, now);
      const soc = reportedSoc(b);
      const hostAt = hostNow();
      const gap = context.lastUpdateAt === undefined ? 0 : hostAt - context.lastUpdateAt;
      enqueue.assign({ lastUpdateAt: hostAt, longestUpdateGapMs: Math.max(context.longestUpdateGapMs, gap) });
      if (soc >= context.config.targetSocPercent) {
        if (!context.stopChargingSent) {
          enqueue.sendParent(logEvent('EV', 'charging done'));
          // The SOC that ended the charge goes out once more, so the EVSE sees it (its record, display).
          if (isDc(context.energyTransferMode)) {
            enqueue.sendTo('commander', command(V2g.EvUpdateDcChargingParameters, dcParameters(b, context.targetCurrentA), 'update', at(event)));
          }
          enqueue.assign({ stopChargingSent: true, stopReason: 'targetSocReached' });
          enqueue.sendTo('commander', command(V2g.EvStopCharging, { renegotiation: false }, 'stopCharging', undefined, TOLERATE));
        }
        return;
      }
      const elapsedS = (now - (context.chargingStartedAt ?? now)) / 1000;
      const powerW = profilePowerW(context.profile, elapsedS, context.config.battery.maxPowerW);
      const targetCurrentA = currentForPower(b, powerW);
      enqueue.assign({ targetCurrentA });
      if (isDc(context.energyTransferMode)) {
        enqueue.sendTo('commander', command(V2g.EvUpdateDcChargingParameters, dcParameters(b, targetCurrentA), 'update', at(event)));
      } else {
        // AC: the car says how much it takes now (its maximum current per phase) and draws it.
        const phases = acPhases(context.energyTransferMode);
        const nominalVoltageV = context.acNominalVoltageV ?? 0;
        const currentA = acCurrentPerPhaseA({ nominalVoltageV, maxCurrentA: context.acMaxCurrentA ?? 0 }, context.config.battery, powerW, phases);
        sendBattery(enqueue, system, { type: 'battery.input', voltageV: nominalVoltageV, currentA: currentA * phases });
        enqueue.assign({ peakVoltageV: Math.max(context.peakVoltageV, nominalVoltageV), peakCurrentA: Math.max(context.peakCurrentA, currentA * phases) });
        enqueue.sendTo('commander', command(V2g.EvUpdateAcChargingParameters, acParameters(context.config.battery, currentA), 'update', at(event)));
      }
    }),
    requestStop: enqueueActions(({ enqueue, context }, p: { reason: string; renegotiation?: boolean }) => {
      if (context.stopChargingSent) return;
      const renegotiating = p.renegotiation === true;
      enqueue.assign({ stopChargingSent: true, renegotiating, ...(context.stopReason || renegotiating ? {} : { stopReason: p.reason }) });
      if (renegotiating) enqueue.sendParent(logEvent('EV', `Renegotiation requested (${p.reason})`));
      enqueue.sendTo('commander', command(V2g.EvStopCharging, { renegotiation: p.renegotiation ?? false }, 'stopCharging', undefined, TOLERATE));
    }),
    notification: enqueueActions(({ enqueue, context, event }) => {
      const fields = f(event);
      const renegotiation = num(fields.type) === 1;
      enqueue.sendParent(logEvent('EV', '"Notification Received" received', 'info', fields));
      enqueue.sendParent(logEvent('EV', `Type : ${renegotiation ? 'renegotiation' : 'stop charging'}`));
      if (context.stopChargingSent) return;
      // 21.9.6: both answers go through Stop Charging, with the renegotiation flag.
      enqueue.assign({ stopChargingSent: true, renegotiating: renegotiation, ...(renegotiation ? {} : { stopReason: 'evseRequestedStop' }) });
      enqueue.sendTo('commander', command(V2g.EvStopCharging, { renegotiation }, 'stopCharging', at(event), TOLERATE));
    }),
    chargingStopped: enqueueActions(({ enqueue, system }) => {
      enqueue.sendParent(logEvent('EV', '"Charging Stopped" received'));
      sendBattery(enqueue, system, { type: 'battery.charging', on: false });
      sendCp(enqueue, system, 'B');
    }),
    stopSession: enqueueActions(({ enqueue, event }) => {
      enqueue.sendTo('commander', command(V2g.EvStopSession, {}, 'stopSession', at(event), TOLERATE));
    }),
    sessionStopped: enqueueActions(({ enqueue, context, system }) => {
      enqueue.sendParent(logEvent('EV', '"Session Stopped" received'));
      if (!context.stopReason) enqueue.assign({ stopReason: 'sessionStopped' });
      sendBattery(enqueue, system, { type: 'battery.charging', on: false });
      sendCp(enqueue, system, 'B');
    }),
    sessionError: enqueueActions(({ enqueue, event, system }) => {
      const code = num(f(event).code);
      const name = enumName(EV_SESSION_ERRORS, code);
      enqueue.sendParent(logEvent('EV', '"Session Error" received'));
      enqueue.sendParent(logEvent('EV', `Error code: ${code} - "${name}"`, 'error'));
      enqueue.assign({ error: { code, name } });
      sendBattery(enqueue, system, { type: 'battery.charging', on: false });
      sendCp(enqueue, system, 'B');
    }),
    aborted: enqueueActions(({ enqueue, context, event, system }) => {
      const reason = (event as Extract<EvSessionCommand, { type: 'session.abort' }>).reason;
      enqueue.sendParent(logEvent('EV', `Session aborted: ${reason}`, 'warn'));
      if (!context.stopReason) enqueue.assign({ stopReason: reason });
      sendBattery(enqueue, system, { type: 'battery.charging', on: false });
      sendCp(enqueue, system, 'B');
      enqueue.sendTo('commander', command(V2g.EvStopSession, {}, 'stopSession', undefined, TOLERATE));
    }),
    logEvseNotReady: sendParent(({ context }) => logEvent('EV', `EVSE status ${enumName(EVSE_STATUSES, context.evseStatus)}: stopping`, 'warn')),
  },
  guards: {
    /** Renegotiation resumes on the agreed output: no new pre-charge to wait for (DC). */
    mayStart: ({ context }) => (context.renegotiating === true && isDc(context.energyTransferMode)) || mayStartCharging(context, context.config.battery),
    evseNotReady: ({ context }) => context.evseStatus !== 0,
  },
}).createMachine({
  id: 'v2gEvSession',
  context: ({ input }) => ({
    ...input,
    startedAt: input.clock.now(),
    presentVoltageV: 0,
    presentCurrentA: 0,
    evseStatus: 0,
    targetCurrentA: input.config.battery.targetCurrentA,
    peakVoltageV: 0,
    peakCurrentA: 0,
    longestUpdateGapMs: 0,
    longestReactionMs: 0,
    stopChargingSent: false,
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
        input: ({ context, self }) => {
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
                      ...dcParameters(b, c.battery.targetCurrentA),
                      fullSocPercent: c.battery.fullSocPercent,
                      bulkSocPercent: c.battery.bulkSocPercent,
                      energyRequestWh,
                      departureTimeS: 100_000_000,
                    },
                  },
                ]
              : []),
            ...(hasAc(c) ? [{ text: 'Set AC charging parameters', def: V2g.EvSetAcChargingParameters, fields: { ...acParameters(c.battery), energyRequestWh, departureTimeS: 1_000_000 } }] : []),
            { text: 'Create new charging session', def: V2g.EvStartSession, fields: {} },
          ];
          return { client: context.client, steps };
        },
      },
      on: {
        'hci.step': { actions: 'logStep' },
        'hci.sequenceDone': 'session',
        'hci.sequenceFailed': { target: 'done', actions: 'failConfiguration' },
        'session.abort': { target: 'done', actions: 'aborted' },
      },
    },
    session: {
      invoke: { src: 'statusWatchdog', input: ({ context }) => ({ client: context.client, clock: context.clock }) },
      on: {
        'session.noModuleStatus': { target: 'done', actions: 'noModuleStatus' },
        'V2g.EvSessionStarted': { actions: 'sessionStarted' },
        'V2g.EvScheduleReceived': { actions: 'scheduleReceived' },
        'V2g.EvDcChargeParametersChanged': { actions: 'dcParametersChanged' },
        'V2g.EvAcChargeParametersChanged': { actions: 'acParametersChanged' },
        'V2g.EvCableCheckReady': { target: '.cableCheck', actions: 'startCableCheck' },
        'V2g.EvCableCheckFinished': { actions: { type: 'log', params: { text: '"Cable Check Finished" received' } } },
        'V2g.EvPreChargingReady': { target: '.preCharge', actions: 'startPreCharging' },
        'V2g.EvChargingReady': { target: '.chargingReady', actions: { type: 'log', params: { text: '"Charging Ready" received' } } },
        'V2g.EvChargingStarted': { target: '.charging' },
        'V2g.EvChargingStopped': { target: '.postCharge', actions: 'chargingStopped' },
        'V2g.EvPostChargingReady': { target: '.postCharge', actions: [{ type: 'log', params: { text: '"Post Charging Ready" received' } }, 'stopSession'] },
        'V2g.EvNotificationReceived': { actions: 'notification' },
        'V2g.EvSessionStopped': { target: 'done', actions: 'sessionStopped' },
        'V2g.EvSessionError': { target: 'done', actions: 'sessionError' },
        'session.abort': { target: 'done', actions: 'aborted' },
        'session.stopCharging': { actions: { type: 'requestStop', params: ({ event }) => ({ reason: event.reason }) } },
      },
      initial: 'starting',
      states: {
        starting: { entry: { type: 'phase', params: { phase: 'sessionStarted' } } },
        cableCheck: { entry: { type: 'phase', params: { phase: 'cableCheck' } } },
        preCharge: { entry: { type: 'phase', params: { phase: 'preCharge' } } },
        chargingReady: {
          always: { guard: 'mayStart', target: 'startRequested', actions: 'startCharging' },
          on: {
            'V2g.EvDcChargeParametersChanged': { target: 'chargingReady', reenter: true, actions: 'dcParametersChanged' },
            'V2g.EvAcChargeParametersChanged': { target: 'chargingReady', reenter: true, actions: 'acParametersChanged' },
          },
          after: { recheck: { target: 'chargingReady', reenter: true } },
        },
        startRequested: {},
        charging: {
          entry: [{ type: 'phase', params: { phase: 'charging' } }, 'chargingStarted'],
          exit: enqueueActions(({ enqueue, system }) => sendBattery(enqueue, system, { type: 'battery.charging', on: false })),
          on: {
            'session.renegotiate': { actions: { type: 'requestStop', params: ({ event }) => ({ reason: event.reason, renegotiation: true }) } },
            'V2g.EvDcChargeParametersChanged': [
              { guard: 'evseNotReady', actions: ['dcParametersChanged', 'logEvseNotReady', { type: 'requestStop', params: { reason: 'evseNotReady' } }] },
              { actions: 'dcParametersChanged' },
            ],
          },
          initial: 'ticking',
          states: {
            // Re-entered on every update: only this child, so the charging entry runs once.
            ticking: {
              entry: 'chargeTick',
              after: { updateInterval: { target: 'ticking', reenter: true } },
            },
          },
        },
        postCharge: {
          // Out of energy transfer by whatever message came first (Charging Stopped or straight
          // Post Charging Ready): the EV no longer asks for energy (state B; the CP skips repeats).
          entry: [
            { type: 'phase', params: { phase: 'postCharge' } },
            enqueueActions(({ enqueue, context, system }) => {
              if (context.resistorC) sendCp(enqueue, system, 'B');
            }),
          ],
          // AC ends by itself (21.9.5); if a DC module never says Post Charging Ready, ask anyway.
          after: { postChargeFallback: { guard: ({ context }) => context.renegotiating !== true, actions: 'stopSession' } },
        },
      },
    },
    done: {
      type: 'final',
      entry: { type: 'phase', params: { phase: 'sessionStopped' } },
    },
  },
  output: ({ context, self }) => evSessionRecord(context, self.system),
});

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
  };
}
