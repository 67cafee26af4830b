/**
 * The EVSE's power stage model (child of the EVSE station, systemId 'charger'). Present voltage
 * and current follow the EV's targets at the configured ramp rates, clamped by the EVSE's and the
 * EV's limits; whenever charging is not active the commanded output is 0 and the output ramps
 * down. Time advances on the injected clock: values are computed for "now" from the last state,
 * and a tick samples them while anything moves.
 *
 * Events: charger.reset (new session), charger.start, charger.stop, charger.evLimits,
 * charger.targets, charger.ev (both at once), charger.cableCheck, charger.preCharge, charger.s2
 * (IEC 61851 gates: charger-gates.ts). To the parent: charger.sample, log lines.
 */
import { assign, enqueueActions, fromCallback, sendParent, setup } from 'xstate';
import type { Clock } from '../util/clock.js';
import { type ChargerGates, S2_CLOSED_TEXT, S2_OPEN_TEXT, chargerLog, gatedCurrentA, preChargeClampText } from './charger-gates.js';
import { clamp, definedOnly, ramp } from './charger-math.js';
import type { ChargerConfig } from './config.js';
import { logEvent, sampleEvent, stationRelay } from './station-events.js';
import { type IsolationResult, type PowerStageBinding, type PowerStageLinkEvent, powerStageLink, setpointOf } from './power-stage.js';
import { everyPeriod } from './every-period.js';

export interface EvLimits {
  maxVoltageV: number;
  maxCurrentA: number;
  maxPowerW: number;
}

export interface ChargerState extends ChargerGates {
  config: ChargerConfig;
  ev: EvLimits;
  targetVoltageV: number;
  targetCurrentA: number;
  active: boolean;
  presentVoltageV: number;
  presentCurrentA: number;
  at: number;
  energyWh: number;
  peakVoltageV: number;
  peakCurrentA: number;
  /** The SOC the EV last reported (for samples). */
  evSocPercent?: number;
  /** Present values are a power stage's measurements (held between them), not simulated. */
  measured?: boolean;
  /** The stage's last isolation result (none from the simulation). */
  isolation?: IsolationResult;
  /** A cable check waits for the stage's isolation result (set from charger.cableCheck). */
  isolationCheck?: boolean;
}

export interface ChargerInput {
  clock: Clock;
  config: ChargerConfig;
  /** An external power stage (machines/power-stage.ts); without one the output is simulated. */
  powerStage?: PowerStageBinding;
}

type ChargerContext = ChargerState & { clock: Clock; powerStage?: PowerStageBinding };

export type ChargerEvent =
  | { type: 'charger.reset' }
  | { type: 'charger.start' }
  | { type: 'charger.stop' }
  | { type: 'charger.evLimits'; limits: Partial<EvLimits> & { socPercent?: number } }
  | { type: 'charger.targets'; voltageV: number; currentA: number }
  /** The station's own limits change at run time (operator, load management): from now on. */
  | { type: 'charger.limits'; maxPowerW?: number; maxCurrentA?: number }
  /** Limits and targets from one EV message in one event (the charge loop's hot path). */
  | { type: 'charger.ev'; limits: Partial<EvLimits> & { socPercent?: number }; voltageV: number; currentA: number }
  /** The cable check starts (on) or ends: the stage is asked for a fresh isolation result. */
  | { type: 'charger.cableCheck'; on: boolean }
  /** Energy transfer is (on) or is no longer in pre-charge: the current cap (charger-gates.ts). */
  | { type: 'charger.preCharge'; on: boolean }
  /** The vehicle's S2 (CP state C/D closed, B open): no output while open (charger-gates.ts). */
  | { type: 'charger.s2'; closed: boolean }
  /** From the charger's own timer while charging (samples). */
  | { type: 'charger.tick' }
  | PowerStageLinkEvent;

export interface ChargerSample {
  type: 'charger.sample';
  at: number;
  voltageV: number;
  currentA: number;
  powerW: number;
  energyWh: number;
  socPercent?: number;
}

