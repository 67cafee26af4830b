/**
 * Pause and resume (issue 10 item 4): the simulated car pauses mid-charge (SessionStopReq
 * ChargingSession=Pause, so the EVSE host gets Session Stopped closure type 1, 18.12.13) and
 * resumes with the paused Session ID without re-plugging. Both stations on the simulated pair,
 * virtual clock, safety invariant checked at every EVSE frame.
 */
import { describe, expect, it } from 'vitest';
import { batteryMachine } from '../../machines/battery.js';
import { advance, chargerMachine, commandedOutput } from '../../machines/charger.js';
import { evConfig, evseConfig } from '../../machines/config.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { PAUSE_WAKE_UP_MS } from '../../machines/station-evse.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';
import { type Run, ended, start } from '../helpers/sim-run.js';

const PAUSE = { afterChargingMs: 5_000, resumeAfterMs: 15_000 };

const phases = (r: Run, station: 'EVSE' | 'EV') => r.emitted[station].flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
const evseOutput = (r: Run) => (r.evse.system.get('charger')?.getSnapshot() as { context: { active: boolean; targetCurrentA?: number } } | undefined)?.context;

describe('pause and resume', () => {
  it('the EVSE records a paused segment and a resumed one with the same session ID; charging goes on to the target', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(ended(r, 2))).toBe(true);
    const [paused, resumed] = r.records('EVSE');
    expect(paused).toMatchObject({ closure: 'pause', stopReason: 'paused' });
    expect(paused?.error).toBeUndefined();
    expect(paused?.energyDeliveredWh).toBeGreaterThan(0);
    expect(resumed).toMatchObject({ closure: 'terminate', stopReason: 'evStopped', resumed: true, sessionId: paused?.sessionId });
    expect(resumed?.energyDeliveredWh).toBeGreaterThan(0);
    expect(paused?.sessionId).toMatch(/^[0-9a-f]{16}$/);
    // The EV host learns of the resume from the Session ID (18.11.1); its first segment just stopped.
    const [evFirst, evSecond] = r.records('EV');
    expect(evFirst).toMatchObject({ stopReason: 'sessionStopped', sessionId: paused?.sessionId });
    expect(evSecond).toMatchObject({ stopReason: 'targetSocReached', resumed: true, sessionId: paused?.sessionId });
    expect(evSecond?.socEndPercent).toBeGreaterThanOrEqual(80);
    expect(r.logs('EVSE')).toContain('Session paused by the EV: output 0, the session can be resumed');
    expect(r.logs('EVSE')).toContain(`Session resumed: the EV came back with the paused session's ID ${paused?.sessionId}`);
    // No unplug in between: the EVSE went to `paused`, never to waiting for an unplug.
    expect(phases(r, 'EVSE')).toContain('paused');
    const logs = r.logs('EVSE');
    const resumedAt = logs.findIndex((l) => l.startsWith('Session resumed'));
    expect(logs.slice(0, resumedAt)).not.toContain('Waiting for the vehicle to leave');
    expect(r.pair.cable.isPlugged).toBe(true);
    expect(r.violations).toEqual([]);
  });

  it('while paused the charger output is 0 and the station sleeps in X1, then offers 5 % again', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(() => r.records('EVSE').length >= 1)).toBe(true);
    const pausedAt = r.clock.now();
    expect(r.evse.getSnapshot().matches({ running: 'paused' })).toBe(true);
    const out = evseOutput(r);
    expect(out?.active).toBe(false);
    // X1 right after the pause (100 %), 5 % again after the wake-up delay.
    await r.until(() => false, PAUSE_WAKE_UP_MS / 2);
    expect(r.pair.cable.evDutyCyclePermill).toBe(1000);
    let outputSeen = false;
    // Until the car resumes (15 s after its pause), the output stays 0 and no energy flows.
    const energyAtPause = r.records('EVSE')[0]?.energyDeliveredWh ?? 0;
    await r.until(() => {
      const c = evseOutput(r);
      if (c?.active) outputSeen = true;
      return r.clock.now() - pausedAt > PAUSE.resumeAfterMs - 1_000;
    });
    expect(outputSeen).toBe(false);
    expect(r.pair.cable.evDutyCyclePermill).toBe(50);
    expect(energyAtPause).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  });

  it('an unplug while paused ends the pause: the next session is a new one', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(() => r.records('EVSE').length >= 1)).toBe(true);
    r.pair.cable.unplug();
    await r.until(() => false, 2_000);
    expect(r.evse.getSnapshot().matches({ running: 'waitingForVehicle' })).toBe(true);
    expect(r.evse.getSnapshot().context.pausedSessionId).toBeUndefined();
    r.pair.cable.plug();
    expect(await r.until(ended(r, 2))).toBe(true);
    const second = r.records('EVSE')[1];
    expect(second?.resumed).toBeUndefined();
    expect(second?.sessionId).not.toBe(r.records('EVSE')[0]?.sessionId);
    expect(r.violations).toEqual([]);
  });
});

