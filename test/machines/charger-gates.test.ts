/**
 * The IEC 61851 gates on the EVSE's output (machines/charger-gates.ts): the 2 A pre-charge cap
 * (IEC 61851-23 CC.6) and no output while the vehicle's S2 is open (CP state B, IEC 61851-1),
 * on the charger model and on the CP machine that reports S2. Virtual clock throughout.
 */
import { describe, expect, it } from 'vitest';
import { PRE_CHARGE_MAX_CURRENT_A } from '../../machines/charger-gates.js';
import { type ChargerState, chargerMachine, commandedOutput, initialChargerState } from '../../machines/charger.js';
import { DEFAULT_EVSE_CONFIG } from '../../machines/config.js';
import { controlPilotEvseMachine } from '../../machines/control-pilot-evse.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const config = { ...DEFAULT_EVSE_CONFIG.charger, tickMs: 100 };
const contextOf = (h: ReturnType<typeof harness>): ChargerState => (h.child()?.getSnapshot() as { context: ChargerState }).context;

describe('pre-charge current cap (IEC 61851-23 CC.6)', () => {
  it('commands at most 2 A in pre-charge whatever the car asks, its full target after', () => {
    const s = { ...initialChargerState(config, 0), active: true, targetVoltageV: 400, targetCurrentA: 40 };
    expect(commandedOutput({ ...s, preCharge: true })).toEqual({ voltageV: 400, currentA: PRE_CHARGE_MAX_CURRENT_A });
    expect(commandedOutput({ ...s, preCharge: true, targetCurrentA: 1 })).toEqual({ voltageV: 400, currentA: 1 });
    expect(commandedOutput({ ...s, preCharge: false })).toEqual({ voltageV: 400, currentA: 40 });
  });

  it('as an actor: the output stays at 2 A through pre-charge, one log line, then follows the car', async () => {
    const clock = new VirtualClock();
    const h = harness(chargerMachine, { clock, config }, clock);
    h.send({ type: 'charger.preCharge', on: true });
    h.send({ type: 'charger.start' });
    for (let i = 0; i < 5; i++) {
      h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 40 });
      await advanceBy(clock, 500);
    }
    const pre = contextOf(h);
    expect(pre.presentVoltageV).toBe(400);
    expect(pre.presentCurrentA).toBe(PRE_CHARGE_MAX_CURRENT_A);
    expect(pre.peakCurrentA).toBe(PRE_CHARGE_MAX_CURRENT_A);
    expect(h.logs().filter((l) => l.startsWith('Pre-charge:'))).toEqual(['Pre-charge: the EV asks 40 A, output limited to 2 A (IEC 61851-23 CC.6)']);
    // Pre-charge energy is metered like any other (2 A at 400 V for 2.5 s is about 0.5 Wh).
    expect(pre.energyWh).toBeGreaterThan(0.4);
    expect(pre.energyWh).toBeLessThan(0.6);
    h.send({ type: 'charger.preCharge', on: false });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(40);
  });

  it('a car asking 2 A or less is not clamped and not logged', async () => {
    const clock = new VirtualClock();
    const h = harness(chargerMachine, { clock, config }, clock);
    h.send({ type: 'charger.preCharge', on: true });
    h.send({ type: 'charger.start' });
    h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 2 });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(2);
    expect(h.logs().filter((l) => l.startsWith('Pre-charge:'))).toEqual([]);
  });
});

describe('no output while the vehicle has S2 open (CP state B, IEC 61851-1)', () => {
  it('S2 opened during energy transfer: command 0 at once and down to 0; closed again: follows the car', async () => {
    const clock = new VirtualClock();
    const h = harness(chargerMachine, { clock, config }, clock);
    h.send({ type: 'charger.start' });
    h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 20 });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(20);
    h.send({ type: 'charger.s2', closed: false });
    expect(commandedOutput(contextOf(h))).toEqual({ voltageV: 0, currentA: 0 });
    // The car's next targets do not bring the output back while S2 is open.
    h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 20 });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(0);
    expect(h.logs()).toContain('CP state B during energy transfer (the EV opened S2): output to 0 (IEC 61851-1)');
    h.send({ type: 'charger.s2', closed: true });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(20);
    expect(h.logs()).toContain('CP state C/D again (the EV closed S2): output follows the EV targets');
  });

  it('S2 seen open outside energy transfer does not hold the next one (only an opening during it counts)', async () => {
    const clock = new VirtualClock();
    const h = harness(chargerMachine, { clock, config }, clock);
    h.send({ type: 'charger.s2', closed: false });
    h.send({ type: 'charger.start' });
    h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 20 });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(20);
    h.send({ type: 'charger.s2', closed: false });
    h.send({ type: 'charger.stop' });
    h.send({ type: 'charger.start' });
    h.send({ type: 'charger.ev', limits: {}, voltageV: 400, currentA: 20 });
    await advanceBy(clock, 1000);
    expect(contextOf(h).presentCurrentA).toBe(20);
  });
});

describe('control pilot, EVSE: S2 changes', () => {
  it('reports B <-> C/D while connected, once per change; A stays a disconnect', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock).respond('ControlPilot.GetState', { state: 1 });
    const h = harness(controlPilotEvseMachine, { client, clock }, clock);
    await flushMicrotasks();
    const s2 = () => h.events().filter((e) => e.type === 'cp.s2');
    for (const state of [2, 2, 3, 1, 1, 2]) {
      client.status('ControlPilot.StateChanged', { state });
      await flushMicrotasks();
    }
    expect(s2()).toEqual([
      { type: 'cp.s2', closed: true },
      { type: 'cp.s2', closed: false },
      { type: 'cp.s2', closed: true },
    ]);
    client.status('ControlPilot.StateChanged', { state: 0 });
    await flushMicrotasks();
    expect(h.types()).toContain('cp.vehicleDisconnected');
    expect(s2()).toHaveLength(3);
  });
});
