/**
 * Issue 12 follow-up: an EV session that ends while charging (an abort from the station, the
 * status watchdog) sends Stop Charging before Stop Session, once (issue 12 item 12). The module
 * takes Stop Session only after Post Charging Ready (18.9.15): sent in the charge loop it is
 * refused 0x11 and the car goes on charging (fuzz seed 684; in an AC failure case the EVSE kept
 * charging). AC ends the session by itself after Stop Charging (21.9.5); DC needs Stop Session
 * after Post Charging Ready. Before charging, Stop Session alone, as before.
 */
import { describe, expect, it } from 'vitest';
import { batteryMachine } from '../../machines/battery.js';
import { evConfig } from '../../machines/config.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { UNUSABLE_STATUS_BOUND_MS } from '../../machines/status-watchdog.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { STOP_CHARGING_GRACE_MS } from '../../machines/v2g-ev/stop.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const DC = 0;
const AC_SINGLE_PHASE = 4;
const AC_GOOD = { nominalVoltageV: 230, maxCurrentA: 16, rcd: false };
const dcParams = (v: number, i: number) => ({
  presentVoltageV: v,
  presentCurrentA: i,
  status: 0,
  voltageLimitAchieved: false,
  currentLimitAchieved: false,
  powerLimitAchieved: false,
  peakCurrentRippleA: 0,
});

function start(mode: number) {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evConfig({ energyTransferModes: [mode], battery: { capacityWh: 1000, levelWh: 500, minCurrentAcA: 6, maxVoltageAcV: 400 }, targetSocPercent: 80 });
  const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
  return { clock, client, h };
}

type T = ReturnType<typeof start>;
const record = (t: T): SessionRecord | undefined => (t.h.events().find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;
/** The stop commands sent since the last clear, in order. */
const stops = (t: T) => t.client.names().filter((n) => n === 'V2g.EvStopCharging' || n === 'V2g.EvStopSession');

async function sessionStarted(t: T, mode: number) {
  await flushMicrotasks();
  t.client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: mode });
  await flushMicrotasks();
}

async function charging(t: T, mode: number) {
  await sessionStarted(t, mode);
  if (mode === DC) {
    t.client.status('V2g.EvCableCheckReady');
    t.client.status('V2g.EvPreChargingReady');
    t.client.status('V2g.EvDcChargeParametersChanged', dcParams(200, 0));
  } else t.client.status('V2g.EvAcChargeParametersChanged', AC_GOOD);
  t.client.status('V2g.EvChargingReady');
  await flushMicrotasks();
  expect(t.client.names()).toContain('V2g.EvStartCharging');
  t.client.status('V2g.EvChargingStarted');
  await advanceBy(t.clock, 2000);
  t.client.sent.length = 0;
}

describe('an EV session ended while charging stops charging first', () => {
  it('AC, status watchdog: Stop Charging once; the module ends the session itself, so no Stop Session', async () => {
    const t = start(AC_SINGLE_PHASE);
    await charging(t, AC_SINGLE_PHASE);
    // AC: Stop Charging makes the module send Charging Stopped and Session Stopped (21.9.5).
    t.client.respond('V2g.EvStopCharging', () => {
      t.clock.setTimeout(() => {
        t.client.status('V2g.EvChargingStopped');
        t.client.status('V2g.EvSessionStopped');
      }, 50);
      return {};
    });
    t.client.unusable('EvAcChargeParametersChanged');
    await advanceBy(t.clock, UNUSABLE_STATUS_BOUND_MS + 1000);
    expect(stops(t)).toEqual(['V2g.EvStopCharging']);
    expect(t.client.sent.find((c) => c.name === 'V2g.EvStopCharging')?.fields).toEqual({ renegotiation: false });
    expect(record(t)?.error?.name).toBe('noModuleStatus');
  });

  it('DC, abort: Stop Charging, then Stop Session once the module says Post Charging Ready', async () => {
    const t = start(DC);
    await charging(t, DC);
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await flushMicrotasks();
    expect(stops(t)).toEqual(['V2g.EvStopCharging']);
    await advanceBy(t.clock, 500);
    expect(record(t)).toBeUndefined();
    t.client.status('V2g.EvChargingStopped');
    t.client.status('V2g.EvPostChargingReady');
    await flushMicrotasks();
    expect(stops(t)).toEqual(['V2g.EvStopCharging', 'V2g.EvStopSession']);
    await advanceBy(t.clock, 100);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
    await advanceBy(t.clock, 10_000);
    expect(stops(t)).toEqual(['V2g.EvStopCharging', 'V2g.EvStopSession']);
  });

  it('DC, abort with no word from the module: Stop Session after the grace, the record within it', async () => {
    const t = start(DC);
    await charging(t, DC);
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, STOP_CHARGING_GRACE_MS + 500);
    expect(stops(t)).toEqual(['V2g.EvStopCharging', 'V2g.EvStopSession']);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
  });

  it('Stop Charging already sent (target SOC) when the abort comes: not again, Stop Session after Post Charging Ready', async () => {
    const t = start(DC);
    await charging(t, DC);
    t.h.send({ type: 'session.stopCharging', reason: 'userRequest' });
    await flushMicrotasks();
    expect(stops(t)).toEqual(['V2g.EvStopCharging']);
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, 200);
    t.client.status('V2g.EvPostChargingReady');
    await advanceBy(t.clock, 200);
    expect(stops(t)).toEqual(['V2g.EvStopCharging', 'V2g.EvStopSession']);
    expect(record(t)).toMatchObject({ stopReason: 'userRequest' });
  });

  it('a Stop Charging the module refuses (0x11: not charging after all) leads straight to Stop Session', async () => {
    const t = start(DC);
    await charging(t, DC);
    t.client.respond('V2g.EvStopCharging', 0x11);
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, 100);
    expect(stops(t)).toEqual(['V2g.EvStopCharging', 'V2g.EvStopSession']);
    expect(t.h.logs().some((l) => l.startsWith('Stopping:') && l.includes('V2g.EvStopCharging'))).toBe(true);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
  });
});

describe('an EV session ended before charging', () => {
  it.each(['abort', 'watchdog'] as const)('%s: Stop Session only', async (how) => {
    const t = start(DC);
    await sessionStarted(t, DC);
    t.client.sent.length = 0;
    if (how === 'abort') t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    else t.client.unusable('EvCableCheckReady');
    await advanceBy(t.clock, UNUSABLE_STATUS_BOUND_MS + 1000);
    expect(stops(t)).toEqual(['V2g.EvStopSession']);
    expect(record(t)).toBeDefined();
  });
});
