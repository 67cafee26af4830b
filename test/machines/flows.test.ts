/**
 * The charging flows of issue 10 end to end, both stations on the simulated pair: AC single- and
 * three-phase, DIN 70121, renegotiation from either side, limits changed while charging, and the
 * EV's stop on AC values out of its range. The safety invariant is checked on every frame.
 */
import { describe, expect, it } from 'vitest';
import { EnergyTransferMode as M } from '../../codec/modules/v2g/common.js';
import { type Run, ended, start } from '../helpers/sim-run.js';

const charging =
  (r: Run, n = 1) =>
  () =>
    r.logs('EV').filter((l) => l === '"Charging Started" received').length >= n;
const sent = (r: Run, station: 'EVSE' | 'EV', name: string) => r.tx[station].filter((m) => m.message === name);

describe('AC sessions', () => {
  it.each([
    ['acSinglePhase', M.acSinglePhase, 1],
    ['acThreePhase', M.acThreePhase, 3],
  ] as const)('%s: both records say so, both sides count the same energy, the loop updates AC parameters', async (name, mode, phases) => {
    const r = start({ evse: { energyTransferModes: [M.acSinglePhase, M.acThreePhase] }, ev: { energyTransferModes: [mode] } });
    expect(await r.until(ended(r))).toBe(true);
    const [evse] = r.records('EVSE');
    const [ev] = r.records('EV');
    expect(evse).toMatchObject({ energyTransferMode: name, stopReason: 'evStopped' });
    expect(ev).toMatchObject({ energyTransferMode: name, stopReason: 'targetSocReached', socStartPercent: 50 });
    expect(evse?.error).toBeUndefined();
    expect(ev?.energyDeliveredWh).toBeGreaterThan(250);
    expect(Math.abs((evse?.energyDeliveredWh ?? 0) - (ev?.energyDeliveredWh ?? 0))).toBeLessThan(0.05 * (ev?.energyDeliveredWh ?? 1));
    // 12 kW battery at the EVSE's 400 V nominal: 30 A on one phase, 10 A on each of three.
    const evUpdates = sent(r, 'EV', 'EvUpdateAcChargingParameters');
    expect(evUpdates.length).toBeGreaterThan(5);
    expect(evUpdates.at(-1)?.fields).toMatchObject({ maxCurrentA: 30 / phases });
    expect(sent(r, 'EVSE', 'EvseUpdateAcChargingParameters').length).toBeGreaterThan(5);
    // The module's deadline on the virtual clock (the record's longestUpdateGapMs is host real time,
    // which a loaded machine stretches): consecutive AC updates while charging stay within 250 ms.
    const updateTimes = r.tx.EVSE.flatMap((m, i) => (m.message === 'EvseUpdateAcChargingParameters' ? [r.txAtEvse[i] ?? 0] : []));
    const gaps = updateTimes.slice(1).map((t, i) => t - (updateTimes[i] ?? t));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(250);
    expect(r.violations).toEqual([]);
  });

  it('an AC-only car charges at a station that does not offer dc_core (no error 19)', async () => {
    const r = start({ evse: { energyTransferModes: [M.acThreePhase] }, ev: { energyTransferModes: [M.acThreePhase] } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ energyTransferMode: 'acThreePhase', stopReason: 'evStopped' });
    expect(r.records('EVSE')[0]?.error).toBeUndefined();
  });

  it('the car stops the session when the EVSE nominal voltage is above its AC maximum (reference Ev.py)', async () => {
    const r = start({ evse: { energyTransferModes: [M.acSinglePhase] }, ev: { energyTransferModes: [M.acSinglePhase], battery: { maxVoltageAcV: 300 } } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EV')[0]).toMatchObject({ stopReason: 'acVoltageOutOfRange' });
    expect(r.logs('EV')).toContain('AC values refused (acVoltageOutOfRange): stopping');
    expect(r.records('EVSE')[0]?.energyDeliveredWh ?? 0).toBe(0);
    expect(r.violations).toEqual([]);
  });
});

describe('DIN 70121', () => {
  it('runs a DC session in DIN 70121: the protocol and the DIN EVSE ID reach both hosts and records', async () => {
    const r = start({ evse: { protocols: [0, 1] }, ev: { protocols: [0], energyTransferModes: [M.dcCore] } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ protocol: 'DIN70121', evseId: '+49*123*456*789', energyTransferMode: 'dcCore', stopReason: 'evStopped' });
    expect(r.records('EV')[0]).toMatchObject({ protocol: 'DIN70121', evseId: '+49*123*456*789', stopReason: 'targetSocReached' });
    expect(r.logs('EV')).toContain('\tProtocol: DIN70121');
    // 18.10.13: DIN 70121 schedule entries carry at most 32767 W.
    const schedules = sent(r, 'EVSE', 'EvseSetSchedules')[0]?.fields as { scheduleTuples: Array<{ entries: Array<{ powerW: number }> }> };
    expect(schedules.scheduleTuples[0]?.entries.every((e) => e.powerW <= 32_767)).toBe(true);
    expect(r.violations).toEqual([]);
  });
});

describe('renegotiation and limits while charging', () => {
  it.each(['EVSE', 'EV'] as const)('%s-initiated renegotiation: new schedules, charging goes on to the target SOC', async (side) => {
    const r = start();
    expect(await r.until(charging(r))).toBe(true);
    await r.until(() => false, 5_000);
    (side === 'EVSE' ? r.evse : r.ev).send({ type: 'renegotiate' });
    expect(await r.until(charging(r, 2), 60_000)).toBe(true);
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ renegotiations: 1, stopReason: 'evStopped' });
    expect(r.records('EV')[0]).toMatchObject({ stopReason: 'targetSocReached' });
    expect(r.records('EV')[0]?.socEndPercent).toBeGreaterThanOrEqual(80);
    expect(sent(r, 'EVSE', 'EvseSetSchedules')).toHaveLength(2);
    if (side === 'EVSE') expect(sent(r, 'EVSE', 'EvseSendNotification')[0]?.fields).toMatchObject({ renegotiation: true });
    else expect(sent(r, 'EV', 'EvStopCharging')[0]?.fields).toMatchObject({ renegotiation: true });
    expect(r.violations).toEqual([]);
  });

  it('setLimits while charging: the next update carries them to the car and the output follows', async () => {
    const r = start();
    expect(await r.until(charging(r))).toBe(true);
    await r.until(() => false, 5_000);
    r.evse.send({ type: 'setLimits', maxPowerW: 3000, maxCurrentA: 20 });
    await r.until(() => false, 5_000);
    const last = sent(r, 'EVSE', 'EvseUpdateDcChargingParameters').at(-1);
    expect(last?.fields).toMatchObject({ maxPowerW: 3000, maxCurrentA: 20 });
    const carSaw = r.emitted.EV.some((e) => e.type === 'log' && e.text === '"DC Charge Parameters Changed" received' && (e.data as { maxPowerW?: number } | undefined)?.maxPowerW === 3000);
    expect(carSaw).toBe(true);
    const samples = r.emitted.EVSE.flatMap((e) => (e.type === 'sample' ? [e] : []));
    expect(samples.at(-1)?.powerW ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(3000 + 1);
    expect(r.violations).toEqual([]);
  });
});
