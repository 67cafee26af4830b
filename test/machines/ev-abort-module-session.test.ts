/**
 * Fuzz campaign run 5, seeds 204869 211969 237380 (docs/reliability.md): an EV session ended
 * before charging (an abort when the EVSE left high-level communication, or the module set up
 * again after one lost Ping Reply) whose module refuses Stop Session (0x11: in session set-up,
 * before Cable Check Ready) runs its session on. The EV host configured again meanwhile, each
 * command was refused 0x11, and it recorded `configurationFailed` for a session its module was
 * running. Now the host waits for the module's Session Stopped / Session Error, asking Stop
 * Session again when the module reaches a state that takes it, for at most
 * MODULE_SESSION_END_BOUND_MS, and records it when the bound passes (machines/v2g-ev/abort.ts).
 * Virtual clock: the session machine with a stub module, then both stations on the simulated pair.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { batteryMachine } from '../../machines/battery.js';
import { evConfig, evseConfig } from '../../machines/config.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { ABORT_STOP_RETRY_MS, MODULE_SESSION_END_BOUND_MS, UNCONFIRMED_START_END_BOUND_MS } from '../../machines/v2g-ev/abort.js';
import type { SimulatedPair } from '../../sim/index.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, answersLost, harness } from '../helpers/machines-stub.js';
import { QUICK_SLAC, SMALL_BATTERY, simulatedClients, startStations } from '../helpers/stations.js';

const WRONG_STATE = 0x11;

function start(lostStartSessionAnswer = false) {
  const clock = new VirtualClock();
  const stub = new StubHciClient(clock);
  const client = lostStartSessionAnswer ? answersLost(stub, clock, 'EvStartSession') : stub;
  const config = evConfig({ battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80 });
  const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
  // In session set-up the module refuses Stop Session (sim/services/v2g-ev.ts, 18.9.15).
  stub.respond('V2g.EvStopSession', WRONG_STATE);
  return { clock, stub, h };
}
type T = ReturnType<typeof start>;
const record = (t: T): SessionRecord | undefined => (t.h.events().find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;
const stopSessions = (t: T): number => t.stub.names().filter((n) => n === 'V2g.EvStopSession').length;

async function abortInSessionSetup(t: T): Promise<void> {
  await flushMicrotasks();
  expect(t.stub.names()).toContain('V2g.EvStartSession');
  t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
  await flushMicrotasks();
}

describe('an EV session aborted while its module refuses Stop Session', () => {
  it('waits for the module: asks again at Cable Check Ready, taken there, and only then records the session', async () => {
    const t = start();
    await abortInSessionSetup(t);
    expect(stopSessions(t)).toBe(1);
    await advanceBy(t.clock, 3000);
    expect(record(t)).toBeUndefined();
    expect(t.h.logs().some((l) => l.startsWith('Stop Session not taken') && l.includes('code 17'))).toBe(true);
    // The module's session reached a station and waits for its host in cable check: Stop Session is taken there.
    t.stub.respond('V2g.EvStopSession', {});
    const before = stopSessions(t);
    t.stub.status('V2g.EvCableCheckReady');
    await flushMicrotasks();
    expect(stopSessions(t)).toBe(before + 1);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
    expect(record(t)?.error).toBeUndefined();
    // No Start Cable Check for an aborted session, and the EV asks for no energy.
    expect(t.stub.names()).not.toContain('V2g.EvStartCableCheck');
  });

  it("ends on the module's Session Error, not before, asking again every few seconds meanwhile", async () => {
    const t = start();
    await abortInSessionSetup(t);
    await advanceBy(t.clock, 40_000);
    expect(record(t)).toBeUndefined();
    expect(stopSessions(t)).toBeGreaterThanOrEqual(1 + Math.floor(40_000 / ABORT_STOP_RETRY_MS) - 1);
    t.stub.status('V2g.EvSessionError', { code: 8 });
    await flushMicrotasks();
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
    expect(record(t)?.error).toBeUndefined();
    expect(t.h.logs()).toContain('"Session Error" (code 8) received: the aborted session has ended');
  });

  it(`ends safe after ${MODULE_SESSION_END_BOUND_MS / 1000} s with nothing from the module, the record saying so`, async () => {
    const t = start();
    await abortInSessionSetup(t);
    await advanceBy(t.clock, MODULE_SESSION_END_BOUND_MS - 500);
    expect(record(t)).toBeUndefined();
    await advanceBy(t.clock, 1000);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected', error: { name: 'moduleSessionNotEnded' } });
    const sent = stopSessions(t);
    await advanceBy(t.clock, 20_000);
    expect(stopSessions(t)).toBe(sent);
  });

  it('an abort while configuring, once Start Session went out (its answer lost), waits as well', async () => {
    const t = start(true);
    await flushMicrotasks();
    expect(t.stub.names()).toContain('V2g.EvStartSession');
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, 5000);
    expect(stopSessions(t)).toBeGreaterThanOrEqual(1);
    expect(record(t)).toBeUndefined();
    t.stub.status('V2g.EvSessionStopped');
    await flushMicrotasks();
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
  });

  it(`an unconfirmed start (Start Session's answer lost) and nothing from the module: ends after ${UNCONFIRMED_START_END_BOUND_MS / 1000} s, not ${MODULE_SESSION_END_BOUND_MS / 1000} s`, async () => {
    const t = start(true);
    await flushMicrotasks();
    t.h.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await advanceBy(t.clock, UNCONFIRMED_START_END_BOUND_MS - 500);
    expect(record(t)).toBeUndefined();
    expect(t.h.logs().some((l) => l.startsWith('Stop Session not taken') && l.includes(`waiting up to ${UNCONFIRMED_START_END_BOUND_MS / 1000} s`))).toBe(true);
    await advanceBy(t.clock, 1000);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected', error: { name: 'moduleSessionNotEnded' } });
    expect(record(t)?.error?.detail).toContain(`within ${UNCONFIRMED_START_END_BOUND_MS / 1000} s`);
  });

  it('an unconfirmed start (Start Session refused 0x11, no Session Started yet) aborted in the session: the same shorter bound', async () => {
    const t = start();
    t.stub.respond('V2g.EvStartSession', WRONG_STATE);
    await abortInSessionSetup(t);
    await advanceBy(t.clock, UNCONFIRMED_START_END_BOUND_MS - 500);
    expect(record(t)).toBeUndefined();
    await advanceBy(t.clock, 1000);
    expect(record(t)?.error?.name).toBe('moduleSessionNotEnded');
  });

  it(`a confirmed start (Session Started) keeps the ${MODULE_SESSION_END_BOUND_MS / 1000} s bound`, async () => {
    const t = start();
    t.stub.respond('V2g.EvStartSession', WRONG_STATE);
    await flushMicrotasks();
    t.stub.status('V2g.EvSessionStarted', { selectedProtocol: 0, selectedEnergyTransferMode: 0, evseId: 'E', sessionId: new Uint8Array(8) });
    await abortInSessionSetup(t);
    await advanceBy(t.clock, UNCONFIRMED_START_END_BOUND_MS + 5000);
    expect(record(t)).toBeUndefined();
    await advanceBy(t.clock, MODULE_SESSION_END_BOUND_MS - UNCONFIRMED_START_END_BOUND_MS);
    expect(record(t)?.error?.name).toBe('moduleSessionNotEnded');
  });

  it('a Stop Session the module takes ends the session at once, as before', async () => {
    const t = start();
    t.stub.respond('V2g.EvStopSession', {});
    await abortInSessionSetup(t);
    expect(record(t)).toMatchObject({ stopReason: 'evseDisconnected' });
    expect(stopSessions(t)).toBe(1);
  });
});

const pairs: SimulatedPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('the EV station sets up again a module that was not lost (one missed Ping Reply, seeds 211969 237380)', () => {
  it('in authorization (Stop Session refused): no configuration until the module ended its session, no configurationFailed', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    let authorize: ((ok: boolean) => void) | undefined;
    const s = startStations({
      clock,
      evseClient,
      evClient,
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
      // The station keeps the car in authorization (EVSEProcessing ongoing) until the test says.
      policy: { mode: 'interactive', ask: () => new Promise<boolean>((resolve) => (authorize = resolve)) },
    });
    const ev: Array<{ dir: string; m: DecodedMessage; at: number }> = [];
    evClient.traffic$.subscribe((x) => x.message && ev.push({ dir: x.dir, m: x.message, at: x.at }));
    let noticedAt: number | undefined;
    s.ev.on('*', (e) => {
      const x = e as { type: string; text?: string };
      if (x.text?.startsWith('Module not answering') && noticedAt === undefined) {
        noticedAt = clock.now();
        pair.ev.setSilent(false);
      }
    });
    expect(await clock.runUntil(() => authorize !== undefined, 120_000, 10)).toBe(true);
    // The module says nothing for a moment, long enough for the station to set it up again.
    pair.ev.setSilent(true);
    expect(await clock.runUntil(() => noticedAt !== undefined, 10_000, 10)).toBe(true);
    await clock.runUntil(() => false, 10_000, 50);
    // The station's Stop Session was refused (authorization); nothing configured since.
    const since = () => ev.filter((x) => x.at >= (noticedAt ?? 0));
    const refused = since().find((x) => x.dir === 'rx' && x.m.direction === 'response' && x.m.message === 'EvStopSession');
    expect(refused?.m.fields.code).toBe(WRONG_STATE);
    expect(since().some((x) => x.dir === 'tx' && x.m.message === 'EvSetConfiguration')).toBe(false);
    // The car is authorized: its session goes on to cable check, where Stop Session is taken.
    authorize?.(true);
    const ended = () => since().find((x) => x.dir === 'rx' && (x.m.message === 'EvSessionStopped' || x.m.message === 'EvSessionError'))?.at;
    expect(await clock.runUntil(() => ended() !== undefined, 30_000, 10)).toBe(true);
    // Nothing configured before the module's end; the station said why it waited.
    expect(since().filter((x) => x.dir === 'tx' && x.m.message === 'EvSetConfiguration' && x.at < (ended() ?? 0))).toEqual([]);
    expect(s.logs('EV').some((l) => l.includes('waiting up to') && l.includes("for its session's end"))).toBe(true);
    await clock.runUntil(() => false, 30_000, 50);
    expect(s.records('EV').filter((r) => r.error?.name === 'configurationFailed')).toEqual([]);
    s.evse.stop();
    s.ev.stop();
  }, 60_000);
});
