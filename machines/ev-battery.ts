/**
 * The EV battery contract: what the EV station's battery actor (systemId 'battery') asks of the
 * car's real battery and load (its BMS, or an adapter in front of it) and what it needs back;
 * the EVSE side's counterpart is the PowerStage (power-stage.ts). Without one the battery is
 * simulated (machines/battery.ts, the default); with one, its reports set the SOC, the limits the
 * EV announces and requests within, and its measured voltage and current.
 *
 * Safety does not depend on the battery behaving: its limits only ever lower the configured
 * ones (the EV never asks for more than its configuration allows, whatever it reports); a report
 * with `fault`, or no report for `silenceTimeoutMs`, is a fault: the EV requests 0 A at once and
 * the station stops the session (Stop Charging while charging, Stop Session before) and starts no
 * new one until the battery reports without a fault again. See docs/integration.md, "EV battery".
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';
import type { BatteryConfig } from './config.js';

/** What the host tells the battery; it holds the latest until the next one. */
export interface EvBatteryCommand {
  /** Energy transfer: close the contactor and take the current (false: open, no current). */
  charging: boolean;
  /** What the EVSE says it delivers now. */
  voltageV: number;
  currentA: number;
}

/** What the battery reports, at least every `silenceTimeoutMs`. */
export interface EvBatteryReport {
  socPercent: number;
  /** Limits it accepts now; each only lowers the configured one. */
  maxVoltageV?: number;
  maxCurrentA?: number;
  maxPowerW?: number;
  /** The voltage it wants to be charged at (within its maximum). */
  targetVoltageV?: number;
  /** Measured at the battery. */
  voltageV?: number;
  currentA?: number;
  contactorClosed?: boolean;
  /** Set while the battery is in fault (any text naming it). */
  fault?: string;
}

export interface EvBattery {
  command(command: EvBatteryCommand): void;
  /** Reports as the battery sends them; returns the way to stop listening. */
  onReport(listener: (r: EvBatteryReport) => void): () => void;
}

/** A battery and the host's safety bound for it (EvStationOptions.battery). */
export interface EvBatteryBinding {
  battery: EvBattery;
  /** No report for this long is a fault (default 2000 ms). */
  silenceTimeoutMs?: number;
}

export const EV_BATTERY_DEFAULTS = { silenceTimeoutMs: 2000 } as const;

export type EvBatteryFaultReason = 'batteryFault' | 'batteryNotResponding';

/** What the link tells the battery actor (which passes faults and recovery on to the station). */
export type EvBatteryLinkEvent =
  | { type: 'battery.reported'; report: EvBatteryReport }
  | { type: 'battery.fault'; reason: EvBatteryFaultReason; detail: string }
  /** The first report, and the first one without a fault after a fault. */
  | { type: 'battery.ok' };

const finiteAtLeast0 = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && v >= 0;
const cap = (configured: number, reported: number | undefined): number => (finiteAtLeast0(reported) ? Math.min(configured, reported) : configured);

/**
 * The limits the EV works with: the configured ones lowered by the report, all 0 in fault (so
 * the next parameter update asks for no current).
 */
export function effectiveBatteryConfig(configured: BatteryConfig, report: EvBatteryReport | undefined, fault: boolean): BatteryConfig {
  if (!report) return fault ? { ...configured, maxCurrentA: 0, maxPowerW: 0 } : configured;
  const maxVoltageV = cap(configured.maxVoltageV, report.maxVoltageV);
  return {
    ...configured,
    maxVoltageV,
    maxCurrentA: fault ? 0 : cap(configured.maxCurrentA, report.maxCurrentA),
    maxPowerW: fault ? 0 : cap(configured.maxPowerW, report.maxPowerW),
    targetVoltageV: Math.min(maxVoltageV, finiteAtLeast0(report.targetVoltageV) ? report.targetVoltageV : configured.targetVoltageV),
  };
}

const sameCommand = (a: EvBatteryCommand | undefined, b: EvBatteryCommand): boolean => a !== undefined && a.charging === b.charging && a.voltageV === b.voltageV && a.currentA === b.currentA;

export interface EvBatteryLinkInput {
  binding?: EvBatteryBinding;
  clock: Clock;
  /** The battery actor as the link sees it: its command, following every change. */
  source: { subscribe(observer: () => void): { unsubscribe(): void }; command(): EvBatteryCommand };
  initial: EvBatteryCommand;
}

/**
 * Child of the battery actor: pushes commands, brings reports back, and watches the battery
 * (faults, silence). Without a binding it does nothing (the simulated battery).
 */
export const evBatteryLink = fromCallback<{ type: 'none' }, EvBatteryLinkInput>(({ input, sendBack }) => {
  const { binding, clock, source } = input;
  if (!binding) return undefined;
  const silenceMs = binding.silenceTimeoutMs ?? EV_BATTERY_DEFAULTS.silenceTimeoutMs;
  let last: EvBatteryCommand | undefined;
  let timer: TimerId | undefined;
  // Until the first report the battery is not ok (the station waits), but not yet in fault.
  let status: 'unknown' | 'ok' | 'fault' = 'unknown';

  // One report per fault: latched until the battery reports without one.
  const fault = (reason: EvBatteryFaultReason, detail: string): void => {
    if (status === 'fault') return;
    status = 'fault';
    sendBack({ type: 'battery.fault', reason, detail });
  };
  const watch = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = undefined;
      fault('batteryNotResponding', `no report for ${silenceMs} ms`);
    }, silenceMs);
  };
  const push = (c: EvBatteryCommand = source.command()): void => {
    if (sameCommand(last, c)) return;
    last = c;
    binding.battery.command(c);
  };
  const unlisten = binding.battery.onReport((r) => {
    if (!Number.isFinite(r.socPercent)) return;
    watch();
    sendBack({ type: 'battery.reported', report: r });
    if (r.fault) return fault('batteryFault', r.fault);
    if (status !== 'ok') {
      status = 'ok';
      sendBack({ type: 'battery.ok' });
    }
  });
  const subscription = source.subscribe(() => push());
  push(input.initial);
  watch();
  return () => {
    subscription.unsubscribe();
    unlisten();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});
