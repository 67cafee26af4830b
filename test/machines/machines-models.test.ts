/** Unit tests: SLAC machine, charger and battery models, authorization policy, firmware table. */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { authorizationPolicyLogic, decideStatically } from '../../machines/authorization-policy.js';
import { advanceBattery, batteryMachine, currentForPower, initialBatteryState, reportedSoc } from '../../machines/battery.js';
import { advance, chargerMachine, commandedOutput, initialChargerState } from '../../machines/charger.js';
import { DEFAULT_BATTERY, DEFAULT_EVSE_CONFIG, DEFAULT_SLAC, evConfig, evseConfig } from '../../machines/config.js';
import { checkFirmware } from '../../machines/firmware.js';
import { slacMachine } from '../../machines/slac.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

describe('SLAC machine', () => {
  const timing = { ...DEFAULT_SLAC, startDelayMs: 2000, matchTimeoutMs: 10_000, attempts: 3, evMatchDelayMs: 5000 };

  it('EVSE: starts after the CP, settles, matches; reports matchingStarted then matched', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    const h = harness(slacMachine, { client, clock, role: 'EVSE', timing }, clock);
    await flushMicrotasks();
    expect(client.names()).toEqual([]);
    h.send({ type: 'slac.start' });
    h.send({ type: 'slac.match' }); // asked before the service settled: remembered
    await flushMicrotasks();
    expect(client.sent.map((c) => [c.name, c.fields])).toEqual([['Slac.StartSlac', { mode: 1 }]]);
    await advanceBy(clock, 1999);
    expect(client.names()).toEqual(['Slac.StartSlac']);
    await advanceBy(clock, 1);
    expect(client.names()).toEqual(['Slac.StartSlac', 'Slac.StartMatching']);
    expect(h.types()).toContain('slac.matchingStarted');
    client.status('Slac.SlacSuccess');
    await flushMicrotasks();
    expect(h.types()).toContain('slac.matched');
    expect(h.logs()).toEqual(['Start SLAC in EVSE mode', 'Start SLAC matching', 'SLAC matching successful']);
  });

  it('retries a bounded number of times (module failure, then timeout), then reports failure', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    const h = harness(slacMachine, { client, clock, role: 'EVSE', timing }, clock);
    h.send({ type: 'slac.start' });
    await advanceBy(clock, 2000);
    h.send({ type: 'slac.match' });
    await flushMicrotasks();
    client.status('Slac.SlacFailed');
    await flushMicrotasks();
    expect(client.names().filter((n) => n === 'Slac.StartMatching')).toHaveLength(2);
    await advanceBy(clock, 10_000); // attempt 2 times out
    expect(client.names().filter((n) => n === 'Slac.StartMatching')).toHaveLength(3);
    await advanceBy(clock, 10_000); // attempt 3 times out: give up
    expect(client.names().filter((n) => n === 'Slac.StartMatching')).toHaveLength(3);
    const failed = h.events().find((e) => e.type === 'slac.failed') as { reason?: string } | undefined;
    expect(failed?.reason).toBe('no SLAC result within 10000 ms');
    expect(h.logs()).toContain('SLAC matching failed');
  });

  it('EV: disables validation, starts as EV, waits 5 s before matching; stop tolerates "not running"', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock).respond('Slac.StopSlac', 0x10);
    const h = harness(slacMachine, { client, clock, role: 'EV', timing }, clock);
    h.send({ type: 'slac.start' });
    await advanceBy(clock, 2000);
    expect(client.sent.map((c) => [c.name, c.fields])).toEqual([
      ['Slac.SetValidationConfiguration', { enabled: false }],
      ['Slac.StartSlac', { mode: 0 }],
    ]);
    h.send({ type: 'slac.match' });
    await advanceBy(clock, 4999);
    expect(client.names()).not.toContain('Slac.StartMatching');
    await advanceBy(clock, 1);
    expect(client.names()).toContain('Slac.StartMatching');
    h.send({ type: 'slac.stop' });
    await flushMicrotasks();
    expect(client.names().at(-1)).toBe('Slac.StopSlac');
    expect(h.types()).toContain('slac.stopped');
  });
});

describe('charger model', () => {
  const config = { ...DEFAULT_EVSE_CONFIG.charger, voltageRampVPerMs: 0.5, currentRampAPerMs: 0.05 };

  it('commands 0 unless active, and clamps targets by EVSE and EV limits (power too)', () => {
    const s = { ...initialChargerState(config, 0), targetVoltageV: 500, targetCurrentA: 300 };
    expect(commandedOutput(s)).toEqual({ voltageV: 0, currentA: 0 });
    const on = { ...s, active: true, ev: { maxVoltageV: 450, maxCurrentA: 200, maxPowerW: 8000 } };
    expect(commandedOutput(on)).toEqual({ voltageV: 400, currentA: 20 }); // 8 kW / 400 V
  });

  it('ramps at the configured rates and integrates energy', () => {
    const s0 = { ...initialChargerState(config, 0), active: true, targetVoltageV: 400, targetCurrentA: 25 };
    const s1 = advance(s0, 100);
    expect(s1.presentVoltageV).toBe(50);
    expect(s1.presentCurrentA).toBeCloseTo(5);
    const s2 = advance(s1, 1000);
    expect(s2.presentVoltageV).toBe(400);
    expect(s2.presentCurrentA).toBe(25);
    const s3 = advance(s2, 1000 + 3_600_000);
    expect(s3.energyWh).toBeGreaterThan(10_000);
    const off = advance({ ...s3, active: false }, s3.at + 500);
    expect(off.presentVoltageV).toBe(150);
    expect(off.presentCurrentA).toBe(0);
  });

  it('as an actor: stop drops the targets; ticks sample on the clock while moving', async () => {
    const clock = new VirtualClock();
    const h = harness(chargerMachine, { clock, config: { ...config, tickMs: 100 } }, clock);
    h.send({ type: 'charger.targets', voltageV: 100, currentA: 10 });
    h.send({ type: 'charger.start' });
    await advanceBy(clock, 1000);
    const samples = h.events().filter((e) => e.type === 'charger.sample');
    expect(samples.length).toBeGreaterThanOrEqual(9);
    h.send({ type: 'charger.stop' });
    const ctx = (h.child()?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] }).context;
    expect(commandedOutput(ctx)).toEqual({ voltageV: 0, currentA: 0 });
    expect(ctx.targetVoltageV).toBe(0);
    h.send({ type: 'charger.start' }); // a new start does not bring old targets back
    expect(commandedOutput((h.child()?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] }).context)).toEqual({ voltageV: 0, currentA: 0 });
  });
});

