/**
 * The EVSE charger behind an external PowerStage (here the simulated one, made to misbehave),
 * on the simulated module pair and the virtual clock: a whole session on measured values, and
 * the safety invariant when the stage reports a fault or does not confirm 0 A after a disable.
 */
import { describe, expect, it } from 'vitest';
import { cableCheckTimeoutMs } from '../../machines/cable-check.js';
import { createSimulatedPowerStage } from '../../machines/power-stage-sim.js';
import { deviceStationsRig } from '../helpers/test-rigs.js';

const startWith = deviceStationsRig();

function start(offConfirmTimeoutMs = 1000) {
  const r = startWith(
    'EVSE',
    (clock) => createSimulatedPowerStage({ clock, periodMs: 50 }),
    (stage) => ({ powerStage: { stage, offConfirmTimeoutMs } }),
  );
  const charger = () => r.evse.system.get('charger')?.getSnapshot() as { context: { active: boolean; targetCurrentA: number } };
  const available = () => (r.evse.getSnapshot().context as { available: boolean }).available;
  return { ...r, stage: r.device, charger, available };
}

describe('EVSE charger behind a PowerStage', () => {
  it('runs a whole session on the stage: setpoints out, measured values back as present output', async () => {
    const r = start();
    expect(await r.until(() => r.records('EVSE').length >= 1 && r.records('EV').length >= 1)).toBe(true);
    const [rec] = r.records('EVSE');
    expect(rec).toMatchObject({ stopReason: 'evStopped' });
    expect(rec?.error).toBeUndefined();
    expect(rec?.energyDeliveredWh).toBeGreaterThan(250);
    // The stage was commanded: enabled with a current, then disabled with 0 A, ramp limits included.
    const enabled = r.stage.setpoints.filter((s) => s.enabled);
    expect(enabled.some((s) => s.currentA > 0 && s.voltageRampVPerMs > 0)).toBe(true);
    expect(r.stage.setpoints.at(-1)).toMatchObject({ enabled: false, voltageV: 0, currentA: 0 });
    // The station served the car and stayed available (the stage confirmed 0 A in time).
    await r.wait(2000);
    expect(r.available()).toBe(true);
    expect(r.logs('EVSE').some((l) => l.startsWith('Power stage fault'))).toBe(false);
  });

  it('a stage reporting a fault while charging ends the session at once: output 0, EvseStopCharging, reason recorded', async () => {
    const r = start();
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    await r.wait(5000);
    const faultAt = r.clock.now();
    r.stage.faults.fault = 'overtemperature';
    expect(await r.until(() => r.records('EVSE').length >= 1, 60_000)).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'powerStageFault' });
    expect(r.charger().context.active).toBe(false);
    expect(r.sent.some((s) => s.at >= faultAt && s.name === 'V2g.EvseStopCharging')).toBe(true);
    expect(r.logs('EVSE')).toContain('Power stage fault (powerStageFault: overtemperature): output to 0, station disabled until enabled');
    expect(r.available()).toBe(false);
  });

  it("reports the stage's isolation result to the EV after the cable check (valid when it has none)", async () => {
    const r = start();
    r.stage.faults.isolation = 'warning';
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    const levels = r.sent.filter((s) => s.name === 'V2g.EvseUpdateDcChargingParameters').map((s) => s.fields.isolationLevel);
    // invalid (0) before the cable check, then the stage's warning (2).
    expect(levels[0]).toBe(0);
    expect(levels.at(-1)).toBe(2);
  });

  it('an isolation fault is a stage fault', async () => {
    const r = start();
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    r.stage.faults.isolation = 'fault';
    expect(await r.until(() => r.records('EVSE').length >= 1, 60_000)).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'powerStageFault' });
    expect(r.logs('EVSE').some((l) => l.includes('isolation fault'))).toBe(true);
  });

  it('a stage that does not confirm 0 A within the bound after a disable is a fault', async () => {
    const r = start(1000);
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    r.stage.faults.ignoreDisable = true;
    // The session ends normally (the EV stops); the stage keeps its current after the disable.
    expect(await r.until(() => r.stage.setpoints.at(-1)?.enabled === false && r.charger().context.active === false)).toBe(true);
    const disabledAt = r.clock.now();
    await r.wait(900);
    expect(r.logs('EVSE').some((l) => l.startsWith('Power stage fault'))).toBe(false);
    await r.wait(200);
    expect(r.logs('EVSE').some((l) => l.startsWith('Power stage fault (powerStageNotOff'))).toBe(true);
    expect(r.available()).toBe(false);
    expect(r.clock.now() - disabledAt).toBeLessThan(1200);
    // Whatever the session was doing then, it ended and the module was told to stop charging.
    expect(await r.until(() => r.records('EVSE').length >= 1, 60_000)).toBe(true);
    expect(r.sent.some((s) => s.name === 'V2g.EvseStopCharging')).toBe(true);
    expect(r.charger().context.active).toBe(false);
  });
});

