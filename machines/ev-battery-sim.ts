/**
 * A simulated car battery behind the EvBattery contract (ev-battery.ts): it charges from what the
 * commands say the EVSE delivers while `charging`, and reports its SOC, limits and measurements
 * every `periodMs` on the injected clock. The EV's built-in model (machines/battery.ts) stays the
 * default; this one stands in for a real BMS in tests, and `faults` makes it misbehave.
 */
import type { Clock } from '../util/clock.js';
import type { EvBattery, EvBatteryCommand, EvBatteryReport } from './ev-battery.js';
import { simTicker } from './sim-ticker.js';

export interface SimulatedEvBatteryOptions {
  clock: Clock;
  capacityWh: number;
  socPercent: number;
  /** Time between two reports (ms). */
  periodMs?: number;
  /** The limits it reports (none: it leaves the configured ones). */
  limits?: Pick<EvBatteryReport, 'maxVoltageV' | 'maxCurrentA' | 'maxPowerW' | 'targetVoltageV'>;
  /** Misbehaviour for tests: report a fault, or say nothing at all. */
  faults?: { fault?: string; silent?: boolean };
}

export interface SimulatedEvBattery extends EvBattery {
  /** The commands received, in order. */
  readonly commands: EvBatteryCommand[];
  /** The reports sent, in order. */
  readonly reports: EvBatteryReport[];
  faults: NonNullable<SimulatedEvBatteryOptions['faults']>;
  limits: NonNullable<SimulatedEvBatteryOptions['limits']>;
  close(): void;
}

export function createSimulatedEvBattery(options: SimulatedEvBatteryOptions): SimulatedEvBattery {
  const { clock, capacityWh } = options;
  const periodMs = options.periodMs ?? 100;
  let levelWh = (options.socPercent / 100) * capacityWh;
  let last: EvBatteryCommand = { charging: false, voltageV: 0, currentA: 0 };

  const report = (): EvBatteryReport | undefined => {
    // Energy of the last period at the last command (contactor closed only while charging).
    if (last.charging) levelWh = Math.min(capacityWh, levelWh + Math.max(0, (last.voltageV * last.currentA * periodMs) / 3_600_000));
    if (self.faults.silent) return undefined;
    const r: EvBatteryReport = {
      socPercent: (levelWh / capacityWh) * 100,
      ...self.limits,
      voltageV: last.charging ? last.voltageV : 0,
      currentA: last.charging ? last.currentA : 0,
      contactorClosed: last.charging,
      ...(self.faults.fault ? { fault: self.faults.fault } : {}),
    };
    self.reports.push(r);
    return r;
  };
  // It reports from the start, charging or not.
  const ticker = simTicker(clock, periodMs, report);
  ticker.start();

  const self: SimulatedEvBattery = {
    commands: [],
    reports: [],
    faults: { ...options.faults },
    limits: { ...options.limits },
    command(c) {
      self.commands.push(c);
      last = c;
    },
    onReport: ticker.listen,
    close: ticker.close,
  };
  return self;
}
