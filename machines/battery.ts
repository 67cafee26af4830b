/**
 * The EV's battery model (child of the EV station, systemId 'battery'): capacity and level, SOC
 * from the energy the EVSE delivers (its present voltage x current while charging), full and
 * bulk SOC, and the limits the EV announces. Time advances on the injected clock like the charger.
 *
 * With an external battery (ev-battery.ts) its reports set the SOC, lower the limits and give
 * the measured values; the energy is still what the EVSE's present values deliver.
 *
 * Events: battery.reset, battery.input {voltageV, currentA}, battery.charging {on}, and from the
 * external battery's link battery.reported/fault/ok.
 * To the parent: battery.sample while charging; battery.fault and battery.ok (external only).
 */
import { assign, fromCallback, sendParent, setup } from 'xstate';
import type { Clock } from '../util/clock.js';
import type { BatteryConfig } from './config.js';
import { sampleEvent, stationRelay } from './station-events.js';
import { type EvBatteryBinding, type EvBatteryLinkEvent, type EvBatteryReport, effectiveBatteryConfig, evBatteryLink } from './ev-battery.js';
import { everyPeriod } from './every-period.js';

export interface BatteryState {
  /** The limits in force: the configured ones, lowered by an external battery's report. */
  config: BatteryConfig;
  /** An external battery's last report and fault state (none: simulated). */
  external?: { configured: BatteryConfig; report?: EvBatteryReport; fault: boolean };
  levelWh: number;
  inputVoltageV: number;
  inputCurrentA: number;
  charging: boolean;
  at: number;
  /** Energy taken in since the last reset (session). */
  energyWh: number;
}

export interface BatteryInput {
  clock: Clock;
  config: BatteryConfig;
  /** How often to sample while charging (ms). */
  sampleMs?: number;
  /** The car's real battery (ev-battery.ts); without one the battery is simulated. */
  external?: EvBatteryBinding;
}

type BatteryContext = BatteryState & { clock: Clock; sampleMs: number; binding?: EvBatteryBinding };

export type BatteryEvent =
  | { type: 'battery.reset' }
  | { type: 'battery.tick' }
  | { type: 'battery.input'; voltageV: number; currentA: number }
  | { type: 'battery.charging'; on: boolean }
  | EvBatteryLinkEvent;

export interface BatterySample {
  type: 'battery.sample';
  at: number;
  voltageV: number;
  currentA: number;
  socPercent: number;
  energyWh: number;
}

export function socPercent(s: Pick<BatteryState, 'config' | 'levelWh' | 'external'>): number {
  const reported = s.external?.report?.socPercent;
  if (reported !== undefined) return Math.max(0, Math.min(100, reported));
  return (s.levelWh / s.config.capacityWh) * 100;
}

/** The SOC the EV reports (whole percent, like the reference). */
export function reportedSoc(s: Pick<BatteryState, 'config' | 'levelWh' | 'external'>): number {
  return Math.min(100, Math.floor(socPercent(s)));
}

/** Energy for the time since the last update, at the input last reported. */
export function advanceBattery(s: BatteryState, now: number): BatteryState {
  const dt = Math.max(0, now - s.at);
  if (dt === 0) return { ...s, at: now };
  if (!s.charging) return { ...s, at: now };
  const inWh = Math.max(0, (s.inputVoltageV * s.inputCurrentA * dt) / 3_600_000);
  // An external battery's level is its reported SOC; only the session's energy is counted here.
  if (s.external) return { ...s, energyWh: s.energyWh + inWh, at: now };
  const levelWh = Math.min(s.config.capacityWh, s.levelWh + inWh);
  return { ...s, levelWh, energyWh: s.energyWh + (levelWh - s.levelWh), at: now };
}

export function initialBatteryState(config: BatteryConfig, now: number): BatteryState {
  return { config, levelWh: config.levelWh, inputVoltageV: 0, inputCurrentA: 0, charging: false, at: now, energyWh: 0 };
}

/**
 * The charge current that follows a power limit (a schedule entry), as the reference does:
 * power / target voltage, within the battery's maximum current and power.
 */
export function currentForPower(s: Pick<BatteryState, 'config'>, powerW: number): number {
  const v = s.config.targetVoltageV;
  if (v <= 0) return 0;
  return Math.max(0, Math.min(s.config.maxCurrentA, Math.min(powerW, s.config.maxPowerW) / v));
}

const now = (c: BatteryContext): BatteryState => advanceBattery(c, c.clock.now());

/** The context after a report or a fault change of the external battery. */
function withExternal(c: BatteryContext, change: { report?: EvBatteryReport; fault?: boolean }): Partial<BatteryContext> {
  const ext = c.external;
  if (!ext) return {};
  const external = { ...ext, ...(change.report ? { report: change.report } : {}), ...(change.fault !== undefined ? { fault: change.fault } : {}) };
  const config = effectiveBatteryConfig(ext.configured, external.report, external.fault);
  const levelWh = external.report ? (Math.max(0, Math.min(100, external.report.socPercent)) / 100) * config.capacityWh : c.levelWh;
  return { ...now(c), external, config, levelWh };
}

/** What the external battery is told: charge or not, and the EVSE's present output. */
const commandOf = (c: BatteryState) => ({ charging: c.charging, voltageV: c.inputVoltageV, currentA: c.inputCurrentA });

