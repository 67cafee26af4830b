/**
 * Whole sessions through both simulated modules, driven by scripted hosts (codec + memory
 * transport, not the machines), on a virtual clock: every status message each host receives,
 * in order, with the values the other side's host configured (manual 18.11, 18.12, 21.8, 21.9).
 */
import { describe, expect, it } from 'vitest';
import { V2g } from '../../codec/catalog.js';
import { runEvseStub, runEvStub } from '../../sim/stub-stations.js';
import { collapsed, setup } from '../helpers/sim-helpers.js';

const EV_ID = Uint8Array.of(0xc4, 0x93, 0x00, 0x33, 0x33, 0x33);
const stopped = (t: ReturnType<typeof setup>) => () => t.ev.types().includes('V2g.EvSessionStopped') && t.evse.types().includes('V2g.EvseSessionStopped');

const one = (t: ReturnType<typeof setup>, side: 'ev' | 'evse', type: string) => {
  const s = t[side].statuses.find((x) => x.type === type);
  expect(s, `${side} got ${type}`).toBeDefined();
  return s?.fields ?? {};
};

describe('DC session (21.8, 21.9) between the simulated modules', () => {
  it('produces exactly the status messages of 18.11 and 18.12, in order, with the hosts values', async () => {
    const t = setup({ cable: { plugInAfterMs: 1000 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 2000, targetVoltageV: 400, targetCurrentA: 50 }));
    expect(await t.clock.runUntil(stopped(t), 120_000)).toBe(true);
    expect(t.errors).toEqual([]);
    expect(t.problems).toEqual([]);

    expect(collapsed(t.evse.types())).toEqual([
      'ControlPilot.StateChanged', // B: car plugged in
      'Slac.SlacSuccess',
      'V2g.EvseSessionStarted',
      'V2g.EvsePaymentSelected',
      'V2g.EvseAuthorizationStatusRequested',
      'V2g.EvseEnergyTransferModeSelected',
      'V2g.EvseSchedulesRequested',
      'ControlPilot.StateChanged', // C: the car closed S2 before the cable check
      'V2g.EvseCableCheckRequested',
      'V2g.EvseDcChargeParametersChanged x2',
      'V2g.EvsePreChargeStarted',
      'V2g.EvseDcChargeParametersChanged x2',
      'V2g.EvseStartChargingRequested',
      'V2g.EvseDcChargeParametersChanged x10', // 2 s of current demand, one per 220 ms
      'V2g.EvseStopChargingRequested',
      'V2g.EvseWeldingDetectionStarted',
      'V2g.EvseDcChargeParametersChanged',
      'ControlPilot.StateChanged', // B: the car opened S2 on its Session Stopped...
      'V2g.EvseSessionStopped', // ...which it had before the EVSE host is told (after SessionStopRes)
    ]);
    expect(collapsed(t.ev.types())).toEqual([
      'ControlPilot.StateChanged',
      'ControlPilot.DutyCycleChanged x2', // 100 % at plug-in, then 5 %
      'Slac.SlacSuccess',
      'V2g.EvSessionStarted',
      'V2g.EvScheduleReceived',
      'V2g.EvDcChargeParametersChanged',
      'V2g.EvCableCheckReady',
      'ControlPilot.StateChanged',
      'V2g.EvDcChargeParametersChanged x2',
      'V2g.EvCableCheckFinished',
      'V2g.EvPreChargingReady',
      'V2g.EvDcChargeParametersChanged x2',
      'V2g.EvChargingReady',
      'V2g.EvChargingStarted',
      'V2g.EvDcChargeParametersChanged x10',
      'V2g.EvChargingStopped',
      'V2g.EvPostChargingReady',
      'V2g.EvSessionStopped',
      'ControlPilot.StateChanged',
      'ControlPilot.DutyCycleChanged', // the EVSE host back at 100 % after its Session Stopped
    ]);

    // Values cross the cable: what one host configured, the other host reads.
    const started = one(t, 'evse', 'V2g.EvseSessionStarted');
    expect(started).toMatchObject({ protocol: 1, evccId: EV_ID });
    const evStarted = one(t, 'ev', 'V2g.EvSessionStarted');
    expect(evStarted).toMatchObject({ selectedProtocol: 1, evseId: 'DE*A23*E45B*78C', selectedPaymentMethod: 0, selectedEnergyTransferMode: 1 });
    expect(evStarted.sessionId).toEqual(started.sessionId);
    expect(one(t, 'evse', 'V2g.EvseAuthorizationStatusRequested')).toEqual({ timeoutMs: 60_000 });
    expect(one(t, 'evse', 'V2g.EvseEnergyTransferModeSelected')).toEqual({
      departureTimeS: 3600,
      energyRequestWh: 20_000,
      maxVoltageV: 450,
      minCurrentA: 0,
      maxCurrentA: 100,
      maxPowerW: 45_000,
      selectedEnergyTransferMode: 1,
      dcParameters: { energyCapacityWh: 40_000, fullSocPercent: 100, bulkSocPercent: 80, ready: true, errorCode: 0, socPercent: 50 },
    });
    expect(one(t, 'evse', 'V2g.EvseSchedulesRequested')).toEqual({ timeoutMs: 5000, maxEntries: 20 });
    expect(one(t, 'ev', 'V2g.EvScheduleReceived')).toEqual({
      scheduleTuples: [{ scheduleTupleId: 1, entries: [{ startS: 0, intervalS: 86_400, powerW: 50_000 }] }],
    });
    expect(one(t, 'ev', 'V2g.EvDcChargeParametersChanged')).toEqual({
      minVoltageV: 150,
      minCurrentA: 0,
      minPowerW: 0,
      maxVoltageV: 500,
      maxCurrentA: 125,
      maxPowerW: 50_000,
      presentVoltageV: 0,
      presentCurrentA: 0,
      status: 0,
      isolationStatus: 0,
      voltageLimitAchieved: false,
      currentLimitAchieved: false,
      powerLimitAchieved: false,
      peakCurrentRippleA: 5,
    });
    expect(one(t, 'evse', 'V2g.EvseCableCheckRequested')).toEqual({ timeoutMs: 38_000 });
    expect(one(t, 'evse', 'V2g.EvseStartChargingRequested')).toEqual({
      timeoutMs: 5000,
      scheduleTupleId: 1,
      chargingProfile: [{ startS: 0, powerW: 50_000 }],
    });
    expect(one(t, 'evse', 'V2g.EvseStopChargingRequested')).toEqual({ timeoutMs: 5000, renegotiation: false });
    expect(one(t, 'evse', 'V2g.EvseSessionStopped')).toEqual({ closureType: 0 });

    // The charge loop: the EVSE host sees the car's targets, the EV host the EVSE's present values.
    const startedAt = t.ev.statuses.find((s) => s.type === 'V2g.EvChargingStarted')?.at ?? 0;
    const stoppedAt = t.ev.statuses.find((s) => s.type === 'V2g.EvChargingStopped')?.at ?? 0;
    const evLoop = t.ev.statuses.filter((s) => s.type === 'V2g.EvDcChargeParametersChanged' && s.at > startedAt && s.at < stoppedAt);
    const evseLoop = t.evse.statuses.filter((s) => s.type === 'V2g.EvseDcChargeParametersChanged' && s.at > startedAt && s.at < stoppedAt);
    expect(evLoop).toHaveLength(10);
    for (const s of evLoop) expect(s.fields).toMatchObject({ presentVoltageV: 400, presentCurrentA: 50, status: 0, isolationStatus: 1 });
    for (const s of evseLoop) expect(s.fields).toMatchObject({ targetVoltageV: 400, targetCurrentA: 50, ready: true, errorCode: 0, chargingComplete: false });
    const gaps = evLoop.slice(1).map((s, i) => s.at - (evLoop[i]?.at ?? 0));
    expect(new Set(gaps)).toEqual(new Set([220]));
    await t.pair.close();
  });

  it('charges the battery: SOC rises with the energy the EVSE reports and the car says complete at its target', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, ev: { battery: { capacityWh: 100, socStartPercent: 40, socTargetPercent: 60 } } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    // 400 V x 50 A = 20 kW: 20 Wh (20 % of 100 Wh) take 3.6 s.
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 6000 }));
    expect(await t.clock.runUntil(stopped(t), 120_000)).toBe(true);
    const loop = t.evse.statuses.filter((s) => s.type === 'V2g.EvseDcChargeParametersChanged');
    const socs = loop.map((s) => s.fields.socPercent as number);
    expect(socs[0]).toBe(40);
    expect(Math.max(...socs)).toBeGreaterThanOrEqual(60);
    const firstComplete = loop.find((s) => s.fields.chargingComplete === true);
    expect(firstComplete?.fields.socPercent).toBe(60);
    await t.pair.close();
  });

  it("passes the EV host's own SOC once it reports one with Update DC Charging Parameters", async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, ev: { battery: { capacityWh: 40_000, socStartPercent: 40, socTargetPercent: 80 } } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(() => t.ev.types().includes('V2g.EvChargingStarted'), 60_000);
    await t.ev.command(V2g.EvUpdateDcChargingParameters, {
      minVoltageV: 0,
      minCurrentA: 0,
      minPowerW: 0,
      maxVoltageV: 450,
      maxCurrentA: 100,
      maxPowerW: 45_000,
      socPercent: 77,
      status: 0,
      targetVoltageV: 390,
      targetCurrentA: 40,
    });
    const at = t.clock.now();
    await t.clock.runUntil(() => false, 500);
    // A request already on the cable when the host updated still carries the old values.
    const after = t.evse.statuses.filter((s) => s.type === 'V2g.EvseDcChargeParametersChanged' && s.at > at + 10);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect(s.fields).toMatchObject({ socPercent: 77, targetVoltageV: 390, targetCurrentA: 40 });
    await t.pair.close();
  });

  it('renegotiates on request and keeps the session (18.9.14 renegotiation true)', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(() => t.ev.types().includes('V2g.EvChargingStarted'), 60_000);
    await t.ev.command(V2g.EvStopCharging, { renegotiation: true });
    await t.clock.runUntil(() => t.ev.types().filter((x) => x === 'V2g.EvChargingStarted').length === 2, 60_000);
    const evse = collapsed(t.evse.types('V2g.'));
    expect(evse.slice(evse.indexOf('V2g.EvseStopChargingRequested'))).toEqual([
      'V2g.EvseStopChargingRequested',
      'V2g.EvseEnergyTransferModeSelected',
      'V2g.EvseSchedulesRequested',
      'V2g.EvseStartChargingRequested',
    ]);
    expect(t.evse.statuses.find((s) => s.type === 'V2g.EvseStopChargingRequested')?.fields.renegotiation).toBe(true);
    const ev = collapsed(t.ev.types('V2g.'));
    expect(ev.slice(ev.indexOf('V2g.EvChargingStopped'))).toEqual([
      'V2g.EvChargingStopped',
      'V2g.EvScheduleReceived',
      'V2g.EvDcChargeParametersChanged',
      'V2g.EvChargingReady',
      'V2g.EvChargingStarted',
    ]);
    await t.pair.close();
  });

  it('carries an EVSE notification to the EV host (18.10.20 -> 18.11.13)', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(() => t.evse.types().includes('V2g.EvseStartChargingRequested'), 60_000);
    await t.clock.runUntil(() => false, 300);
    expect((await t.evse.request(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 30 })).code).toBe(0);
    await t.clock.runUntil(() => t.ev.types().includes('V2g.EvNotificationReceived'), 1000);
    expect(one(t, 'ev', 'V2g.EvNotificationReceived')).toEqual({ type: 0, maxDelayS: 30 });
    await t.pair.close();
  });
});