const NO_GATES: Required<ChargerGates> = { preCharge: false, s2Open: false, preChargeClampNoted: false };
const NO_EV: EvLimits = { maxVoltageV: Number.POSITIVE_INFINITY, maxCurrentA: Number.POSITIVE_INFINITY, maxPowerW: Number.POSITIVE_INFINITY };

/** What the power stage is told to deliver: 0 unless active (and S2 closed), else targets within all limits. */
export function commandedOutput(s: Pick<ChargerState, 'config' | 'ev' | 'active' | 'targetVoltageV' | 'targetCurrentA' | 'preCharge' | 's2Open'>): {
  voltageV: number;
  currentA: number;
} {
  if (!s.active || s.s2Open) return { voltageV: 0, currentA: 0 };
  const c = s.config;
  const voltageV = clamp(s.targetVoltageV, c.minVoltageV, Math.min(c.maxVoltageV, s.ev.maxVoltageV));
  const maxPowerW = Math.min(c.maxPowerW, s.ev.maxPowerW);
  const powerLimitA = voltageV > 0 ? maxPowerW / voltageV : Number.POSITIVE_INFINITY;
  const currentA = gatedCurrentA(s, clamp(s.targetCurrentA, c.minCurrentA, Math.min(c.maxCurrentA, s.ev.maxCurrentA, powerLimitA)));
  return { voltageV, currentA };
}

/** The state moved forward to `now`: output ramped toward the command, energy integrated. */
export function advance(s: ChargerState, now: number): ChargerState {
  const dt = Math.max(0, now - s.at);
  if (dt === 0) return s;
  return { ...s, ...moved(s, now, dt) };
}

/** The output values at `now` without copying the state (the updates read them 5 times a second). */
export function outputAt(s: ChargerState, now: number): Pick<ChargerState, 'presentVoltageV' | 'presentCurrentA' | 'energyWh' | 'peakVoltageV' | 'peakCurrentA'> {
  const dt = Math.max(0, now - s.at);
  return dt === 0 ? s : moved(s, now, dt);
}

/** What moving forward by `dt` to `now` changes (advance's fields, for the actions' assigns). */
function moved(s: ChargerState, now: number, dt: number): Pick<ChargerState, 'presentVoltageV' | 'presentCurrentA' | 'at' | 'energyWh' | 'peakVoltageV' | 'peakCurrentA'> {
  // A measured stage holds its last values between measurements: nothing to ramp.
  const cmd = s.measured ? { voltageV: s.presentVoltageV, currentA: s.presentCurrentA } : commandedOutput(s);
  const v = ramp(s.presentVoltageV, cmd.voltageV, s.config.voltageRampVPerMs * dt);
  const i = ramp(s.presentCurrentA, cmd.currentA, s.config.currentRampAPerMs * dt);
  // Trapezoid over the step: the ramps are linear within it.
  const avgPowerW = (s.presentVoltageV * s.presentCurrentA + v * i) / 2;
  return {
    presentVoltageV: v,
    presentCurrentA: i,
    at: now,
    energyWh: s.energyWh + (avgPowerW * dt) / 3_600_000,
    peakVoltageV: Math.max(s.peakVoltageV, v),
    peakCurrentA: Math.max(s.peakCurrentA, i),
  };
}

/** Output has reached the command (nothing left to animate). */
export function settled(s: ChargerState): boolean {
  const cmd = commandedOutput(s);
  return s.presentVoltageV === cmd.voltageV && s.presentCurrentA === cmd.currentA;
}

export function initialChargerState(config: ChargerConfig, now: number): ChargerState {
  return {
    config,
    ev: NO_EV,
    targetVoltageV: 0,
    targetCurrentA: 0,
    active: false,
    presentVoltageV: 0,
    presentCurrentA: 0,
    at: now,
    energyWh: 0,
    peakVoltageV: 0,
    peakCurrentA: 0,
  };
}

