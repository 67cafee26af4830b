import { describe, expect, it } from 'vitest';
import { controlPilotEvseMachine } from '../../machines/control-pilot-evse.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, harness } from '../helpers/machines-stub.js';

describe('control pilot, EVSE', () => {
  it('configures X1, waits for state B, then switches to 5 % and back', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock).respond('ControlPilot.GetState', { state: 0 });
    const h = harness(controlPilotEvseMachine, { client, clock }, clock);
    await flushMicrotasks();
    expect(client.names()).toEqual(['ControlPilot.SetMode', 'ControlPilot.SetDutyCycle', 'ControlPilot.Start', 'ControlPilot.GetState']);
    expect(client.sent[0]?.fields).toEqual({ mode: 1 });
    expect(client.sent[1]?.fields).toEqual({ dutyCyclePermill: 1000 });
    expect(h.logs()).toEqual(['Set the CP mode to EVSE', 'Set the CP duty cycle to 100%', 'Start the CP service', 'Wait until an EV connects']);
    expect(h.types()).toContain('cp.ready');

    client.status('ControlPilot.StateChanged', { state: 1 });
    await flushMicrotasks();
    expect(h.types()).toContain('cp.vehicleConnected');
    expect(h.logs()).toContain('EV connected');

    h.send({ type: 'cp.hlc' });
    await flushMicrotasks();
    expect(client.sent.at(-1)).toMatchObject({ name: 'ControlPilot.SetDutyCycle', fields: { dutyCyclePermill: 50 } });

    client.status('ControlPilot.StateChanged', { state: 0 });
    await flushMicrotasks();
    expect(h.types()).toContain('cp.vehicleDisconnected');
    expect(client.sent.at(-1)).toMatchObject({ name: 'ControlPilot.SetDutyCycle', fields: { dutyCyclePermill: 1000 } });
  });

  it('reports an already connected vehicle and stops on request, tolerating 0x05', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock).respond('ControlPilot.GetState', { state: 1 }).respond('ControlPilot.Stop', 5);
    const h = harness(controlPilotEvseMachine, { client, clock }, clock);
    await flushMicrotasks();
    expect(h.logs()).toContain('EV already connected');
    expect(h.types()).toContain('cp.vehicleConnected');
    h.send({ type: 'cp.stop' });
    await flushMicrotasks();
    expect(client.names().at(-1)).toBe('ControlPilot.Stop');
    expect(h.types()).toContain('cp.stopped');
  });
});
