import { describe, expect, it } from 'vitest';
import { advance, chargerMachine, commandedOutput } from '../../machines/charger.js';
import { evseConfig } from '../../machines/config.js';
import type { AuthorizationPolicy } from '../../machines/authorization-policy.js';
import { v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const EVCC = Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31);

function start(policy: AuthorizationPolicy = { mode: 'acceptAll' }, overrides: Parameters<typeof evseConfig>[0] = {}) {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evseConfig(overrides);
  const h = harness(v2gEvseSessionMachine, { client, clock, config, policy }, clock, [{ systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } }]);
  const charger = () => {
    const c = h.system.get('charger');
    if (!c) throw new Error('no charger');
    return advance((c.getSnapshot() as { context: Parameters<typeof advance>[0] }).context, clock.now());
  };
  const step = async (ms = 0) => {
    await flushMicrotasks();
    if (ms) await advanceBy(clock, ms);
    await flushMicrotasks();
  };
  return { clock, client, h, charger, step, config };
}

const record = (events: { type: string }[]): SessionRecord | undefined => (events.find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;

describe('V2G EVSE session', () => {
  it('configures the module, then runs a DC session answering every status message', async () => {
    const t = start();
    await t.step();
    expect(t.client.names()).toEqual(['V2g.SetMode', 'V2g.EvseSetConfiguration', 'V2g.EvseSetDcChargingParameters', 'V2g.EvseSetAcChargingParameters', 'V2g.EvseStartListen']);
    expect(t.client.sent[1]?.fields).toMatchObject({ evseIdIso: 'DE*ABC*E*00001*01', protocols: [0, 1] });
    t.client.sent.length = 0;

    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    t.client.status('V2g.EvsePaymentSelected', { selectedPaymentMethod: 0 });
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await t.step();
    expect(t.client.sent.map((c) => [c.name, c.fields])).toEqual([['V2g.EvseSetAuthorizationStatus', { result: 0 }]]);
    expect(t.h.logs()).toContain('Vehicle was authorized by user!');

    t.client.status('V2g.EvseEnergyTransferModeSelected', {
      maxVoltageV: 400,
      maxCurrentA: 20,
      maxPowerW: 8000,
      selectedEnergyTransferMode: 0,
      dcParameters: { energyCapacityWh: 50000, ready: true, errorCode: 0, socPercent: 50 },
    });
    t.client.status('V2g.EvseSchedulesRequested', { timeoutMs: 5000, maxEntries: 1 });
    await t.step();
    const sched = t.client.sent.find((c) => c.name === 'V2g.EvseSetSchedules');
    expect(sched?.fields).toMatchObject({ result: 0, scheduleTuples: [{ scheduleTupleId: 1, entries: [{ startS: 0, intervalS: 65535, powerW: 25000 }] }] });

    // From Set Schedules on, updates go out on a timer well inside the module's 500 ms.
    t.client.sent.length = 0;
    await t.step(1000);
    const updates = t.client.sent.filter((c) => c.name === 'V2g.EvseUpdateDcChargingParameters');
    expect(updates.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < updates.length; i++) expect((updates[i]?.at ?? 0) - (updates[i - 1]?.at ?? 0)).toBeLessThanOrEqual(250);

    t.client.status('V2g.EvseCableCheckRequested', { timeoutMs: 38000 });
    await t.step();
    expect(t.client.names()).toContain('V2g.EvseSetCableCheckFinished');
    expect(commandedOutput(t.charger())).toEqual({ voltageV: 0, currentA: 0 });

    t.client.status('V2g.EvsePreChargeStarted');
    t.client.status('V2g.EvseDcChargeParametersChanged', {
      maxVoltageV: 400,
      maxCurrentA: 20,
      maxPowerW: 8000,
      ready: true,
      errorCode: 0,
      socPercent: 50,
      targetVoltageV: 380,
      targetCurrentA: 2,
      chargingComplete: false,
    });
    await t.step(1000);
    expect(t.charger().presentVoltageV).toBe(380);

    t.client.sent.length = 0;
    t.client.status('V2g.EvseStartChargingRequested', { timeoutMs: 5000, scheduleTupleId: 1, chargingProfile: [{ startS: 0, powerW: 8000 }] });
    t.client.status('V2g.EvseDcChargeParametersChanged', {
      maxVoltageV: 400,
      maxCurrentA: 20,
      maxPowerW: 8000,
      ready: true,
      errorCode: 0,
      socPercent: 50,
      targetVoltageV: 380,
      targetCurrentA: 16,
      chargingComplete: false,
    });
    await t.step(2000);
    expect(t.client.names()[0]).toBe('V2g.EvseStartCharging');
    expect(t.client.names()).not.toContain('V2g.EvseStopCharging');
    expect(t.charger().presentCurrentA).toBe(16);

    t.client.sent.length = 0;
    t.client.status('V2g.EvseStopChargingRequested', { timeoutMs: 5000, renegotiation: false });
    await t.step();
    expect(t.client.names()).toContain('V2g.EvseStopCharging');
    expect(commandedOutput(t.charger())).toEqual({ voltageV: 0, currentA: 0 });

    t.client.status('V2g.EvseWeldingDetectionStarted');
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await t.step(5000);
    expect(t.charger().presentVoltageV).toBe(0);
    const r = record(t.h.events());
    expect(r).toMatchObject({ station: 'EVSE', evccId: '000101637731', protocol: 'ISO15118-2', energyTransferMode: 'dcCore', stopReason: 'evStopped' });
    expect(r?.energyDeliveredWh).toBeGreaterThan(0);
    expect(r?.peakCurrentA).toBe(16);
    // Host real time (a loaded machine stretches it): its cadence is checked on the virtual clock above.
    expect(r?.longestUpdateGapMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps a Session Started that arrives before the Start Listen response (a fast module)', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    // The module reports the car's session while our sequence still awaits Start Listen's response.
    client.respond('V2g.EvseStartListen', () => {
      client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
      return {};
    });
    const config = evseConfig({});
    const h = harness(v2gEvseSessionMachine, { client, clock, config, policy: { mode: 'acceptAll' } }, clock, [
      { systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } },
    ]);
    await flushMicrotasks();
    expect(h.logs()).toContain('"Session started" received');
    client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await flushMicrotasks();
    expect(client.names()).toContain('V2g.EvseSetAuthorizationStatus');
  });

  it('answers "failed" when the policy denies, and when it does not answer in time', async () => {
    const denied = start({ mode: 'denyAll' });
    await denied.step();
    denied.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    denied.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await denied.step();
    expect(denied.client.sent.at(-1)).toMatchObject({ name: 'V2g.EvseSetAuthorizationStatus', fields: { result: 1 } });

    const slow = start({ mode: 'interactive', ask: () => new Promise<boolean>(() => {}) });
    await slow.step();
    slow.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    slow.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 10_000 });
    await slow.step(8999);
    expect(slow.client.names()).not.toContain('V2g.EvseSetAuthorizationStatus');
    await slow.step(2);
    expect(slow.client.sent.at(-1)).toMatchObject({ name: 'V2g.EvseSetAuthorizationStatus', fields: { result: 1 } });
    expect(slow.h.logs()).toContain('Authorization timed out: no answer from the policy');
  });

  it('on a session error while charging: output 0 and EvseStopCharging, error named', async () => {
    const t = start();
    await t.step();
    t.client.status('V2g.EvseSessionStarted', { protocol: 0, sessionId: new Uint8Array(8), evccId: EVCC });
    t.client.status('V2g.EvseEnergyTransferModeSelected', { maxVoltageV: 400, maxCurrentA: 20, selectedEnergyTransferMode: 0 });
    t.client.status('V2g.EvseSchedulesRequested', { timeoutMs: 5000, maxEntries: 12 });
    t.client.status('V2g.EvsePreChargeStarted');
    t.client.status('V2g.EvseStartChargingRequested', { timeoutMs: 5000, scheduleTupleId: 1, chargingProfile: [{ startS: 0, powerW: 8000 }] });
    await t.step(100);
    expect(commandedOutput(t.charger()).voltageV).toBe(0); // no target yet
    t.client.sent.length = 0;
    t.client.status('V2g.EvseSessionError', { errorCode: 23 });
    await t.step();
    expect(t.client.names()).toEqual(['V2g.EvseStopCharging']);
    expect(commandedOutput(t.charger())).toEqual({ voltageV: 0, currentA: 0 });
    expect(t.h.logs()).toContain('Session error: 23: chargeParameterTimeoutReached');
    expect(record(t.h.events())?.error).toEqual({ code: 23, name: 'chargeParameterTimeoutReached' });
  });

  it('stops when the EV selects an energy transfer mode that was not offered', async () => {
    const t = start({ mode: 'acceptAll' }, { energyTransferModes: [0, 1, 2, 3] });
    await t.step();
    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    t.client.sent.length = 0;
    t.client.status('V2g.EvseEnergyTransferModeSelected', { maxVoltageV: 400, maxCurrentA: 20, selectedEnergyTransferMode: 5 });
    await t.step();
    expect(t.client.names()).toEqual(['V2g.EvseStopCharging']);
    expect(t.h.logs()).toContain('Energy transfer mode mismatch!');
  });
});
