/**
 * Ninth round (docs/reliability.md): the EV session once its module took Stop Session (answered 0,
 * machines/v2g-ev/stop-taken.ts) and the lost Charging Ready's probe (v2g-ev/charging-ready-probe.ts),
 * on a stub module and the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { batteryMachine } from '../../machines/battery.js';
import { evConfig } from '../../machines/config.js';
import { PRE_CHARGE_WATCHDOG_MS, v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { CHARGING_READY_PROBE_MS } from '../../machines/v2g-ev/charging-ready-probe.js';
import { STOP_TAKEN_END_MS } from '../../machines/v2g-ev/stop-taken.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const DC = 0;
const WRONG_STATE = 0x11;

async function dcSession() {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evConfig({ energyTransferModes: [DC], battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80 });
  const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
  const dcParams = (presentVoltageV: number) => ({
    presentVoltageV,
    presentCurrentA: 0,
    status: 0,
    voltageLimitAchieved: false,
    currentLimitAchieved: false,
    powerLimitAchieved: false,
    peakCurrentRippleA: 0,
  });
  await flushMicrotasks();
  client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: DC });
  await flushMicrotasks();
  client.status('V2g.EvCableCheckReady');
  await flushMicrotasks();
  client.status('V2g.EvCableCheckFinished');
  client.status('V2g.EvPreChargingReady');
  await flushMicrotasks();
  const done = () => h.events().some((e) => e.type === 'xstate.done.actor.child');
  const output = () => (h.events().find((e) => e.type === 'xstate.done.actor.child') as { output?: { stopReason?: string } } | undefined)?.output;
  return { clock, client, h, config, dcParams, done, output };
}

/** A DC session charged to its end: Charging Stopped, Post Charging Ready, Stop Session answered `stopSession`. */
async function afterPostCharging(stopSession: number | Record<string, unknown>) {
  const t = await dcSession();
  t.client.status('V2g.EvDcChargeParametersChanged', t.dcParams(t.config.battery.targetVoltageV));
  t.client.status('V2g.EvChargingReady');
  await flushMicrotasks();
  t.client.status('V2g.EvChargingStarted');
  await advanceBy(t.clock, 1000);
  t.client.respond('V2g.EvStopSession', stopSession);
  t.client.status('V2g.EvChargingStopped');
  t.client.status('V2g.EvPostChargingReady');
  await advanceBy(t.clock, 100);
  return t;
}

const stopSessions = (client: StubHciClient) => client.names().filter((n) => n === 'V2g.EvStopSession').length;

describe('Stop Session taken, its Session Stopped lost (fuzz seed 300030)', () => {
  it('no Session Stopped within the bound: the session ends, said once', async () => {
    const t = await afterPostCharging({});
    expect(stopSessions(t.client)).toBe(1);
    await advanceBy(t.clock, STOP_TAKEN_END_MS - 500);
    expect(t.done()).toBe(false);
    // Before: the session waited in post-charge for ever (the EVSE's leaving aborted it).
    await advanceBy(t.clock, 1000);
    expect(t.done()).toBe(true);
    expect(t.h.logs().filter((l) => l.startsWith('No "Session Stopped"'))).toHaveLength(1);
  });

  it('an abort after it: the session ends at once, no Stop Session again, no wait for the module', async () => {
    const t = await afterPostCharging({});
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, 100);
    // Before: `aborting`, Stop Session again, refused 0x11, up to 65 s for the module's end.
    expect(t.done()).toBe(true);
    expect(stopSessions(t.client)).toBe(1);
    expect(t.h.logs()).toContain('Stop Session was taken before: the module ends its session, nothing to wait for');
  });

  it('Stop Session refused 0x11 (not taken): an abort still waits for the module, as before', async () => {
    const t = await afterPostCharging(WRONG_STATE);
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, 100);
    expect(t.done()).toBe(false);
    expect(t.h.logs().some((l) => l.startsWith('Stop Session not taken'))).toBe(true);
    await advanceBy(t.clock, STOP_TAKEN_END_MS + 1000);
    expect(t.done()).toBe(false);
  });
});

describe('Charging Ready lost in pre-charge (fuzz seed 300126)', () => {
  /** Pre-charge with the EVSE's output at `voltageV`, DC Charge Parameters Changed every 200 ms, no Charging Ready. */
  async function preCharging(voltageV: (c: { battery: { targetVoltageV: number } }) => number, startCharging: (n: number) => number | Record<string, unknown>) {
    const t = await dcSession();
    let n = 0;
    t.client.respond('V2g.EvStartCharging', () => startCharging(++n) as Record<string, unknown>);
    const enteredAt = t.clock.now();
    const timer = setIntervalOn(t.clock, 200, () => t.client.status('V2g.EvDcChargeParametersChanged', t.dcParams(voltageV(t.config))));
    return { ...t, enteredAt, stop: timer, offers: () => t.client.sent.filter((c) => c.name === 'V2g.EvStartCharging') };
  }

  it('the output within the limits: Start Charging offered 7.2 s into pre-charge, again while refused 0x11; taken, the session goes on', async () => {
    const t = await preCharging(
      (c) => c.battery.targetVoltageV,
      (n) => (n < 2 ? WRONG_STATE : {}),
    );
    await advanceBy(t.clock, CHARGING_READY_PROBE_MS - 100);
    expect(t.offers()).toHaveLength(0);
    await advanceBy(t.clock, 1000);
    const offers = t.offers();
    expect(offers).toHaveLength(2);
    expect((offers[0]?.at ?? 0) - t.enteredAt).toBe(CHARGING_READY_PROBE_MS);
    expect((offers[1]?.at ?? 0) - (offers[0]?.at ?? 0)).toBe(400);
    expect(t.h.logs().some((l) => l.startsWith('"Charging Ready" lost: the module took Start Charging'))).toBe(true);
    t.client.status('V2g.EvChargingStarted');
    await advanceBy(t.clock, PRE_CHARGE_WATCHDOG_MS);
    // Before: the 10 s watchdog ended the session (preChargeTimeout) without a charge.
    expect(t.done()).toBe(false);
    expect(t.h.logs()).toContain('"Charging Started" received');
    t.stop();
  });

  it('the output not within the limits: nothing offered, the watchdog ends the session as before', async () => {
    const t = await preCharging(
      (c) => c.battery.targetVoltageV - 100,
      () => ({}),
    );
    await advanceBy(t.clock, PRE_CHARGE_WATCHDOG_MS + 500);
    expect(t.offers()).toHaveLength(0);
    expect(t.h.logs().some((l) => l.startsWith('No Charging Ready'))).toBe(true);
    t.stop();
  });
});

/** A repeating timer on the virtual clock; returns its stop. */
function setIntervalOn(clock: VirtualClock, ms: number, fn: () => void): () => void {
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    fn();
    clock.setTimeout(tick, ms);
  };
  clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
  };
}
