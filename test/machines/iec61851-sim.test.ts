/**
 * IEC 61851 on the EVSE's output, end to end on the simulated pair (virtual clock): the car asks
 * at most 2 A in pre-charge and the EVSE delivers at most 2 A whatever it asks (IEC 61851-23
 * CC.6); the output goes to 0 when the car opens S2 (CP state B) while charging and the V2G
 * session goes on (IEC 61851-1). machines/charger-gates.ts.
 */
import { describe, expect, it } from 'vitest';
import { V2g } from '../../codec/catalog.js';
import { PRE_CHARGE_MAX_CURRENT_A, S2_CLOSED_TEXT, S2_OPEN_TEXT } from '../../machines/charger-gates.js';
import { S2_OPEN_END_MS } from '../../machines/v2g-evse/s2-open.js';
import { type ChargerState, outputAt } from '../../machines/charger.js';
import type { SampleEvent, StationEmitted } from '../../machines/station-events.js';
import { type Run, ended, start } from '../helpers/sim-run.js';

/** The EVSE's samples while its session is in `phase`. */
function samplesIn(emitted: StationEmitted[], phase: string): SampleEvent[] {
  let now = '';
  const out: SampleEvent[] = [];
  for (const e of emitted) {
    if (e.type === 'phase') now = e.phase;
    else if (e.type === 'sample' && now === phase) out.push(e);
  }
  return out;
}

const reached = (r: Run, phase: string) => () => r.emitted.EVSE.some((e) => e.type === 'phase' && e.phase === phase);
const evseOutput = (r: Run) => outputAt((r.evse.system.get('charger')?.getSnapshot() as { context: ChargerState }).context, r.clock.now());

describe('pre-charge current (IEC 61851-23 CC.6)', () => {
  it('the car asks at most 2 A in pre-charge and gets it; nothing to clamp, its full current in the charge loop', async () => {
    const r = start();
    expect(await r.until(ended(r))).toBe(true);
    const set = r.tx.EV.find((m) => m.message === 'EvSetDcChargingParameters');
    expect(set?.fields).toMatchObject({ targetCurrentA: PRE_CHARGE_MAX_CURRENT_A });
    const pre = samplesIn(r.emitted.EVSE, 'preCharge');
    expect(pre.length).toBeGreaterThan(0);
    expect(Math.max(...pre.map((s) => s.currentA))).toBeLessThanOrEqual(PRE_CHARGE_MAX_CURRENT_A);
    expect(Math.max(...samplesIn(r.emitted.EVSE, 'charging').map((s) => s.currentA))).toBeGreaterThan(20);
    expect(r.logs('EVSE').filter((l) => l.startsWith('Pre-charge:'))).toEqual([]);
    // A normal end opens S2 after the stop (Charging Stopped): no hold, no line.
    expect(r.logs('EVSE')).not.toContain(S2_OPEN_TEXT);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'evStopped' });
    expect(r.violations).toEqual([]);
  });

  it('a car asking 40 A in pre-charge gets 2 A, one log line, and charges normally after', async () => {
    const r = start();
    expect(await r.until(reached(r, 'preCharge'))).toBe(true);
    // The car's host raises its target for the next PreChargeReq (the module forwards it, 18.9.4).
    const set = r.tx.EV.find((m) => m.message === 'EvSetDcChargingParameters')?.fields as Record<string, number>;
    const keys = ['minVoltageV', 'minCurrentA', 'minPowerW', 'maxVoltageV', 'maxCurrentA', 'maxPowerW', 'socPercent', 'status', 'targetVoltageV'] as const;
    const update = Object.fromEntries(keys.map((k) => [k, set[k] ?? 0])) as Record<(typeof keys)[number], number>;
    void r.ev.getSnapshot().context.client.request(V2g.EvUpdateDcChargingParameters, { ...update, targetCurrentA: 40 });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.logs('EVSE').filter((l) => l.startsWith('Pre-charge:'))).toEqual(['Pre-charge: the EV asks 40 A, output limited to 2 A (IEC 61851-23 CC.6)']);
    const pre = samplesIn(r.emitted.EVSE, 'preCharge');
    expect(Math.max(...pre.map((s) => s.currentA))).toBe(PRE_CHARGE_MAX_CURRENT_A);
    expect(Math.max(...samplesIn(r.emitted.EVSE, 'charging').map((s) => s.currentA))).toBeGreaterThan(20);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'evStopped' });
    expect(r.violations).toEqual([]);
  });
});

describe('the car opens S2 while charging (IEC 61851-1)', () => {
  it('CP state B: output to 0 at once, the V2G session goes on; C again: output again; the session ends normally', async () => {
    const r = start();
    expect(await r.until(reached(r, 'charging'))).toBe(true);
    await r.clock.runUntil(() => false, 5_000, 100);
    expect(evseOutput(r).presentCurrentA).toBeGreaterThan(20);
    const cp = r.ev.system.get('cp');
    cp?.send({ type: 'cp.resistor', level: 'B' });
    await r.clock.runUntil(() => false, 1_200, 100);
    expect(r.logs('EVSE')).toContain(S2_OPEN_TEXT);
    expect(evseOutput(r).presentCurrentA).toBe(0);
    // Not ended for this (within S2_OPEN_END_MS): still charging as far as V2G goes, the updates go on.
    expect(r.records('EVSE')).toEqual([]);
    const updatesBefore = r.tx.EVSE.filter((m) => m.message === 'EvseUpdateDcChargingParameters').length;
    await r.clock.runUntil(() => false, S2_OPEN_END_MS - 1_500, 100);
    expect(r.records('EVSE')).toEqual([]);
    expect(evseOutput(r).presentCurrentA).toBe(0);
    expect(r.tx.EVSE.filter((m) => m.message === 'EvseUpdateDcChargingParameters').length).toBeGreaterThan(updatesBefore);
    cp?.send({ type: 'cp.resistor', level: 'C' });
    await r.clock.runUntil(() => false, 3_000, 100);
    expect(r.logs('EVSE')).toContain(S2_CLOSED_TEXT);
    expect(evseOutput(r).presentCurrentA).toBeGreaterThan(20);
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'evStopped' });
    expect(r.records('EVSE')[0]?.error).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('S2 open longer than S2_OPEN_END_MS ends the session (output 0, record evLeftStateC, Stop Charging and Stop Listen)', async () => {
    const r = start();
    expect(await r.until(reached(r, 'charging'))).toBe(true);
    await r.clock.runUntil(() => false, 5_000, 100);
    const openedAt = r.clock.now();
    r.ev.system.get('cp')?.send({ type: 'cp.resistor', level: 'B' });
    expect(await r.clock.runUntil(() => r.records('EVSE').length > 0, S2_OPEN_END_MS + 2_000, 100)).toBe(true);
    expect(r.clock.now() - openedAt).toBeGreaterThanOrEqual(S2_OPEN_END_MS);
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'evLeftStateC' });
    expect(evseOutput(r).presentCurrentA).toBe(0);
    const sent = r.tx.EVSE.map((m) => m.message);
    expect(sent).toContain('EvseStopCharging');
    expect(sent).toContain('EvseStopListen');
  });
});
