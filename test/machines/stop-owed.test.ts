/**
 * Issue 12 item 12, the owed Stop Charging as one fact shared by session and station: a session
 * cut short owes its Stop Charging only if it has not sent one itself, and one that went
 * unanswered (module silent) is owed still, first thing to the module once it answers again.
 * Both stations on the simulated pair, virtual clock; Stop Charging frames counted on the HCI
 * traffic.
 */
import type { AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import { type DecodedMessage, V2g } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from '../../machines/hci-types.js';
import { StopChargingWire } from '../../machines/stop-charging-wire.js';
import { createSimulatedPair } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { simulatedClients, quickStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

type Frame = { dir: string; m: DecodedMessage; at: number };
type Station = 'EVSE' | 'EV';

/** The station's Stop Charging command. */
const stopName = (st: Station): string => `${st === 'EVSE' ? 'Evse' : 'Ev'}StopCharging`;

function run() {
  const { clock, pair, evseClient, evClient } = simulatedClients();
  pairs.push(pair);
  const traffic = { EVSE: [] as Frame[], EV: [] as Frame[] };
  evseClient.traffic$.subscribe((t) => t.message && traffic.EVSE.push({ dir: t.dir, m: t.message, at: t.at }));
  evClient.traffic$.subscribe((t) => t.message && traffic.EV.push({ dir: t.dir, m: t.message, at: t.at }));
  const s = quickStations({ clock, evseClient, evClient });
  /** Requests of one command sent since `since` (virtual clock ms), in order. */
  const sent = (st: Station, names: string[], since = 0) =>
    traffic[st].filter((t) => t.at >= since && t.dir === 'tx' && t.m.direction === 'request' && names.includes(t.m.message)).map((t) => t.m.message);
  const phase = (st: Station, p: string) => s.emitted[st].some((e) => e.type === 'phase' && e.phase === p);
  const done = () => s.evse.getSnapshot().status === 'done' && s.ev.getSnapshot().status === 'done';
  /** The first Stop Charging request from the host is lost: the module is silent for 100 ms from it. */
  const loseFirstStop = (st: Station) => {
    const client = st === 'EVSE' ? evseClient : evClient;
    const module = st === 'EVSE' ? pair.evse : pair.ev;
    let lost: number | undefined;
    client.traffic$.subscribe((t) => {
      if (lost !== undefined || t.dir !== 'tx' || t.message?.message !== stopName(st)) return;
      lost = t.at;
      module.setSilent(true);
      clock.setTimeout(() => module.setSilent(false), 100);
    });
    return () => lost;
  };
  /** Answers to Stop Charging requests (result codes), in order. */
  const stopAnswers = (st: Station) => traffic[st].filter((t) => t.dir === 'rx' && t.m.direction === 'response' && t.m.message === stopName(st)).map((t) => t.m.fields.code);
  const station = (st: Station) => (st === 'EVSE' ? s.evse : s.ev);
  const module = (st: Station) => (st === 'EVSE' ? pair.evse : pair.ev);
  return { clock, pair, s, traffic, sent, phase, done, loseFirstStop, stopAnswers, station, module, clients: { EVSE: evseClient, EV: evClient } };
}

type Run = ReturnType<typeof run>;

/**
 * The module of `st` answers again: the station is set up again, and the Stop Charging its cut
 * session owes goes first, before the command that ends the module's session (`next`). Returns
 * when it answered again.
 */
async function owedStopFirstOnReturn(r: Run, st: Station, next: string): Promise<number> {
  r.module(st).setSilent(false);
  const backAt = r.clock.now();
  expect(await r.clock.runUntil(() => JSON.stringify(r.station(st).getSnapshot().value).includes('running'), 60_000, 10)).toBe(true);
  const stops = r.sent(st, [stopName(st), next], backAt);
  expect(stops.slice(0, 2)).toEqual([stopName(st), next]);
  expect(stops.filter((m) => m === stopName(st))).toHaveLength(1);
  return backAt;
}

/** Both stations shut down; `st` sent one Stop Charging since `since`, none again at shutdown. */
async function shutDownWithOneStopSince(r: Run, st: Station, since: number): Promise<void> {
  r.s.ev.send({ type: 'shutdown' });
  r.s.evse.send({ type: 'shutdown' });
  expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
  expect(r.sent(st, [stopName(st)], since)).toHaveLength(1);
}

describe('one Stop Charging per session end, shared by session and station', () => {
  it('EV: a shutdown while the session is stopping (Stop Charging sent) sends no second Stop Charging', async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.phase('EV', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    const session = r.s.ev.system.get('session') as AnyActorRef;
    session.send({ type: 'session.abort', reason: 'evseDisconnected' });
    await r.clock.runUntil(() => r.sent('EV', ['EvStopCharging']).length > 0, 1000, 1);
    // Still waiting for the module to leave energy transfer (v2g-ev/stop.ts): the shutdown cuts it.
    expect(session.getSnapshot().value).toBe('stopping');
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'])).toHaveLength(1);
    expect(r.s.records('EV')).toHaveLength(1);
  });

  it('EVSE: a shutdown after the session sent EvseStopCharging (post-charge) sends no second one', async () => {
    const r = run();
    let cutInPostCharge = false;
    r.s.evse.on('*', (e) => {
      const x = e as { type: string; phase?: string };
      if (x.type !== 'phase' || x.phase !== 'postCharge' || cutInPostCharge) return;
      cutInPostCharge = r.s.evse.system.get('session')?.getSnapshot().status === 'active';
      r.s.evse.send({ type: 'shutdown' });
      r.s.ev.send({ type: 'shutdown' });
    });
    expect(await r.clock.runUntil(() => r.phase('EVSE', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    r.s.ev.send({ type: 'stopCharging' });
    expect(await r.clock.runUntil(r.done, 60_000, 10)).toBe(true);
    expect(cutInPostCharge).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging'])).toHaveLength(1);
    expect(r.s.records('EVSE')).toHaveLength(1);
  });

  // The EV module goes silent while charging, and stays so until the station's reset has given up
  // its stop and the set-up's firmware query went unanswered too: through the reset stop alone, or
  // just as the session is aborted (the session's own Stop Charging is lost, the reset's too).
  it.each([
    ['a module silent through the whole reset stop', false],
    ["the session's own stop (an abort while charging) unanswered by a module gone silent", true],
  ] as const)(
    'EV: %s: the owed Stop Charging goes first when the module answers again, then Stop Session (answered 0)',
    async (_cut, abort) => {
      const r = run();
      expect(await r.clock.runUntil(() => r.phase('EV', 'charging'), 600_000, 10)).toBe(true);
      await r.clock.runUntil(() => false, 3000, 10);
      r.pair.ev.setSilent(true);
      const silentAt = r.clock.now();
      if (abort) (r.s.ev.system.get('session') as AnyActorRef).send({ type: 'session.abort', reason: 'evseDisconnected' });
      expect(await r.clock.runUntil(() => r.s.logs('EV').some((l) => l.includes('it may be restarting')), 60_000, 10)).toBe(true);
      const whileSilent = r.sent('EV', ['EvStopCharging'], silentAt).length;
      if (abort) expect(whileSilent).toBeGreaterThanOrEqual(1);
      else expect(whileSilent).toBe(1);
      const backAt = await owedStopFirstOnReturn(r, 'EV', 'EvStopSession');
      const firstStopSessionAnswer = r.traffic.EV.find((t) => t.at >= backAt && t.dir === 'rx' && t.m.direction === 'response' && t.m.message === 'EvStopSession');
      expect(firstStopSessionAnswer?.m.fields.code).toBe(0);
      // The EVSE's session ends (the car stopped charging) and nothing is owed at shutdown.
      expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 60_000, 10)).toBe(true);
      await shutDownWithOneStopSince(r, 'EV', backAt);
    },
    60_000,
  );

  // The EVSE module goes silent as the session starts (nothing is asked of it, so the liveness
  // watch notices; the session is cut before its stop) or in the charge loop (the session ends on
  // the module failure and sends its EvseStopCharging into the silence).
  it.each([
    ['a session cut by a module lost before its stop', false],
    ['a session ended by a module gone silent in the charge loop', true],
  ] as const)(
    'EVSE: %s owes its EvseStopCharging: sent first when the module answers again, before Stop Listen; none again at shutdown',
    async (_cut, inChargeLoop) => {
      const r = run();
      let silentAt = 0;
      if (inChargeLoop) {
        expect(await r.clock.runUntil(() => r.phase('EVSE', 'charging'), 600_000, 10)).toBe(true);
        await r.clock.runUntil(() => false, 3000, 10);
        r.pair.evse.setSilent(true);
        silentAt = r.clock.now();
      } else {
        r.s.evse.on('*', (e) => {
          if ((e as { type: string; phase?: string }).phase === 'sessionStarted') r.pair.evse.setSilent(true);
        });
      }
      expect(await r.clock.runUntil(() => r.s.logs('EVSE').some((l) => l.includes('it may be restarting')), 600_000, 10)).toBe(true);
      expect(r.s.records('EVSE')).toHaveLength(1);
      if (inChargeLoop) {
        expect(r.s.records('EVSE')[0]?.error?.name).toBe('moduleNotResponding');
        expect(r.sent('EVSE', ['EvseStopCharging'], silentAt).length).toBeGreaterThanOrEqual(1);
      }
      const backAt = await owedStopFirstOnReturn(r, 'EVSE', 'EvseStopListen');
      await shutDownWithOneStopSince(r, 'EVSE', backAt);
    },
    60_000,
  );

  // The first Stop Charging is lost (EVSE: post-charge, after the car stopped; EV: the one the user
  // asked for), and the station is shut down, first, before the request times out (1 s): on main
  // it counted as sent and went no further.
  it.each(['EVSE', 'EV'] as const)('%s: a shutdown while the Stop Charging waits for an answer that never comes sends it again, once, after it timed out', async (st) => {
    const r = run();
    const lostAt = r.loseFirstStop(st);
    expect(await r.clock.runUntil(() => r.phase(st, 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    r.s.ev.send({ type: 'stopCharging' });
    expect(await r.clock.runUntil(() => lostAt() !== undefined, 10_000, 1)).toBe(true);
    await r.clock.runUntil(() => false, 50, 1);
    r.station(st).send({ type: 'shutdown' });
    r.station(st === 'EVSE' ? 'EV' : 'EVSE').send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 10)).toBe(true);
    expect(r.sent(st, [stopName(st)])).toHaveLength(2);
    expect(r.stopAnswers(st)).toHaveLength(1);
    const second = r.traffic[st].filter((t) => t.dir === 'tx' && t.m.message === stopName(st))[1];
    expect(second?.at).toBeGreaterThanOrEqual((lostAt() ?? 0) + DEFAULT_ANSWER_TIMEOUT_MS);
    expect(r.s.records(st)).toHaveLength(1);
  });

  it.each(['EVSE', 'EV'] as const)('%s: a shutdown while the Stop Charging is on the wire, answered after the cut, sends no second one', async (st) => {
    const r = run();
    const name = stopName(st);
    let answeredAtCut: boolean | undefined;
    // Cut as soon as the request is out (a microtask later), before its answer can come back.
    r.clients[st].traffic$.subscribe((t) => {
      if (answeredAtCut !== undefined || t.dir !== 'tx' || t.message?.message !== name) return;
      answeredAtCut = false;
      queueMicrotask(() => {
        answeredAtCut = r.stopAnswers(st).length > 0;
        r.s.evse.send({ type: 'shutdown' });
        r.s.ev.send({ type: 'shutdown' });
      });
    });
    expect(await r.clock.runUntil(() => r.phase(st, 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    r.s.ev.send({ type: 'stopCharging' });
    expect(await r.clock.runUntil(r.done, 60_000, 10)).toBe(true);
    expect(answeredAtCut).toBe(false);
    expect(r.sent(st, [name])).toHaveLength(1);
    expect(r.stopAnswers(st)).toHaveLength(1);
  });

  // A Stop Charging on the wire counts as unanswered once the client has given it up: after the
  // client's answer timeout, whatever it is configured to (not a fixed 1 s).
  it.each([300, undefined])('a Stop Charging the module never answers is settled as unanswered after the client answer timeout (%s ms)', async (timeoutMs) => {
    const clock = new VirtualClock(1_700_000_000_000);
    const pair = createSimulatedPair({ clock });
    pairs.push(pair);
    const client = createHciClient({ transport: pair.evseHost, clock, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    const wire = new StopChargingWire(client, clock, 'EvseStopCharging');
    pair.evse.setSilent(true);
    const sentAt = clock.now();
    client.request(V2g.EvseStopCharging, {}).catch(() => undefined);
    await clock.runUntil(() => false, 0, 1);
    let settledAt: number | undefined;
    void wire.settled().then((answered) => {
      expect(answered).toBe(false);
      settledAt = clock.now();
    });
    expect(await clock.runUntil(() => settledAt !== undefined, 5_000, 10)).toBe(true);
    expect((settledAt ?? 0) - sentAt).toBe(timeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS);
    await client.close();
  });
});