describe('cable check waits for the power stage isolation result', () => {
  it("bounds the wait by the stage's limit and, with a margin, by the module's own timeout", () => {
    expect(cableCheckTimeoutMs(38_000, undefined)).toBe(10_000);
    expect(cableCheckTimeoutMs(38_000, 60_000)).toBe(37_000);
    // The manual's example: 500 ms to answer, so at most half of it is spent waiting.
    expect(cableCheckTimeoutMs(500, undefined)).toBe(250);
    expect(cableCheckTimeoutMs(Number.NaN, 3000)).toBe(3000);
  });

  const cableCheckAnswers = (r: ReturnType<typeof start>) => r.sent.filter((s) => s.name === 'V2g.EvseSetCableCheckFinished');

  it('answers only after the stage was asked for a check and reported valid', async () => {
    const r = start();
    let askedAt: number | undefined;
    const setpoint = r.stage.setpoint.bind(r.stage);
    r.stage.setpoint = (sp) => {
      if (sp.isolationCheck && askedAt === undefined) askedAt = r.clock.now();
      setpoint(sp);
    };
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    const asked = r.stage.setpoints.findIndex((s) => s.isolationCheck);
    expect(asked).toBeGreaterThanOrEqual(0);
    // Output stays disabled during the check; the check flag is dropped once answered.
    expect(r.stage.setpoints[asked]).toMatchObject({ enabled: false, currentA: 0 });
    expect(r.stage.setpoints.slice(asked).some((s) => !s.isolationCheck)).toBe(true);
    const [answer, ...more] = cableCheckAnswers(r);
    expect(more).toHaveLength(0);
    expect(answer?.fields).toMatchObject({ result: 0 });
    // Not at once: the stage's next measurement (50 ms period) carried the result.
    expect(askedAt).toBeDefined();
    expect(answer?.at).toBeGreaterThan(askedAt ?? Number.POSITIVE_INFINITY);
    expect(r.charger().context.active).toBe(true);
  });

  it('an isolation fault fails the cable check: answered "failed", no energy ever enabled, the session ends', async () => {
    const r = start();
    expect(await r.until(() => r.phases().includes('cableCheck'))).toBe(true);
    r.stage.faults.isolation = 'fault';
    expect(await r.until(() => r.records('EVSE').length >= 1, 120_000)).toBe(true);
    expect(cableCheckAnswers(r).map((a) => a.fields.result)).toEqual([1]);
    expect(r.stage.setpoints.some((s) => s.enabled)).toBe(false);
    expect(r.phases()).not.toContain('preCharge');
    expect(r.records('EVSE')[0]?.stopReason).toBe('isolationFault');
    expect(r.logs('EVSE')).toContain('Cable check failed (isolation fault): ending the session');
  });

  it('a stage with no result (only "invalid") fails the check after the bound, not before', async () => {
    const r = start();
    r.stage.faults.isolation = 'invalid';
    expect(await r.until(() => r.phases().includes('cableCheck'))).toBe(true);
    const from = r.clock.now();
    await r.wait(9_800);
    expect(cableCheckAnswers(r)).toHaveLength(0);
    expect(await r.until(() => cableCheckAnswers(r).length > 0, 1_000)).toBe(true);
    expect(r.clock.now() - from).toBeLessThanOrEqual(10_200);
    expect(cableCheckAnswers(r)[0]?.fields).toMatchObject({ result: 1 });
    expect(await r.until(() => r.records('EVSE').length >= 1, 120_000)).toBe(true);
    expect(r.records('EVSE')[0]?.stopReason).toBe('isolationTimeout');
    expect(r.stage.setpoints.some((s) => s.enabled)).toBe(false);
  });
});