describe('battery model', () => {
  it('SOC follows delivered energy, capped at capacity', () => {
    const b0 = { ...initialBatteryState({ ...DEFAULT_BATTERY, capacityWh: 1000, levelWh: 500 }, 0), charging: true, inputVoltageV: 200, inputCurrentA: 10 };
    expect(reportedSoc(b0)).toBe(50);
    const b1 = advanceBattery(b0, 3_600_000 / 10); // 2 kW for 6 min = 200 Wh
    expect(b1.levelWh).toBeCloseTo(700);
    expect(reportedSoc(b1)).toBe(70);
    const b2 = advanceBattery(b1, 3_600_000);
    expect(b2.levelWh).toBe(1000);
    expect(b2.energyWh).toBeCloseTo(500);
  });

  it('does not charge when not charging; current for a power limit like the reference', () => {
    const b = initialBatteryState(DEFAULT_BATTERY, 0);
    expect(advanceBattery({ ...b, inputVoltageV: 400, inputCurrentA: 100 }, 1_000_000).levelWh).toBe(b.levelWh);
    expect(currentForPower(b, 25_000)).toBe(60); // min(25 kW, 12 kW) / 200 V
    expect(currentForPower(b, 4_000)).toBe(20);
  });

  it('as an actor samples while charging', async () => {
    const clock = new VirtualClock();
    const h = harness(batteryMachine, { clock, config: DEFAULT_BATTERY, sampleMs: 500 }, clock);
    h.send({ type: 'battery.input', voltageV: 200, currentA: 50 });
    h.send({ type: 'battery.charging', on: true });
    await advanceBy(clock, 2000);
    expect(h.events().filter((e) => e.type === 'battery.sample').length).toBe(4);
  });
});

describe('authorization policy and configuration', () => {
  it('decides statically and asks interactively', async () => {
    expect(decideStatically({ mode: 'acceptAll' }, 'x')).toBe(true);
    expect(decideStatically({ mode: 'denyAll' }, 'x')).toBe(false);
    expect(decideStatically({ mode: 'allowList', evccIds: ['00:01:01:63:77:31'] }, '000101637731')).toBe(true);
    expect(decideStatically({ mode: 'allowList', evccIds: ['00:01:01:63:77:31'] }, '000101637732')).toBe(false);
    const asked: string[] = [];
    const actor = createActor(authorizationPolicyLogic, {
      input: { policy: { mode: 'interactive', ask: async (r) => (asked.push(r.evccId), true) }, evccId: 'abc', timeoutMs: 1000 },
    });
    actor.start();
    await flushMicrotasks();
    expect(actor.getSnapshot().output).toBe(true);
    expect(asked).toEqual(['abc']);
  });

  it('defaults equal the reference values; partial configs merge', () => {
    const c = evseConfig({ charger: { maxPowerW: 11_000 } });
    expect(c.evseId).toBe('DE*ABC*E*00001*01');
    expect(c.charger).toMatchObject({ maxVoltageV: 400, maxCurrentA: 100, maxPowerW: 11_000, voltageRampVPerMs: 0.5 });
    expect(c.schedule[0]?.entries.map((e) => [e.startS, e.intervalS, e.powerW])).toEqual([
      [0, 65535, 25000],
      [65535, 65535, 25000],
    ]);
    const e = evConfig({ battery: { fullSocPercent: 90 } });
    expect(e.targetSocPercent).toBe(90);
    expect(e.battery).toMatchObject({ capacityWh: 50_000, levelWh: 49_000, bulkSocPercent: 80, maxPowerW: 12_000 });
  });
});

describe('firmware table', () => {
  it('accepts the known versions, refuses the old EVSE API, warns on unknown', () => {
    expect(checkFirmware('EVSE', 'V02_00_01').kind).toBe('supported');
    expect(checkFirmware('EV', 'V01_00_06').kind).toBe('supported');
    const old = checkFirmware('EVSE', 'V01_01_07');
    expect(old.kind).toBe('unsupported');
    expect(old.kind !== 'supported' && old.text).toContain('EVSE_v1.1.7_1');
    expect(checkFirmware('EVSE', 'V02_01_00').kind).toBe('supported');
    expect(checkFirmware('EVSE', 'V02_02_00').kind).toBe('unknown');
    expect(checkFirmware('EVSE', 'garbage').kind).toBe('unknown');
    expect(checkFirmware('EV', 'V03_00_00').kind).toBe('unsupported');
  });
});