describe('AC session (21.9.4, 21.9.5)', () => {
  it('skips cable check and pre-charge and stops the session with the charging', async () => {
    const t = setup({ cable: { plugInAfterMs: 1000 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 5, chargeForMs: 2000 }));
    expect(await t.clock.runUntil(stopped(t), 120_000)).toBe(true);
    expect(t.errors).toEqual([]);
    expect(t.problems).toEqual([]);
    expect(collapsed(t.evse.types())).toEqual([
      'ControlPilot.StateChanged',
      'Slac.SlacSuccess',
      'V2g.EvseSessionStarted',
      'V2g.EvsePaymentSelected',
      'V2g.EvseAuthorizationStatusRequested',
      'V2g.EvseEnergyTransferModeSelected',
      'V2g.EvseAcChargeParametersChanged',
      'V2g.EvseSchedulesRequested',
      'ControlPilot.StateChanged',
      'V2g.EvseStartChargingRequested',
      'V2g.EvseStopChargingRequested',
      'ControlPilot.StateChanged',
      'V2g.EvseSessionStopped',
    ]);
    expect(collapsed(t.ev.types())).toEqual([
      'ControlPilot.StateChanged',
      'ControlPilot.DutyCycleChanged x2',
      'Slac.SlacSuccess',
      'V2g.EvSessionStarted',
      'V2g.EvScheduleReceived',
      'V2g.EvAcChargeParametersChanged',
      'V2g.EvChargingReady',
      'ControlPilot.StateChanged',
      'V2g.EvChargingStarted',
      'V2g.EvChargingStopped',
      'V2g.EvSessionStopped',
      'ControlPilot.StateChanged',
      'ControlPilot.DutyCycleChanged',
    ]);
    expect(one(t, 'evse', 'V2g.EvseEnergyTransferModeSelected')).toEqual({
      departureTimeS: 3600,
      energyRequestWh: 10_000,
      maxVoltageV: 250,
      minCurrentA: 6,
      maxCurrentA: 16,
      maxPowerW: 11_000,
      selectedEnergyTransferMode: 5,
    });
    expect(one(t, 'evse', 'V2g.EvseAcChargeParametersChanged')).toEqual({ maxVoltageV: 250, minCurrentA: 6, maxCurrentA: 16, energyAmountWh: 10_000 });
    expect(one(t, 'ev', 'V2g.EvAcChargeParametersChanged')).toEqual({ nominalVoltageV: 230, maxCurrentA: 32, rcd: false });
    expect(one(t, 'ev', 'V2g.EvSessionStarted')).toMatchObject({ selectedEnergyTransferMode: 5 });
    await t.pair.close();
  });

  it('reports changed EVSE AC limits in the charging-status loop', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 4 }));
    await t.clock.runUntil(() => t.ev.types().includes('V2g.EvChargingStarted'), 60_000);
    await t.evse.command(V2g.EvseUpdateAcChargingParameters, { rcdStatus: false, maxCurrentA: 16 });
    await t.clock.runUntil(() => t.ev.types().filter((x) => x === 'V2g.EvAcChargeParametersChanged').length === 2, 1000);
    expect(t.ev.statuses.filter((s) => s.type === 'V2g.EvAcChargeParametersChanged').at(-1)?.fields).toEqual({
      nominalVoltageV: 230,
      maxCurrentA: 16,
      rcd: false,
    });
    await t.pair.close();
  });
});

