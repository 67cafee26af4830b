/**
 * The EV's battery behind an external EvBattery (here the simulated one, made to misbehave), on
 * the simulated module pair and the virtual clock: a whole session on the battery's reports, its
 * limits never raising the configured ones, and a fault or silence stopping the session in time.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatedEvBattery, type SimulatedEvBattery } from '../../machines/ev-battery-sim.js';
import { SMALL_BATTERY } from '../helpers/stations.js';
import { deviceStationsRig } from '../helpers/test-rigs.js';

const startWith = deviceStationsRig();

type Options = { limits?: SimulatedEvBattery['limits']; silent?: boolean; silenceTimeoutMs?: number };

function start(o: Options = {}) {
  const r = startWith(
    'EV',
    (clock) => createSimulatedEvBattery({ clock, capacityWh: 1000, socPercent: 50, periodMs: 100, ...(o.limits ? { limits: o.limits } : {}), faults: { silent: o.silent === true } }),
    (battery) => ({ battery: { battery, silenceTimeoutMs: o.silenceTimeoutMs ?? 2000 } }),
  );
  const updates = () => r.sent.filter((s) => s.name === 'V2g.EvUpdateDcChargingParameters' || s.name === 'V2g.EvSetDcChargingParameters');
  return { ...r, battery: r.device, updates };
}

describe('EV battery behind an EvBattery', () => {
  it('charges on the battery: SOC from its reports, commands with the EVSE output, contactor opened after', async () => {
    const r = start();
    expect(await r.until(() => r.records('EV').length >= 1)).toBe(true);
    const [rec] = r.records('EV');
    expect(rec).toMatchObject({ stopReason: 'targetSocReached', socStartPercent: 50 });
    expect(rec?.socEndPercent).toBeGreaterThanOrEqual(80);
    // Its reports were the SOC the EV sent (the simulated model would start from 50 % too, but
    // only the external battery moved: it integrates what the commands said).
    expect(r.battery.reports.at(-1)?.socPercent).toBeGreaterThanOrEqual(80);
    const charging = r.battery.commands.filter((c) => c.charging);
    expect(charging.some((c) => c.currentA > 0 && c.voltageV > 0)).toBe(true);
    expect(r.battery.commands.at(-1)).toMatchObject({ charging: false });
    expect(r.logs('EV')).toContain('Battery ok');
  });

  it('whatever limits the battery reports, the EV asks for no more than its configuration', async () => {
    const r = start({ limits: { maxVoltageV: 2000, maxCurrentA: 1000, maxPowerW: 1_000_000, targetVoltageV: 900 } });
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    await r.wait(5000);
    const ups = r.updates();
    expect(ups.length).toBeGreaterThan(3);
    for (const u of ups) {
      expect(u.fields.maxVoltageV).toBeLessThanOrEqual(SMALL_BATTERY.maxVoltageV);
      expect(u.fields.maxPowerW).toBeLessThanOrEqual(SMALL_BATTERY.maxPowerW);
      expect(u.fields.maxCurrentA).toBeLessThanOrEqual(100);
      expect(u.fields.targetVoltageV).toBeLessThanOrEqual(SMALL_BATTERY.maxVoltageV);
    }
  });

  it('lower limits from the battery lower what the EV requests', async () => {
    const r = start({ limits: { maxCurrentA: 10 } });
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    await r.wait(5000);
    const charging = r.updates().filter((u) => u.name === 'V2g.EvUpdateDcChargingParameters');
    expect(charging.length).toBeGreaterThan(3);
    for (const u of charging) {
      expect(u.fields.maxCurrentA).toBe(10);
      expect(u.fields.targetCurrentA).toBeLessThanOrEqual(10);
    }
  });

  it('a battery fault while charging: Stop Charging at once, 0 A asked, reason recorded, no new session until ok', async () => {
    const r = start();
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    await r.wait(3000);
    r.battery.faults.fault = 'cell overtemperature';
    const faultAt = r.clock.now();
    expect(await r.until(() => r.sent.some((s) => s.at >= faultAt && s.name === 'V2g.EvStopCharging'), 5000)).toBe(true);
    const stopAt = r.sent.find((s) => s.at >= faultAt && s.name === 'V2g.EvStopCharging')?.at ?? Number.POSITIVE_INFINITY;
    // The next report (100 ms period) carries the fault; Stop Charging follows in the same step.
    expect(stopAt - faultAt).toBeLessThanOrEqual(200);
    // Any parameter update from now on asks for nothing: the limits in force are 0 A, 0 W.
    const limits = (r.ev.system.get('battery')?.getSnapshot() as { context: { config: { maxCurrentA: number; maxPowerW: number } } }).context.config;
    expect(limits).toMatchObject({ maxCurrentA: 0, maxPowerW: 0 });
    expect(await r.until(() => r.records('EV').length >= 1, 60_000)).toBe(true);
    expect(r.records('EV')[0]?.stopReason).toBe('batteryFault');
    expect(r.logs('EV')).toContain('Battery fault (batteryFault: cell overtemperature): requesting 0 A, no charging until it reports ok');
    // Still in fault: no new session, whatever the EVSE does meanwhile.
    const sessionsStarted = r.sent.filter((s) => s.name === 'V2g.EvStartSession').length;
    await r.wait(30_000);
    expect(r.sent.filter((s) => s.name === 'V2g.EvStartSession').length).toBe(sessionsStarted);
  });

  it('a battery that falls silent while charging stops the session within the silence bound', async () => {
    const r = start({ silenceTimeoutMs: 2000 });
    expect(await r.until(() => r.phases().includes('charging'))).toBe(true);
    await r.wait(3000);
    r.battery.faults.silent = true;
    const lastReportAt = r.clock.now();
    await r.wait(1800);
    expect(r.sent.some((s) => s.at >= lastReportAt && s.name === 'V2g.EvStopCharging')).toBe(false);
    expect(await r.until(() => r.sent.some((s) => s.at >= lastReportAt && s.name === 'V2g.EvStopCharging'), 1000)).toBe(true);
    const stopAt = r.sent.find((s) => s.at >= lastReportAt && s.name === 'V2g.EvStopCharging')?.at ?? Number.POSITIVE_INFINITY;
    expect(stopAt - lastReportAt).toBeLessThanOrEqual(2200);
    expect(await r.until(() => r.records('EV').length >= 1, 60_000)).toBe(true);
    expect(r.records('EV')[0]?.stopReason).toBe('batteryNotResponding');
  });

  it('no session before the battery has reported; the first report lets it start', async () => {
    const r = start({ silent: true });
    await r.wait(20_000);
    expect(r.sent.some((s) => s.name === 'V2g.EvStartSession')).toBe(false);
    expect(r.logs('EV')).toContain('Battery fault (batteryNotResponding: no report for 2000 ms): requesting 0 A, no charging until it reports ok');
    r.battery.faults.silent = false;
    expect(await r.until(() => r.phases().includes('charging'), 120_000)).toBe(true);
  });
});