const now = (c: ChargerContext): ChargerState => advance(c, c.clock.now());

/**
 * Only the fields that moving to now changes: each action's assign copies the context once
 * (XState), and this runs for every tick and EV message of the charge loop (issue 12 target 4).
 */
function nowPart(c: ChargerContext): Partial<ChargerState> {
  const t = c.clock.now();
  const dt = Math.max(0, t - c.at);
  return dt === 0 ? {} : moved(c, t, dt);
}

type ChargerEvMessage = Extract<ChargerEvent, { type: 'charger.ev' }>;

/** What one EV message changes (`charger.ev`): moved to now, then the EV's limits and targets. */
function evPart(c: ChargerContext, e: ChargerEvMessage): Partial<ChargerState> {
  const { socPercent, ...limits } = e.limits;
  const soc = socPercent !== undefined && Number.isFinite(socPercent) ? { evSocPercent: socPercent } : {};
  return { ...nowPart(c), ev: { ...c.ev, ...definedOnly(limits) }, ...soc, targetVoltageV: e.voltageV, targetCurrentA: e.currentA };
}

/**
 * `evPart` written straight into the actor's own context: the same fields in the same order,
 * without the intermediate objects (one a status message of the charge loop).
 */
function evInPlace(own: ChargerContext, e: ChargerEvMessage, log: (text: string) => void): void {
  const t = own.clock.now();
  const dt = Math.max(0, t - own.at);
  if (dt !== 0) Object.assign(own, moved(own, t, dt));
  const { maxVoltageV, maxCurrentA, maxPowerW, socPercent } = e.limits;
  const ev = { ...own.ev };
  if (maxVoltageV !== undefined && Number.isFinite(maxVoltageV)) ev.maxVoltageV = maxVoltageV;
  if (maxCurrentA !== undefined && Number.isFinite(maxCurrentA)) ev.maxCurrentA = maxCurrentA;
  if (maxPowerW !== undefined && Number.isFinite(maxPowerW)) ev.maxPowerW = maxPowerW;
  own.ev = ev;
  if (socPercent !== undefined && Number.isFinite(socPercent)) own.evSocPercent = socPercent;
  own.targetVoltageV = e.voltageV;
  own.targetCurrentA = e.currentA;
  const clamped = preChargeClampText(own);
  if (clamped) {
    own.preChargeClampNoted = true;
    log(clamped);
  }
}

/** What a charger actor's snapshot gives: its context (the ticker and `chargerEvInPlace` write it). */
export interface ChargerActorRef {
  getSnapshot(): { context: ChargerContext };
}

/**
 * One EV message (`charger.ev`, one a DC/AC Charge Parameters Changed) without a charger
 * macrostep, for the simulated charger under a station with a relay: plain bookkeeping, the same
 * values the event's assign gives. A power stage's link follows the charger's snapshots to push
 * setpoints, so a charger with one keeps the event. Undefined: send `charger.ev`. Its warning
 * goes to the station's listeners, or to `log` when given (a caller that logs after its answer).
 */
export function chargerEvInPlace(system: object, ref: unknown): ((e: ChargerEvMessage, log?: (text: string) => void) => void) | undefined {
  const c = (ref as ChargerActorRef | undefined)?.getSnapshot().context;
  const relay = stationRelay(system);
  if (!c || c.powerStage || !relay) return undefined;
  return (e, log) => evInPlace((ref as ChargerActorRef).getSnapshot().context, e, log ?? ((text) => relay(logEvent('EVSE', text, 'warn').event)));
}

/**
 * Samples the output every `tickMs` while charging (a timer child: no re-entered state per tick).
 * Under a station with a relay (station-events.ts) a tick is plain bookkeeping outside the
 * statechart: the charger's present state is moved to now in place and the sample goes straight
 * to the station's listeners, with no macrostep of the charger or the station (issue 12 target 4).
 * Nothing a tick changes is part of the commanded output, so the power stage link, which follows
 * the charger's snapshots, has nothing to push. Standalone (no relay): a `charger.tick` event.
 */
