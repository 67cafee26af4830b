/**
 * The simulated module's emulation of real firmware (scenario `quirks`, sim/module-quirks.ts),
 * seen from a bare HCI client: what a host that does not retry gets (Sevenstax/FreeV2G#183).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPilot, V2g } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import { HciError } from '../../machines/hci-types.js';
import { parseScenario } from '../../sim/index.js';
import { createSimulatedModule } from '../../sim/simulated-module.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock } from '../../util/clock.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function evseModule(quirks: object) {
  const clock = new VirtualClock(0);
  const [host, module] = createMemoryPair({ clock });
  const sim = createSimulatedModule({ role: 'EVSE', clock, transport: module, scenario: parseScenario({ quirks: { evse: quirks } }) });
  // busyDeadlineMs 0: a host that takes the first busy answer as final.
  const client = createHciClient({ transport: host, clock, busyDeadlineMs: 0 });
  closers.push(async () => {
    await client.close();
    await sim.close();
    await host.close();
    await module.close();
  });
  const code = async (p: Promise<unknown>): Promise<number> => {
    const settled = p.then(
      () => 0,
      (e: unknown) => (e instanceof HciError ? (e.code ?? -1) : -2),
    );
    await clock.runUntil(() => false, 100);
    return settled;
  };
  return { clock, client, code, sim };
}

describe('busy emulation (sim quirks)', () => {
  it('a lost busy retry: after Set Mode answered busy and not sent again, the V2G module answers 0x11 to what follows (#183); once Set Mode gets through, all is normal', async () => {
    const m = evseModule({ busy: [{ command: 'V2g.SetMode', times: 1, wrongStateUntilAccepted: true }] });
    expect(await m.code(m.client.request(V2g.SetMode, { mode: 1 }))).toBe(0x01);
    expect(await m.code(m.client.request(V2g.GetMode, {}))).toBe(0x11);
    // Other modules are not affected.
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0);
    expect(await m.code(m.client.request(V2g.SetMode, { mode: 1 }))).toBe(0);
    expect(await m.code(m.client.request(V2g.GetMode, {}))).toBe(0);
  });

  it('busy only within the given time after a status message (#14): later the same command is accepted at once', async () => {
    const m = evseModule({ busy: [{ command: 'ControlPilot.GetMode', times: 3, withinMsOfStatus: 100 }] });
    expect(await m.code(m.client.request(ControlPilot.Start, {}))).toBe(0);
    // The car plugs in: the module reports State Changed, and is busy for 100 ms.
    m.sim.cable.plug();
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0x01);
    m.clock.advance(200);
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0);
  });

  it('busy until another command was received (#349)', async () => {
    const m = evseModule({ busy: [{ command: 'ControlPilot.GetMode', untilReceived: 'ControlPilot.GetState' }] });
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0x01);
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0x01);
    expect(await m.code(m.client.request(ControlPilot.GetState, {}))).toBe(0);
    expect(await m.code(m.client.request(ControlPilot.GetMode, {}))).toBe(0);
  });

  it('a scenario with an unknown quirk is refused with its path', () => {
    expect(() => parseScenario({ quirks: { evse: { busy: [{ command: 'SetMode' }] } } })).toThrow(/quirks\.evse\.busy\.0\.command/);
  });
});
