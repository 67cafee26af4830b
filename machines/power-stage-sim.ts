/**
 * A simulated power stage behind the PowerStage contract: it moves toward the setpoint at the
 * setpoint's ramp limits (output 0 while disabled) and reports a measurement every `periodMs`
 * on the injected clock. The charger's built-in model (machines/charger.ts) stays the default;
 * this one stands in for real power electronics, e.g. behind a fake MQTT supply or in tests, and
 * `faults` lets a test make it misbehave.
 */
import type { Clock } from '../util/clock.js';
import type { PowerStage, PowerStageMeasurement, PowerStageSetpoint } from './power-stage.js';
import { simTicker } from './sim-ticker.js';

export interface SimulatedPowerStageOptions {
  clock: Clock;
  /** Time between two measurements (ms). */
  periodMs?: number;
  /** Misbehaviour for tests: ignore disables (output stays), report a fault, or a fixed isolation result ('invalid': never one). */
  faults?: { ignoreDisable?: boolean; fault?: string; isolation?: PowerStageMeasurement['isolation'] };
}

export interface SimulatedPowerStage extends PowerStage {
  /** The setpoints received, in order. */
  readonly setpoints: PowerStageSetpoint[];
  /** Change the misbehaviour while running. */
  faults: NonNullable<SimulatedPowerStageOptions['faults']>;
  close(): void;
}

const step = (from: number, to: number, max: number): number => (from < to ? Math.min(to, from + max) : Math.max(to, from - max));

export function createSimulatedPowerStage(options: SimulatedPowerStageOptions): SimulatedPowerStage {
  const { clock } = options;
  const periodMs = options.periodMs ?? 50;
  let target: PowerStageSetpoint = { enabled: false, voltageV: 0, currentA: 0, voltageRampVPerMs: 0, currentRampAPerMs: 0, isolationCheck: false };
  let voltageV = 0;
  let currentA = 0;

  const measure = (): PowerStageMeasurement => {
    const stage = self.faults;
    const off = !target.enabled && !stage.ignoreDisable;
    voltageV = step(voltageV, off ? 0 : target.voltageV, target.voltageRampVPerMs * periodMs);
    // Disabled, the stage cuts its current at once (the ramp limits are for following setpoints).
    currentA = off ? 0 : step(currentA, target.currentA, target.currentRampAPerMs * periodMs);
    // Its isolation monitor finds the cable sound when asked, unless told otherwise.
    const isolation = stage.isolation ?? (target.isolationCheck ? 'valid' : undefined);
    return { voltageV, currentA, ...(isolation ? { isolation } : {}), ...(stage.fault ? { fault: stage.fault } : {}) };
  };
  // Measuring starts with the first setpoint.
  const ticker = simTicker(clock, periodMs, measure);

  const self: SimulatedPowerStage = {
    setpoints: [],
    faults: { ...options.faults },
    setpoint(sp) {
      self.setpoints.push(sp);
      target = sp;
      ticker.start();
    },
    onMeasured: ticker.listen,
    close: ticker.close,
  };
  return self;
}
