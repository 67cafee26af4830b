import { describe, expect, it } from 'vitest';
import { type AnyActorRef, type AnyEventObject, assign, enqueueActions, setup } from 'xstate';
import { batteryMachine } from '../../machines/battery.js';
import { evConfig } from '../../machines/config.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { mayStartCharging, profilePowerW, v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

/** Records what the session asks of the CP (resistor levels) and, as the CP machine does, confirms each level taken. */
const cpRecorder = setup({ types: { context: {} as { got: AnyEventObject[] } } }).createMachine({
  context: { got: [] },
  on: {
    '*': {
      actions: [
        assign({ got: ({ context, event }) => [...context.got, event] }),
        enqueueActions(({ enqueue, event, system }) => {
          const session = system.get('child') as AnyActorRef | undefined;
          if (event.type === 'cp.resistor' && session) enqueue.sendTo(session, { type: 'cp.resistorSet', level: event.level as string });
        }),
      ],
    },
  },
});

function start(overrides: Parameters<typeof evConfig>[0] = {}) {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evConfig({ battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80, updateIntervalMs: 1000, ...overrides });
  const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [
    { systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } },
    { systemId: 'cp', logic: cpRecorder, input: {} },
  ]);
  const resistor = () =>
    ((h.system.get('cp')?.getSnapshot() as { context: { got: AnyEventObject[] } }).context.got as Array<{ type: string; level?: string }>).filter((e) => e.type === 'cp.resistor').map((e) => e.level);
  return { clock, client, h, resistor, config };
}