describe('a full session on the virtual clock', () => {
  it('runs a long DC session (20 % of a 10 kWh battery) in little wall time', async () => {
    const t = setup({ cable: { plugInAfterMs: 1000 }, ev: { battery: { capacityWh: 10_000, socStartPercent: 40, socTargetPercent: 60 } } });
    const wall0 = performance.now();
    t.catchErr(runEvseStub(t.evse, t.clock));
    // 20 kW: 2 kWh take 6 min of virtual time; the host stops after 6.5 min (~1770 exchanges).
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 390_000 }));
    expect(await t.clock.runUntil(stopped(t), 3_600_000)).toBe(true);
    const wallMs = performance.now() - wall0;
    const loops = t.ev.statuses.filter((s) => s.type === 'V2g.EvDcChargeParametersChanged').length;
    // Informational only (no wall-clock assertions): the report quotes this line.
    console.log(`full DC session: ${(t.clock.now() / 1000).toFixed(1)} s virtual, ${loops} loop messages, ${wallMs.toFixed(0)} ms wall`);
    const last = t.evse.statuses.filter((s) => s.type === 'V2g.EvseDcChargeParametersChanged').at(-1);
    expect(last?.fields.socPercent).toBeGreaterThanOrEqual(60);
    expect(t.problems).toEqual([]);
    await t.pair.close();
  });
});
