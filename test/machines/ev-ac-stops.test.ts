/**
 * The EV stops on the EVSE's AC values as the reference does (Sevenstax/FreeV2G Ev.py,
 * `_handleACChargeParametersChanged`; issue 10 item 6): an RCD fault, a nominal voltage above the
 * battery's AC maximum, or a current it would draw at or below its AC minimum. While charging it
 * sends Stop Charging (no renegotiation), before that Stop Session. Good values stop nothing.
 */
import { describe, expect, it } from 'vitest';
import { batteryMachine } from '../../machines/battery.js';
import { evConfig } from '../../machines/config.js';
import { acFault } from '../../machines/ev-ac.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const AC_SINGLE_PHASE = 4;
const GOOD = { nominalVoltageV: 230, maxCurrentA: 16, rcd: false };

function start() {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evConfig({ energyTransferModes: [AC_SINGLE_PHASE], battery: { capacityWh: 1000, levelWh: 500, minCurrentAcA: 6, maxVoltageAcV: 400 }, targetSocPercent: 80 });
  const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
  return { clock, client, h, config };
}

const record = (events: { type: string }[]): SessionRecord | undefined => (events.find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;

async function sessionStarted(t: ReturnType<typeof start>) {
  await flushMicrotasks();
  t.client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: AC_SINGLE_PHASE });
  await flushMicrotasks();
  t.client.sent.length = 0;
}

const CASES = [
  ['rcdFault', { ...GOOD, rcd: true }],
  ['acVoltageOutOfRange', { ...GOOD, nominalVoltageV: 450 }],
  ['acCurrentOutOfRange', { ...GOOD, maxCurrentA: 5 }],
] as const;

describe('EV: AC values that stop the car (reference Ev.py)', () => {
  it.each(CASES)('%s before charging: Stop Session, recorded as the stop reason', async (reason, values) => {
    const t = start();
    await sessionStarted(t);
    t.client.status('V2g.EvAcChargeParametersChanged', values);
    await flushMicrotasks();
    expect(t.client.names()).toEqual(['V2g.EvStopSession']);
    expect(t.h.logs()).toContain(`AC values refused (${reason}): stopping`);
    t.client.status('V2g.EvSessionStopped');
    await advanceBy(t.clock, 100);
    expect(record(t.h.events())).toMatchObject({ stopReason: reason });
  });

  it.each(CASES)('%s while charging: Stop Charging without renegotiation, once', async (reason, values) => {
    const t = start();
    await sessionStarted(t);
    t.client.status('V2g.EvAcChargeParametersChanged', GOOD);
    t.client.status('V2g.EvChargingReady');
    await flushMicrotasks();
    expect(t.client.names()).toContain('V2g.EvStartCharging');
    t.client.status('V2g.EvChargingStarted');
    await advanceBy(t.clock, 3000);
    expect(t.client.names()).not.toContain('V2g.EvStopCharging');
    t.client.sent.length = 0;
    t.client.status('V2g.EvAcChargeParametersChanged', values);
    t.client.status('V2g.EvAcChargeParametersChanged', values);
    await flushMicrotasks();
    const stops = t.client.sent.filter((c) => c.name === 'V2g.EvStopCharging');
    expect(stops.map((c) => c.fields)).toEqual([{ renegotiation: false }]);
    expect(t.client.names()).not.toContain('V2g.EvStopSession');
    t.client.status('V2g.EvChargingStopped');
    t.client.status('V2g.EvSessionStopped');
    await advanceBy(t.clock, 100);
    expect(record(t.h.events())).toMatchObject({ stopReason: reason });
  });

  it('good AC values stop nothing', async () => {
    const t = start();
    await sessionStarted(t);
    t.client.status('V2g.EvAcChargeParametersChanged', GOOD);
    await advanceBy(t.clock, 1000);
    expect(t.client.names()).not.toContain('V2g.EvStopSession');
    expect(t.client.names()).not.toContain('V2g.EvStopCharging');
  });

  it('acFault: RCD first, then voltage, then the current range (at the minimum is out, as in Ev.py)', () => {
    const battery = start().config.battery;
    expect(acFault({ nominalVoltageV: 450, maxCurrentA: 16, rcd: true }, battery, 16)).toBe('rcdFault');
    expect(acFault({ nominalVoltageV: 401, maxCurrentA: 16, rcd: false }, battery, 16)).toBe('acVoltageOutOfRange');
    expect(acFault({ ...GOOD, nominalVoltageV: 400 }, battery, 16)).toBeUndefined();
    expect(acFault(GOOD, battery, battery.maxCurrentAcA + 1)).toBe('acCurrentOutOfRange');
    expect(acFault(GOOD, battery, 6)).toBe('acCurrentOutOfRange');
    expect(acFault(GOOD, battery, 6.1)).toBeUndefined();
  });
});
