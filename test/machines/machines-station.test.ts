import { describe, expect, it } from 'vitest';
import { createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { StationEmitted } from '../../machines/station-events.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy } from '../helpers/machines-stub.js';

function evse(version: string, strict = false) {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock)
    .respond('System.GetFirmwareVersion', { version })
    // Stale-state clean-up: nothing is running, so the module refuses each stop.
    .respond('V2g.EvseStopListen', 0x05)
    .respond('Slac.StopSlac', 0x10)
    .respond('ControlPilot.Stop', 0x05)
    .respond('ControlPilot.GetState', { state: 0 });
  const emitted: StationEmitted[] = [];
  const actor = createEvseStation({ client, clock, config: evseConfig({ strictFirmware: strict }) });
  actor.on('*', (e) => emitted.push(e as StationEmitted));
  const logs = () => emitted.flatMap((e) => (e.type === 'log' ? [e.text] : []));
  return { clock, client, actor, logs, emitted };
}

describe('EVSE station', () => {
  it('checks the firmware, clears stale state tolerating refusals, then CP before SLAC', async () => {
    const t = evse('V02_00_01');
    await flushMicrotasks();
    await advanceBy(t.clock, 3000);
    expect(t.client.names()).toEqual([
      'System.GetFirmwareVersion',
      'V2g.EvseStopListen',
      'Slac.StopSlac',
      'ControlPilot.Stop',
      'ControlPilot.SetMode',
      'ControlPilot.SetDutyCycle',
      'ControlPilot.Start',
      'ControlPilot.GetState',
      'Slac.StartSlac',
      // Waiting for a car, the CP state is re-read every CAR_WAIT_REREAD_MS (6.8 s, machines/cp-state-poll.ts): none in 3 s.
    ]);
    expect(t.logs()).toContain('WHITE-beet-EI firmware version: V02_00_01');
    expect(JSON.stringify(t.actor.getSnapshot().value)).toContain('waitingForVehicle');
  });

  it('refuses firmware with the old API, with a clear message, and sends nothing else', async () => {
    const t = evse('V01_01_07');
    await flushMicrotasks();
    expect(t.client.names()).toEqual(['System.GetFirmwareVersion']);
    expect(t.actor.getSnapshot().value).toBe('failed');
    expect(t.logs().some((l) => l.startsWith('Refusing to run: EVSE firmware V01_01_07 (EIM) uses an older HCI API (FreeV2G tag EVSE_v1.1.7_1)'))).toBe(true);
  });

  it('warns on unknown firmware, refuses it when strict', async () => {
    const lax = evse('V02_02_00');
    await flushMicrotasks();
    expect(lax.logs().some((l) => l.startsWith('Warning: EVSE firmware V02_02_00 is newer than the tested versions'))).toBe(true);
    expect(lax.client.names()).toContain('ControlPilot.SetMode');
    const strict = evse('V02_02_00', true);
    await flushMicrotasks();
    expect(strict.actor.getSnapshot().value).toBe('failed');
  });

  it('shuts down from any state: listening, SLAC and CP (no Stop Charging: no session to stop)', async () => {
    const t = evse('V02_00_01');
    await advanceBy(t.clock, 3000);
    t.client.sent.length = 0;
    t.actor.send({ type: 'shutdown' });
    await flushMicrotasks();
    expect(t.client.names()).toEqual(['V2g.EvseStopListen', 'Slac.StopSlac', 'ControlPilot.Stop']);
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(
      t.emitted
        .filter((e) => e.type === 'phase')
        .map((e) => (e as { phase: string }).phase)
        .slice(-2),
    ).toEqual(['shuttingDown', 'stopped']);
  });
});

describe('EV station', () => {
  it('checks the firmware, clears stale state, configures CP (state B) then SLAC as EV', async () => {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock)
      .respond('System.GetFirmwareVersion', { version: 'V01_00_06' })
      .respond('V2g.EvStopSession', 0x11)
      .respond('ControlPilot.GetDutyCycle', { dutyCyclePermill: 1000 });
    const actor = createEvStation({ client, clock, config: evConfig() });
    await advanceBy(clock, 3000);
    expect(client.names()).toEqual([
      'System.GetFirmwareVersion',
      'V2g.EvStopSession',
      'Slac.StopSlac',
      'ControlPilot.Stop',
      'ControlPilot.SetMode',
      'ControlPilot.Start',
      'ControlPilot.SetResistorLevel',
      'ControlPilot.GetDutyCycle',
      'Slac.SetValidationConfiguration',
      'Slac.StartSlac',
      // Waiting for 5 %, the duty cycle is re-read every REREAD_AFTER_MS (machines/state-reread.ts): twice in 3 s.
      'ControlPilot.GetDutyCycle',
      'ControlPilot.GetDutyCycle',
    ]);
    expect(JSON.stringify(actor.getSnapshot().value)).toContain('waitingForEvse');
    // 5 % PWM appears: SLAC matching after the reference's 5 s.
    client.status('ControlPilot.DutyCycleChanged', { dutyCyclePermill: 50 });
    await advanceBy(clock, 5000);
    expect(client.names().at(-1)).toBe('Slac.StartMatching');
    actor.send({ type: 'shutdown' });
    await flushMicrotasks();
    // No session started: nothing to stop charging (that is owed only by a session cut short).
    expect(client.names().slice(-5)).toEqual(['Slac.StartMatching', 'V2g.EvStopSession', 'ControlPilot.SetResistorLevel', 'Slac.StopSlac', 'ControlPilot.Stop']);
  });
});