function sampleOf(c: BatteryContext): BatterySample {
  return {
    type: 'battery.sample',
    at: c.at,
    // An external battery's own measurement where it gives one.
    voltageV: c.external?.report?.voltageV ?? c.inputVoltageV,
    currentA: c.external?.report?.currentA ?? c.inputCurrentA,
    socPercent: socPercent(c),
    energyWh: c.energyWh,
  };
}

/** What a battery actor's snapshot gives: its context (the ticker and `setInputInPlace` write it). */
export interface BatteryRef {
  getSnapshot(): { context: BatteryContext };
}

/** Moves the battery's own context to `now` in place (fields of advanceBattery only). */
function advanceInPlace(c: BatteryContext, now: number): void {
  const next = advanceBattery(c, now);
  c.at = next.at;
  c.levelWh = next.levelWh;
  c.energyWh = next.energyWh;
}

/**
 * The EV session's input (the EVSE's present output, one a DC Charge Parameters Changed) without
 * a battery macrostep, for a simulated battery under a station with a relay: plain bookkeeping,
 * the same values the `battery.input` event's assign gives. An external battery's link follows
 * the battery's snapshots to command it, so it keeps the event. Undefined: send `battery.input`.
 */
export function batteryInputInPlace(system: object, ref: unknown): ((voltageV: number, currentA: number) => void) | undefined {
  const c = (ref as BatteryRef | undefined)?.getSnapshot().context;
  if (!c || c.binding || !stationRelay(system)) return undefined;
  return (voltageV, currentA) => {
    const own = (ref as BatteryRef).getSnapshot().context;
    advanceInPlace(own, own.clock.now());
    own.inputVoltageV = voltageV;
    own.inputCurrentA = currentA;
  };
}

/**
 * Samples every `sampleMs` while charging (a timer child: no re-entered state per sample). Under
 * a station with a relay (station-events.ts) a sample is plain bookkeeping outside the
 * statechart: the level moves to now in place and the sample goes straight to the station's
 * listeners (issue 12 target 4). Nothing it changes is part of an external battery's command.
 * Standalone (no relay): a `battery.tick` event.
 */
const ticker = fromCallback<{ type: 'noop' }, { clock: Clock; sampleMs: number; battery: BatteryRef }>(({ input, sendBack, system }) => {
  const relay = stationRelay(system);
  return everyPeriod(input.clock, input.sampleMs, () => {
    if (relay) {
      const c = input.battery.getSnapshot().context;
      advanceInPlace(c, input.clock.now());
      relay(sampleEvent('EV', sampleOf(c)));
    } else sendBack({ type: 'battery.tick' });
  });
});

export const batteryMachine = setup({
  actors: { evBatteryLink, ticker },
  types: {
    input: {} as BatteryInput,
    context: {} as BatteryContext,
    events: {} as BatteryEvent,
  },
  actions: {
    advance: assign(({ context }) => now(context)),
    reset: assign(({ context }) => ({ ...now(context), charging: false, inputVoltageV: 0, inputCurrentA: 0, energyWh: 0 })),
    setInput: assign(({ context, event }) => {
      const e = event as Extract<BatteryEvent, { type: 'battery.input' }>;
      return { ...now(context), inputVoltageV: e.voltageV, inputCurrentA: e.currentA };
    }),
    setCharging: assign(({ context, event }) => ({ ...now(context), charging: (event as Extract<BatteryEvent, { type: 'battery.charging' }>).on })),
    reported: assign(({ context, event }) => withExternal(context, { report: (event as Extract<BatteryEvent, { type: 'battery.reported' }>).report })),
    faulted: assign(({ context }) => withExternal(context, { fault: true })),
    recovered: assign(({ context }) => withExternal(context, { fault: false })),
    toParent: sendParent(({ event }) => event as Extract<BatteryEvent, { type: 'battery.fault' | 'battery.ok' }>),
    sample: sendParent(({ context }) => sampleOf(context)),
  },
  guards: {
    charging: ({ context }) => context.charging,
  },
}).createMachine({
  id: 'battery',
  context: ({ input }) => ({
    ...initialBatteryState(input.config, input.clock.now()),
    clock: input.clock,
    sampleMs: input.sampleMs ?? 1000,
    ...(input.external ? { binding: input.external, external: { configured: input.config, fault: false } } : {}),
  }),
  invoke: {
    src: 'evBatteryLink',
    input: ({ context, self }) => ({
      ...(context.binding ? { binding: context.binding } : {}),
      clock: context.clock,
      initial: commandOf(context),
      source: { subscribe: (fn: () => void) => self.subscribe(fn), command: () => commandOf(self.getSnapshot().context) },
    }),
  },
  on: {
    'battery.reset': { target: '.idle', actions: 'reset' },
    'battery.input': { actions: 'setInput' },
    'battery.reported': { actions: 'reported' },
    'battery.fault': { actions: ['faulted', 'toParent'] },
    'battery.ok': { actions: ['recovered', 'toParent'] },
  },
  initial: 'idle',
  states: {
    idle: {
      on: { 'battery.charging': [{ guard: ({ event }) => event.on, target: 'charging', actions: 'setCharging' }, { actions: 'setCharging' }] },
    },
    charging: {
      on: {
        'battery.charging': [{ guard: ({ event }) => !event.on, target: 'idle', actions: 'setCharging' }, { actions: 'setCharging' }],
        'battery.tick': { actions: ['advance', 'sample'] },
      },
      invoke: { src: 'ticker', input: ({ context, self }) => ({ clock: context.clock, sampleMs: context.sampleMs, battery: self }) },
    },
  },
});