/** The session machines alone, on a stub HCI client and the virtual clock. */
describe('pause and resume: session machines', () => {
  const ID = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const dcChanged = (targetCurrentA: number) => ({
    maxVoltageV: 400,
    maxCurrentA: 20,
    maxPowerW: 8000,
    ready: true,
    errorCode: 0,
    socPercent: 50,
    targetVoltageV: 380,
    targetCurrentA,
    chargingComplete: false,
  });

  function evse(resumeSessionId?: string) {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    const config = evseConfig({});
    const input = { client, clock, config, policy: { mode: 'acceptAll' as const }, ...(resumeSessionId ? { resumeSessionId } : {}) };
    const h = harness(v2gEvseSessionMachine, input, clock, [{ systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } }]);
    const charger = () => advance((h.system.get('charger')?.getSnapshot() as { context: Parameters<typeof advance>[0] }).context, clock.now());
    const step = async (ms = 0) => {
      await flushMicrotasks();
      if (ms) await advanceBy(clock, ms);
      await flushMicrotasks();
    };
    return { client, h, charger, step };
  }

  /** Session Started (with `id`) through charging at 16 A. */
  async function charge(t: ReturnType<typeof evse>, id: Uint8Array) {
    await t.step();
    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: id, evccId: Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31) });
    t.client.status('V2g.EvseEnergyTransferModeSelected', {
      maxVoltageV: 400,
      maxCurrentA: 20,
      maxPowerW: 8000,
      selectedEnergyTransferMode: 0,
      dcParameters: { ready: true, errorCode: 0, socPercent: 50 },
    });
    t.client.status('V2g.EvseSchedulesRequested', { timeoutMs: 5000, maxEntries: 1 });
    t.client.status('V2g.EvseCableCheckRequested', { timeoutMs: 38000 });
    t.client.status('V2g.EvsePreChargeStarted');
    t.client.status('V2g.EvseDcChargeParametersChanged', dcChanged(2));
    await t.step(1000);
    t.client.status('V2g.EvseStartChargingRequested', { timeoutMs: 5000, scheduleTupleId: 1, chargingProfile: [{ startS: 0, powerW: 8000 }] });
    t.client.status('V2g.EvseDcChargeParametersChanged', dcChanged(16));
    await t.step(2000);
    expect(t.charger().presentCurrentA).toBe(16);
  }

  it('EVSE: Session Stopped closure type 1 ends the session as a pause, output 0; not an error', async () => {
    const t = evse();
    await charge(t, ID);
    t.client.status('V2g.EvseStopChargingRequested', { timeoutMs: 5000, renegotiation: false });
    t.client.status('V2g.EvseSessionStopped', { closureType: 1 });
    await t.step(1000);
    expect(commandedOutput(t.charger())).toEqual({ voltageV: 0, currentA: 0 });
    const r = record(t.h.events());
    expect(r).toMatchObject({ closure: 'pause', stopReason: 'paused', sessionId: '0102030405060708' });
    expect(r?.error).toBeUndefined();
    expect(r?.resumed).toBeUndefined();
    expect(t.h.logs()).toContain('Closure type: pause');
  });

  it('EVSE: a Session Started with the paused session ID is a resume; another ID is a new session', async () => {
    const t = evse('0102030405060708');
    await charge(t, ID);
    expect(t.h.logs()).toContain("Session resumed: the EV came back with the paused session's ID 0102030405060708");
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await t.step(1000);
    expect(record(t.h.events())).toMatchObject({ resumed: true, closure: 'terminate', sessionId: '0102030405060708' });

    const other = evse('0102030405060708');
    await charge(other, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9));
    other.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await other.step(1000);
    expect(record(other.h.events())?.resumed).toBeUndefined();
  });

  it('EV: the previous session ID in Session Started (18.11.1) marks the record resumed', async () => {
    for (const [sessionId, resumed] of [
      [ID, true],
      [new Uint8Array(8).fill(7), undefined],
    ] as const) {
      const clock = new VirtualClock();
      const client = new StubHciClient(clock);
      const config = evConfig({ battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80 });
      const h = harness(v2gEvSessionMachine, { client, clock, config, resumeSessionId: '0102030405060708' }, clock, [
        { systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } },
      ]);
      await flushMicrotasks();
      client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId, evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: 0 });
      client.status('V2g.EvSessionStopped');
      await advanceBy(clock, 100);
      await flushMicrotasks();
      const r = record(h.events());
      expect(r?.resumed).toBe(resumed);
      expect(r?.sessionId).toBe(Buffer.from(sessionId).toString('hex'));
    }
  });
});

const record = (events: { type: string }[]): SessionRecord | undefined => (events.find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;
