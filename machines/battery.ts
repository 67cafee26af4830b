/**
 * The EV's battery model (child of the EV station, systemId 'battery'): capacity and level, SOC
 * from the energy the EVSE delivers (its present voltage x current while charging), full and
 * bulk SOC, and the limits the EV announces. Time advances on the injected clock like the charger.
 *
 * Events: battery.reset, battery.input {voltageV, currentA}, battery.charging {on}.
 * To the parent: battery.sample while charging.
 */
import { assign, sendParent, setup } from 'xstate';
import type { Clock } from '../util/clock.js';
import type { BatteryConfig } from './config.js';

export interface BatteryState {
  config: BatteryConfig;
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
}

type BatteryContext = BatteryState & { clock: Clock; sampleMs: number };

export type BatteryEvent = { type: 'battery.reset' } | { type: 'battery.input'; voltageV: number; currentA: number } | { type: 'battery.charging'; on: boolean };

export interface BatterySample {
  type: 'battery.sample';
  at: number;
  voltageV: number;
  currentA: number;
  socPercent: number;
  energyWh: number;
}

export function socPercent(s: Pick<BatteryState, 'config' | 'levelWh'>): number {
  return (s.levelWh / s.config.capacityWh) * 100;
}

/** The SOC the EV reports (whole percent, like the reference). */
export function reportedSoc(s: Pick<BatteryState, 'config' | 'levelWh'>): number {
  return Math.min(100, Math.floor(socPercent(s)));
}

/** Energy for the time since the last update, at the input last reported. */
export function advanceBattery(s: BatteryState, now: number): BatteryState {
  const dt = Math.max(0, now - s.at);
  if (dt === 0) return { ...s, at: now };
  if (!s.charging) return { ...s, at: now };
  const inWh = Math.max(0, (s.inputVoltageV * s.inputCurrentA * dt) / 3_600_000);
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

export const batteryMachine = setup({
  types: {
    input: {} as BatteryInput,
    context: {} as BatteryContext,
    events: {} as BatteryEvent,
  },
  delays: { sample: ({ context }) => context.sampleMs },
  actions: {
    advance: assign(({ context }) => now(context)),
    reset: assign(({ context }) => ({ ...now(context), charging: false, inputVoltageV: 0, inputCurrentA: 0, energyWh: 0 })),
    setInput: assign(({ context, event }) => {
      const e = event as Extract<BatteryEvent, { type: 'battery.input' }>;
      return { ...now(context), inputVoltageV: e.voltageV, inputCurrentA: e.currentA };
    }),
    setCharging: assign(({ context, event }) => ({ ...now(context), charging: (event as Extract<BatteryEvent, { type: 'battery.charging' }>).on })),
    sample: sendParent(
      ({ context }): BatterySample => ({
        type: 'battery.sample',
        at: context.at,
        voltageV: context.inputVoltageV,
        currentA: context.inputCurrentA,
        socPercent: socPercent(context),
        energyWh: context.energyWh,
      }),
    ),
  },
  guards: {
    charging: ({ context }) => context.charging,
  },
}).createMachine({
  id: 'battery',
  context: ({ input }) => ({ ...initialBatteryState(input.config, input.clock.now()), clock: input.clock, sampleMs: input.sampleMs ?? 1000 }),
  on: {
    'battery.reset': { target: '.idle', actions: 'reset' },
    'battery.input': { actions: 'setInput' },
  },
  initial: 'idle',
  states: {
    idle: {
      on: { 'battery.charging': [{ guard: ({ event }) => event.on, target: 'charging', actions: 'setCharging' }, { actions: 'setCharging' }] },
    },
    charging: {
      on: { 'battery.charging': [{ guard: ({ event }) => !event.on, target: 'idle', actions: 'setCharging' }, { actions: 'setCharging' }] },
      after: { sample: { target: 'charging', reenter: true, actions: ['advance', 'sample'] } },
    },
  },
});
