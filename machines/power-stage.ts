/**
 * The power stage contract: what the EVSE's charger actor (systemId 'charger') asks of the power
 * electronics and what it needs back. Without a stage the charger simulates its own output
 * (machines/charger.ts, the default); with one, the charger sends every change of its commanded
 * output as a setpoint and reports the stage's measured voltage and current as present values.
 *
 * Safety does not depend on the stage behaving: a stage that reports a fault (or an isolation
 * fault), or that does not confirm ~0 A within `offConfirmTimeoutMs` after being disabled, is a
 * fault of the charger, which drops its command to 0 and tells the station (`charger.fault`);
 * the station ends the session in progress (EvseStopCharging, stop reason recorded) and serves
 * no new car until enabled again. See docs/integration.md, "Power stage".
 *
 * Cable check: while the EVSE session waits for it, the setpoint carries `isolationCheck: true`;
 * the stage runs its isolation test and reports the result (`isolation`), which the session
 * waits for (machines/cable-check.ts) before it answers the module.
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';

/** The command to the stage; it holds the latest until the next one. */
export interface PowerStageSetpoint {
  enabled: boolean;
  voltageV: number;
  currentA: number;
  /** Ramp limits the stage respects on its way to the setpoint (the charger config's). */
  voltageRampVPerMs: number;
  currentRampAPerMs: number;
  /** The cable check waits for the stage's isolation result: run the isolation test now. */
  isolationCheck: boolean;
}

/** Isolation monitor result for the cable check (names of the ISO 15118 isolationLevel). */
export type IsolationResult = 'invalid' | 'valid' | 'warning' | 'fault';

export interface PowerStageMeasurement {
  voltageV: number;
  currentA: number;
  isolation?: IsolationResult;
  /** Set while the stage is in fault (any text naming it). */
  fault?: string;
}

export interface PowerStage {
  setpoint(setpoint: PowerStageSetpoint): void;
  /** Measurements as the stage reports them; returns the way to stop listening. */
  onMeasured(listener: (m: PowerStageMeasurement) => void): () => void;
}

/** A stage and the host's safety bounds for it (EvseStationOptions.powerStage). */
export interface PowerStageBinding {
  stage: PowerStage;
  /** After a disable, the stage must report at most `zeroCurrentA` within this time (default 1000 ms). */
  offConfirmTimeoutMs?: number;
  /** What counts as "no current" (default 1 A). */
  zeroCurrentA?: number;
  /**
   * The cable check waits at most this long for an isolation result (default 10000 ms; never
   * beyond the module's own cable check timeout, less a margin); none by then is a fault.
   */
  isolationTimeoutMs?: number;
}

export const POWER_STAGE_DEFAULTS = { offConfirmTimeoutMs: 1000, zeroCurrentA: 1, isolationTimeoutMs: 10_000 } as const;

export type PowerStageFaultReason = 'powerStageFault' | 'powerStageNotOff';

/** What the link tells the charger. */
export type PowerStageLinkEvent =
  | { type: 'charger.measured'; voltageV: number; currentA: number; isolation?: IsolationResult }
  | { type: 'charger.fault'; reason: PowerStageFaultReason; detail: string };

/** The charger as the link sees it: its commanded setpoint, following every change. */
export interface SetpointSource {
  subscribe(observer: () => void): { unsubscribe(): void };
  setpoint(): PowerStageSetpoint;
}

export interface PowerStageLinkInput {
  binding?: PowerStageBinding;
  clock: Clock;
  source: SetpointSource;
  /** The setpoint when the link starts (the charger's snapshot may not be readable yet). */
  initial: PowerStageSetpoint;
}

/** The setpoint for a charger's state and commanded output. */
export function setpointOf(
  s: { active: boolean; isolationCheck?: boolean; config: { voltageRampVPerMs: number; currentRampAPerMs: number } },
  output: { voltageV: number; currentA: number },
): PowerStageSetpoint {
  return { enabled: s.active, ...output, voltageRampVPerMs: s.config.voltageRampVPerMs, currentRampAPerMs: s.config.currentRampAPerMs, isolationCheck: s.isolationCheck === true };
}

const sameSetpoint = (a: PowerStageSetpoint | undefined, b: PowerStageSetpoint): boolean =>
  a !== undefined && a.enabled === b.enabled && a.voltageV === b.voltageV && a.currentA === b.currentA && a.isolationCheck === b.isolationCheck;

/**
 * Child of the charger: pushes setpoints to the stage, brings measurements back, and watches the
 * stage (faults, off confirmation). Without a binding it does nothing (the simulated charger).
 */
export const powerStageLink = fromCallback<{ type: 'none' }, PowerStageLinkInput>(({ input, sendBack }) => {
  const { binding, clock, source } = input;
  if (!binding) return undefined;
  const offTimeoutMs = binding.offConfirmTimeoutMs ?? POWER_STAGE_DEFAULTS.offConfirmTimeoutMs;
  const zeroA = binding.zeroCurrentA ?? POWER_STAGE_DEFAULTS.zeroCurrentA;
  let last: PowerStageSetpoint | undefined;
  let offTimer: TimerId | undefined;
  let offConfirmed = true;
  // One report per fault: latched until the next enable.
  let faultReported = false;

  const fault = (reason: PowerStageFaultReason, detail: string): void => {
    if (faultReported) return;
    faultReported = true;
    sendBack({ type: 'charger.fault', reason, detail });
  };
  const stopWatch = (): void => {
    if (offTimer !== undefined) clock.clearTimeout(offTimer);
    offTimer = undefined;
  };
  const push = (sp: PowerStageSetpoint = source.setpoint()): void => {
    if (sameSetpoint(last, sp)) return;
    const wasEnabled = last?.enabled === true;
    last = sp;
    if (sp.enabled && !wasEnabled) {
      faultReported = false;
      stopWatch();
    } else if (!sp.enabled && wasEnabled) {
      offConfirmed = false;
      stopWatch();
      offTimer = clock.setTimeout(() => {
        offTimer = undefined;
        if (!offConfirmed) fault('powerStageNotOff', `no confirmation of ${zeroA} A or less within ${offTimeoutMs} ms of the disable`);
      }, offTimeoutMs);
    }
    binding.stage.setpoint(sp);
  };
  const unlisten = binding.stage.onMeasured((m) => {
    if (!Number.isFinite(m.voltageV) || !Number.isFinite(m.currentA)) return;
    if (Math.abs(m.currentA) <= zeroA) offConfirmed = true;
    sendBack({ type: 'charger.measured', voltageV: m.voltageV, currentA: m.currentA, ...(m.isolation ? { isolation: m.isolation } : {}) });
    if (m.fault) fault('powerStageFault', m.fault);
    else if (m.isolation === 'fault') fault('powerStageFault', 'isolation fault');
  });
  const subscription = source.subscribe(() => push());
  push(input.initial);
  return () => {
    subscription.unsubscribe();
    unlisten();
    stopWatch();
  };
});
