/**
 * The EVSE side of fuzz seeds 152399 and 199847 (and 602): every answer to EvseStartListen lost
 * (three timeouts), or a retry refused 0x11, while the module had taken the first one and the
 * car's session ran. The EVSE host recorded `configurationFailed` at once, stopped listening and
 * waited for the unplug: no charge, and a record that said the module was never set up. Now the
 * session listens on: what came before the sequence ended (Session Started, Payment Selected,
 * Request Authorization) is replayed, and without Session Started within LISTEN_CONFIRM_MS it
 * stops listening and records the failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chargerMachine, commandedOutput } from '../../machines/charger.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { LISTEN_CONFIRM_MS, v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import type { SimulatedPair } from '../../sim/index.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, answersLost, harness } from '../helpers/machines-stub.js';
import { QUICK_SLAC, SMALL_BATTERY, simulatedClients, startStations } from '../helpers/stations.js';

const pairs: SimulatedPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('every answer to EvseStartListen lost on the simulated pair', () => {
  it('the module listened: the car gets its session, both sides charge and record, no configurationFailed', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    const s = startStations({
      clock,
      evseClient: answersLost(evseClient, clock, 'EvseStartListen'),
      evClient,
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    expect(s.logs('EVSE')).toContain('Session Started after all: the module had taken Start Listen');
    const evse = s.records('EVSE')[0];
    expect(evse?.error).toBeUndefined();
    expect(evse).toMatchObject({ stopReason: 'evStopped', paymentMethod: 'EIM' });
    expect(evse?.energyDeliveredWh).toBeGreaterThan(0);
    expect(s.records('EV')[0]?.error).toBeUndefined();
    expect(s.records('EV')[0]).toMatchObject({ stopReason: 'targetSocReached' });
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    expect(charger ? commandedOutput(charger.context) : undefined).toEqual({ voltageV: 0, currentA: 0 });
    s.evse.stop();
    s.ev.stop();
  }, 60_000);
});

const EVCC = Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31);
/** The three attempts at Start Listen (1 s each, SEQUENCE_TIMEOUT_RETRIES) are over. */
const ATTEMPTS_MS = 3000;

function start(lost: 'timeout' | 'refused') {
  const clock = new VirtualClock();
  const stub = new StubHciClient(clock);
  // Refused: the first answer lost, the retry finds the module listening (0x11, 18.5).
  if (lost === 'refused') stub.respond('V2g.EvseStartListen', 0x11);
  const client = answersLost(stub, clock, 'EvseStartListen', lost === 'refused' ? 1 : undefined);
  const config = evseConfig({});
  const h = harness(v2gEvseSessionMachine, { client, clock, config, policy: { mode: 'acceptAll' } }, clock, [{ systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } }]);
  return { clock, client: stub, h };
}
const record = (t: ReturnType<typeof start>): SessionRecord | undefined => (t.h.events().find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;

describe('Start Listen never answered (EVSE session machine)', () => {
  it('Session Started, Payment Selected and Request Authorization came meanwhile: replayed, the car is authorized', async () => {
    const t = start('timeout');
    await flushMicrotasks();
    await advanceBy(t.clock, 500);
    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    t.client.status('V2g.EvsePaymentSelected', { selectedPaymentMethod: 0 });
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await advanceBy(t.clock, ATTEMPTS_MS);
    expect(t.client.names().filter((n) => n === 'V2g.EvseStartListen')).toHaveLength(3);
    expect(record(t)).toBeUndefined();
    expect(t.client.names()).toContain('V2g.EvseSetAuthorizationStatus');
    expect(t.h.logs()).toContain('Session Started after all: the module had taken Start Listen');
    expect(t.h.logs()).toContain('Vehicle was authorized by user!');
  });

  it('Session Started lost too: Payment Selected enters the session, Request Authorization follows in order, the car is authorized', async () => {
    const t = start('timeout');
    await flushMicrotasks();
    await advanceBy(t.clock, 500);
    t.client.status('V2g.EvsePaymentSelected', { selectedPaymentMethod: 0 });
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await advanceBy(t.clock, ATTEMPTS_MS);
    expect(record(t)).toBeUndefined();
    const logs = t.h.logs();
    const order = ['"Session started" lost: "EvsePaymentSelected"', '"Payment selected" received', '"Request Authorization" received', 'Vehicle was authorized by user!'].map((l) =>
      logs.findIndex((x) => x.startsWith(l)),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(t.client.names()).toContain('V2g.EvseSetAuthorizationStatus');
  });

  it("a stale message before Start Listen went out (a previous session's Session Stopped) is not replayed", async () => {
    const t = start('timeout');
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await flushMicrotasks();
    await advanceBy(t.clock, ATTEMPTS_MS + 500);
    expect(record(t)).toBeUndefined();
    expect(t.h.logs().some((l) => l.startsWith('"Session started" lost'))).toBe(false);
  });

  it('Session Started during the wait: the session goes on', async () => {
    const t = start('timeout');
    await flushMicrotasks();
    await advanceBy(t.clock, ATTEMPTS_MS + LISTEN_CONFIRM_MS - 1000);
    expect(record(t)).toBeUndefined();
    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    await advanceBy(t.clock, 2 * LISTEN_CONFIRM_MS);
    expect(t.client.names()).not.toContain('V2g.EvseStopListen');
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await flushMicrotasks();
    expect(record(t)?.error).toBeUndefined();
  });

  it('no Session Started: Stop Listen after the wait, recorded as configurationFailed naming the timeout', async () => {
    const t = start('timeout');
    await flushMicrotasks();
    await advanceBy(t.clock, ATTEMPTS_MS + LISTEN_CONFIRM_MS - 500);
    expect(record(t)).toBeUndefined();
    expect(t.client.names()).not.toContain('V2g.EvseStopListen');
    await advanceBy(t.clock, 1000);
    expect(t.client.names().at(-1)).toBe('V2g.EvseStopListen');
    expect(record(t)?.error).toEqual({
      name: 'configurationFailed',
      detail: `V2g.EvseStartListen: no response within 1000 ms, and no Session Started within ${LISTEN_CONFIRM_MS / 1000} s`,
    });
  });
});

describe('Start Listen refused 0x11 on the retry (EVSE session machine)', () => {
  it('the module listened: its Session Started moves the session on', async () => {
    const t = start('refused');
    await flushMicrotasks();
    await advanceBy(t.clock, 500);
    t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
    await advanceBy(t.clock, 2000);
    expect(t.client.names().filter((n) => n === 'V2g.EvseStartListen')).toHaveLength(2);
    expect(t.h.logs()).toContain('Session Started after all: the module had taken Start Listen');
    expect(record(t)).toBeUndefined();
  });
});