const ticker = fromCallback<{ type: 'noop' }, { clock: Clock; tickMs: number; charger: ChargerActorRef }>(({ input, sendBack, system }) => {
  const relay = stationRelay(system);
  return everyPeriod(input.clock, input.tickMs, () => {
    if (relay) {
      const c = input.charger.getSnapshot().context;
      // The snapshot's own context: later assigns copy it with these fields (energy is integrated per tick).
      Object.assign(c, nowPart(c));
      relay(sampleEvent('EVSE', sampleOf(c)));
    } else sendBack({ type: 'charger.tick' });
  });
});

export const chargerMachine = setup({
  actors: { powerStageLink, ticker },
  types: {
    input: {} as ChargerInput,
    context: {} as ChargerContext,
    events: {} as ChargerEvent,
  },
  delays: {
    tick: ({ context }) => context.config.tickMs,
  },
  actions: {
    advance: assign(({ context }) => nowPart(context)),
    reset: assign(({ context }) => ({
      ...nowPart(context),
      ev: NO_EV,
      targetVoltageV: 0,
      targetCurrentA: 0,
      active: false,
      energyWh: 0,
      peakVoltageV: 0,
      peakCurrentA: 0,
      evSocPercent: undefined,
      ...NO_GATES,
    })),
    // An energy transfer starts with S2 closed: only an opening seen during it holds the output.
    start: assign(({ context }) => ({ ...nowPart(context), active: true, s2Open: false })),
    // Each pre-charge logs its cap once (charger-gates.ts).
    preCharge: assign(({ context, event }) => ({ ...nowPart(context), preCharge: (event as Extract<ChargerEvent, { type: 'charger.preCharge' }>).on, preChargeClampNoted: false })),
    s2: enqueueActions(({ context, event, enqueue, system }) => {
      const open = !(event as Extract<ChargerEvent, { type: 'charger.s2' }>).closed;
      if (open === (context.s2Open === true)) return;
      enqueue.assign({ ...nowPart(context), s2Open: open });
      chargerLog(enqueue, system, open ? S2_OPEN_TEXT : S2_CLOSED_TEXT, open ? 'warn' : 'info');
    }),
    /** After anything that may set a pre-charge request above the cap: the line, once. */
    noteClamp: enqueueActions(({ context, enqueue, system }) => {
      const text = preChargeClampText(context);
      if (!text) return;
      enqueue.assign({ preChargeClampNoted: true });
      chargerLog(enqueue, system, text, 'warn');
    }),
    // Stopping drops the targets as well: the command is 0 and stays 0 until the next start.
    stop: assign(({ context }) => ({ ...nowPart(context), active: false, targetVoltageV: 0, targetCurrentA: 0 })),
    setEvLimits: assign(({ context, event }) => {
      const { socPercent, ...limits } = (event as Extract<ChargerEvent, { type: 'charger.evLimits' }>).limits;
      const soc = socPercent !== undefined && Number.isFinite(socPercent) ? { evSocPercent: socPercent } : {};
      return { ...nowPart(context), ev: { ...context.ev, ...definedOnly(limits) }, ...soc };
    }),
    setEv: assign(({ context, event }) => evPart(context, event as ChargerEvMessage)),
    setLimits: assign(({ context, event }) => {
      const { type: _, ...limits } = event as Extract<ChargerEvent, { type: 'charger.limits' }>;
      return { ...nowPart(context), config: { ...context.config, ...definedOnly(limits) } };
    }),
    // Starting a check forgets the last result: only one measured since counts (cable-check.ts).
    cableCheck: assign(({ context, event }) => {
      const on = (event as Extract<ChargerEvent, { type: 'charger.cableCheck' }>).on;
      return on ? { ...nowPart(context), isolationCheck: true, isolation: undefined } : { ...nowPart(context), isolationCheck: false };
    }),
    setTargets: assign(({ context, event }) => {
      const e = event as Extract<ChargerEvent, { type: 'charger.targets' }>;
      return { ...nowPart(context), targetVoltageV: e.voltageV, targetCurrentA: e.currentA };
    }),
    measured: assign(({ context, event }) => {
      const e = event as Extract<ChargerEvent, { type: 'charger.measured' }>;
      const s = now(context);
      return {
        ...s,
        ...(e.isolation ? { isolation: e.isolation } : {}),
        presentVoltageV: e.voltageV,
        presentCurrentA: e.currentA,
        peakVoltageV: Math.max(s.peakVoltageV, e.voltageV),
        peakCurrentA: Math.max(s.peakCurrentA, e.currentA),
      };
    }),
    // The station ends the session in progress; the command is already 0 ('stop' ran first).
    fault: sendParent(({ event }) => event as Extract<ChargerEvent, { type: 'charger.fault' }>),
    // Straight to the station's listeners where it has a relay (station-events.ts: no station
    // macrostep per sample, 10 a second); otherwise to the parent, which emits it.
    sample: enqueueActions(({ enqueue, system }) => {
      const relay = stationRelay(system);
      if (relay) enqueue(({ context }) => relay(sampleEvent('EVSE', sampleOf(context))));
      else enqueue.sendParent(({ context }) => sampleOf(context));
    }),
  },
  guards: {
    moving: ({ context }) => !settled(context),
  },
}).createMachine({
  id: 'charger',
  context: ({ input }) => ({
    ...initialChargerState(input.config, input.clock.now()),
    clock: input.clock,
    ...(input.powerStage ? { powerStage: input.powerStage, measured: true } : {}),
  }),
  invoke: {
    src: 'powerStageLink',
    input: ({ context, self }) => ({
      ...(context.powerStage ? { binding: context.powerStage } : {}),
      clock: context.clock,
      initial: setpointOf(context, commandedOutput(context)),
      source: {
        subscribe: (fn: () => void) => self.subscribe(fn),
        setpoint: () => {
          const c = self.getSnapshot().context;
          return setpointOf(c, commandedOutput(c));
        },
      },
    }),
  },
  on: {
    'charger.measured': { actions: 'measured' },
    'charger.fault': { target: '.off', actions: ['stop', 'fault'] },
    'charger.reset': { target: '.off', actions: 'reset' },
    'charger.evLimits': { actions: 'setEvLimits' },
    'charger.targets': { actions: ['setTargets', 'noteClamp'] },
    'charger.ev': { actions: ['setEv', 'noteClamp'] },
    'charger.preCharge': { actions: ['preCharge', 'noteClamp'] },
    'charger.limits': { actions: 'setLimits' },
    'charger.cableCheck': { actions: 'cableCheck' },
  },
  initial: 'off',
  states: {
    off: {
      on: { 'charger.start': { target: 'on', actions: ['start', 'noteClamp'] }, 'charger.stop': { actions: 'stop' } },
      // Ramp down to 0 after a stop, sampling on the way.
      after: { tick: { guard: 'moving', target: 'off', reenter: true, actions: ['advance', 'sample'] } },
    },
    on: {
      invoke: { src: 'ticker', input: ({ context, self }) => ({ clock: context.clock, tickMs: context.config.tickMs, charger: self }) },
      // Off (between energy transfers) S2 does not matter: each start begins with it closed.
      on: { 'charger.stop': { target: 'off', actions: 'stop' }, 'charger.start': {}, 'charger.tick': { actions: ['advance', 'sample'] }, 'charger.s2': { actions: 's2' } },
    },
  },
});

function sampleOf(c: ChargerState): ChargerSample {
  return {
    type: 'charger.sample',
    at: c.at,
    voltageV: c.presentVoltageV,
    currentA: c.presentCurrentA,
    powerW: c.presentVoltageV * c.presentCurrentA,
    energyWh: c.energyWh,
    ...(c.evSocPercent !== undefined ? { socPercent: c.evSocPercent } : {}),
  };
}