const record = (events: { type: string }[]): SessionRecord | undefined => (events.find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;

const dcParams = (v: number, i: number) => ({
  minVoltageV: 0,
  minCurrentA: 0,
  minPowerW: 0,
  maxVoltageV: 400,
  maxCurrentA: 100,
  maxPowerW: 25000,
  presentVoltageV: v,
  presentCurrentA: i,
  status: 0,
  voltageLimitAchieved: false,
  currentLimitAchieved: false,
  powerLimitAchieved: false,
  peakCurrentRippleA: 0,
});

describe('V2G EV session', () => {
  it('configures, follows the DC flow, charges to the target SOC and stops the session', async () => {
    const t = start();
    await flushMicrotasks();
    expect(t.client.names()).toEqual(['V2g.SetMode', 'V2g.EvSetConfiguration', 'V2g.EvSetDcChargingParameters', 'V2g.EvSetAcChargingParameters', 'V2g.EvStartSession']);
    expect(t.client.sent[2]?.fields).toMatchObject({ socPercent: 50, targetVoltageV: 200, energyRequestWh: 500, fullSocPercent: 100, bulkSocPercent: 80 });
    t.client.sent.length = 0;

    t.client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'DE*ABC*E*00001*01', selectedPaymentMethod: 0, selectedEnergyTransferMode: 0 });
    t.client.status('V2g.EvScheduleReceived', {
      scheduleTuples: [
        {
          scheduleTupleId: 1,
          entries: [
            { startS: 0, intervalS: 30, powerW: 20000 },
            { startS: 30, intervalS: 86400, powerW: 4000 },
          ],
        },
      ],
    });
    await flushMicrotasks();
    expect(t.client.sent[0]).toMatchObject({ name: 'V2g.EvSetChargingProfile', fields: { scheduleTupleId: 1, entries: [{ powerW: 12000 }, { powerW: 4000 }] } });

    t.client.status('V2g.EvCableCheckReady');
    await flushMicrotasks();
    expect(t.resistor()).toEqual(['C']);
    expect(t.client.names()).toContain('V2g.EvStartCableCheck');
    t.client.status('V2g.EvCableCheckFinished');
    t.client.status('V2g.EvPreChargingReady');
    await flushMicrotasks();
    expect(t.client.names()).toContain('V2g.EvStartPreCharging');

    // Not yet: the EVSE's voltage is far from the battery's target (200 V +- 10 V).
    t.client.status('V2g.EvDcChargeParametersChanged', dcParams(150, 0));
    t.client.status('V2g.EvChargingReady');
    await flushMicrotasks();
    expect(t.client.names()).not.toContain('V2g.EvStartCharging');
    t.client.status('V2g.EvDcChargeParametersChanged', dcParams(195, 0));
    await flushMicrotasks();
    expect(t.client.names()).toContain('V2g.EvStartCharging');

    t.client.sent.length = 0;
    t.client.status('V2g.EvChargingStarted');
    t.client.status('V2g.EvDcChargeParametersChanged', dcParams(200, 60));
    await advanceBy(t.clock, 29_000);
    const first = t.client.sent.filter((c) => c.name === 'V2g.EvUpdateDcChargingParameters');
    expect(first.length).toBeGreaterThanOrEqual(29);
    expect(first[0]?.fields.targetCurrentA).toBe(60); // 12 kW / 200 V
    await advanceBy(t.clock, 2000);
    expect(t.client.sent.filter((c) => c.name === 'V2g.EvUpdateDcChargingParameters').at(-1)?.fields.targetCurrentA).toBe(20); // 4 kW after 30 s
    // 12 kW for 30 s = 100 Wh: SOC 60 %; reported as it rises.
    expect(t.client.sent.at(-1)?.fields.socPercent).toBeGreaterThanOrEqual(60);

    // Keep going until 80 % (300 Wh more at 12 kW as the EVSE still delivers 60 A).
    // (Up to the Stop Charging: the module's Charging Stopped follows it at once, and without
    // it the session ends itself after STOP_UNCONFIRMED_MS.)
    for (let s = 0; s < 120 && !t.client.names().includes('V2g.EvStopCharging'); s++) await advanceBy(t.clock, 1000);
    expect(t.client.names()).toContain('V2g.EvStopCharging');
    expect(t.h.logs()).toContain('charging done');
    t.client.status('V2g.EvChargingStopped');
    t.client.status('V2g.EvPostChargingReady');
    await flushMicrotasks();
    // C at Cable Check Ready, C again before Start Charging ([V2G2-847]: the CP machine confirms a
    // level it already took and sends nothing), B after the stop.
    expect(t.resistor()).toEqual(['C', 'C', 'B']);
    expect(t.client.names().at(-1)).toBe('V2g.EvStopSession');
    t.client.status('V2g.EvSessionStopped');
    await flushMicrotasks();
    const r = record(t.h.events());
    expect(r).toMatchObject({ station: 'EV', protocol: 'ISO15118-2', evseId: 'DE*ABC*E*00001*01', stopReason: 'targetSocReached', socStartPercent: 50 });
    expect(r?.socEndPercent).toBeGreaterThanOrEqual(80);
    expect(r?.longestUpdateGapMs).toBeLessThanOrEqual(1000);
  });

  it('answers an EVSE notification with Stop Charging (renegotiation flag as asked)', async () => {
    const t = start();
    await flushMicrotasks();
    t.client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: 0 });
    t.client.status('V2g.EvChargingStarted');
    await flushMicrotasks();
    t.client.status('V2g.EvNotificationReceived', { type: 0, maxDelayS: 1 });
    await flushMicrotasks();
    expect(t.client.sent.find((c) => c.name === 'V2g.EvStopCharging')?.fields).toEqual({ renegotiation: false });
  });

  it('names session errors and ends', async () => {
    const t = start();
    await flushMicrotasks();
    t.client.status('V2g.EvSessionError', { code: 4 });
    await flushMicrotasks();
    expect(t.h.logs()).toContain('Error code: 4 - "powerDeliveryNotApplied"');
    expect(record(t.h.events())?.error).toEqual({ code: 4, name: 'powerDeliveryNotApplied' });
  });

  it('start condition and profile lookup', () => {
    const c = evConfig().battery;
    expect(mayStartCharging({ energyTransferMode: 0, presentVoltageV: 205, presentCurrentA: 0 }, c)).toBe(true);
    expect(mayStartCharging({ energyTransferMode: 0, presentVoltageV: 215, presentCurrentA: 0 }, c)).toBe(false);
    expect(mayStartCharging({ energyTransferMode: 5, presentVoltageV: 0, presentCurrentA: 0, acNominalVoltageV: 400, acMaxCurrentA: 32 }, c)).toBe(true);
    const profile = {
      scheduleTupleId: 1,
      entries: [
        { startS: 0, intervalS: 10, powerW: 1 },
        { startS: 10, intervalS: 10, powerW: 2 },
      ],
    };
    expect([0, 9.9, 10, 100].map((s) => profilePowerW(profile, s, 0))).toEqual([1, 1, 2, 2]);
  });
});
