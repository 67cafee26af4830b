/**
 * Issue 12 item 12, the owed Stop Charging as one fact shared by session and station: a session
 * cut short owes its Stop Charging only if it has not sent one itself, and one that went
 * unanswered (module silent) is owed still, first thing to the module once it answers again.
 * Both stations on the simulated pair, virtual clock; Stop Charging frames counted on the HCI
 * traffic.
 */
import type { AnyActorRef } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { simulatedClients, quickStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

type Frame = { dir: string; m: DecodedMessage; at: number };

function run() {
  const { clock, pair, evseClient, evClient } = simulatedClients();
  pairs.push(pair);
  const traffic = { EVSE: [] as Frame[], EV: [] as Frame[] };
  evseClient.traffic$.subscribe((t) => t.message && traffic.EVSE.push({ dir: t.dir, m: t.message, at: t.at }));
  evClient.traffic$.subscribe((t) => t.message && traffic.EV.push({ dir: t.dir, m: t.message, at: t.at }));
  const s = quickStations({ clock, evseClient, evClient });
  /** Requests of one command sent since `since` (virtual clock ms), in order. */
  const sent = (st: 'EVSE' | 'EV', names: string[], since = 0) =>
    traffic[st].filter((t) => t.at >= since && t.dir === 'tx' && t.m.direction === 'request' && names.includes(t.m.message)).map((t) => t.m.message);
  const phase = (st: 'EVSE' | 'EV', p: string) => s.emitted[st].some((e) => e.type === 'phase' && e.phase === p);
  const done = () => s.evse.getSnapshot().status === 'done' && s.ev.getSnapshot().status === 'done';
  /** The first Stop Charging request from the host is lost: the module is silent for 100 ms from it. */
  const loseFirstStop = (st: 'EVSE' | 'EV') => {
    const client = st === 'EVSE' ? evseClient : evClient;
    const module = st === 'EVSE' ? pair.evse : pair.ev;
    let lost: number | undefined;
    client.traffic$.subscribe((t) => {
      if (lost !== undefined || t.dir !== 'tx' || t.message?.message !== `${st === 'EVSE' ? 'Evse' : 'Ev'}StopCharging`) return;
      lost = t.at;
      module.setSilent(true);
      clock.setTimeout(() => module.setSilent(false), 100);
    });
    return () => lost;
  };
  /** Answers to Stop Charging requests (result codes), in order. */
  const stopAnswers = (st: 'EVSE' | 'EV') =>
    traffic[st].filter((t) => t.dir === 'rx' && t.m.direction === 'response' && t.m.message === `${st === 'EVSE' ? 'Evse' : 'Ev'}StopCharging`).map((t) => t.m.fields.code);
  return { clock, pair, s, traffic, sent, phase, done, loseFirstStop, stopAnswers, clients: { EVSE: evseClient, EV: evClient } };
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

  it('EV: a module silent through the whole reset stop gets the owed Stop Charging first when it answers again, then Stop Session (answered 0)', async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.phase('EV', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 3000, 10);
    r.pair.ev.setSilent(true);
    const silentAt = r.clock.now();
    // Silent until the reset's stop gave up and the set-up's firmware query went unanswered too.
    expect(await r.clock.runUntil(() => r.s.logs('EV').some((l) => l.includes('it may be restarting')), 60_000, 10)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'], silentAt)).toHaveLength(1);
    r.pair.ev.setSilent(false);
    const backAt = r.clock.now();
    expect(await r.clock.runUntil(() => JSON.stringify(r.s.ev.getSnapshot().value).includes('running'), 60_000, 10)).toBe(true);
    const stops = r.sent('EV', ['EvStopCharging', 'EvStopSession'], backAt);
    expect(stops.slice(0, 2)).toEqual(['EvStopCharging', 'EvStopSession']);
    expect(stops.filter((m) => m === 'EvStopCharging')).toHaveLength(1);
    const firstStopSessionAnswer = r.traffic.EV.find((t) => t.at >= backAt && t.dir === 'rx' && t.m.direction === 'response' && t.m.message === 'EvStopSession');
    expect(firstStopSessionAnswer?.m.fields.code).toBe(0);
    // The EVSE's session ends (the car stopped charging) and nothing is owed at shutdown.
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 60_000, 10)).toBe(true);
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'], backAt)).toHaveLength(1);
  }, 60_000);

  it("EV: the session's own stop (an abort while charging) unanswered by a module gone silent: the owed Stop Charging goes first when it answers again", async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.phase('EV', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 3000, 10);
    // The module goes quiet just as the session is aborted: the session's Stop Charging is lost.
    r.pair.ev.setSilent(true);
    const silentAt = r.clock.now();
    (r.s.ev.system.get('session') as AnyActorRef).send({ type: 'session.abort', reason: 'evseDisconnected' });
    expect(await r.clock.runUntil(() => r.s.logs('EV').some((l) => l.includes('it may be restarting')), 60_000, 10)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'], silentAt).length).toBeGreaterThanOrEqual(1);
    r.pair.ev.setSilent(false);
    const backAt = r.clock.now();
    expect(await r.clock.runUntil(() => JSON.stringify(r.s.ev.getSnapshot().value).includes('running'), 60_000, 10)).toBe(true);
    const stops = r.sent('EV', ['EvStopCharging', 'EvStopSession'], backAt);
    expect(stops.slice(0, 2)).toEqual(['EvStopCharging', 'EvStopSession']);
    expect(stops.filter((m) => m === 'EvStopCharging')).toHaveLength(1);
    const firstStopSessionAnswer = r.traffic.EV.find((t) => t.at >= backAt && t.dir === 'rx' && t.m.direction === 'response' && t.m.message === 'EvStopSession');
    expect(firstStopSessionAnswer?.m.fields.code).toBe(0);
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 60_000, 10)).toBe(true);
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'], backAt)).toHaveLength(1);
  }, 60_000);

  it('EVSE: a session cut by a module lost before its stop gets the owed EvseStopCharging first when the module answers again, before Stop Listen; none again at shutdown', async () => {
    const r = run();
    // Silent as the session starts: nothing is asked of the module, so the liveness watch notices.
    r.s.evse.on('*', (e) => {
      if ((e as { type: string; phase?: string }).phase === 'sessionStarted') r.pair.evse.setSilent(true);
    });
    expect(await r.clock.runUntil(() => r.s.logs('EVSE').some((l) => l.includes('it may be restarting')), 600_000, 10)).toBe(true);
    expect(r.s.records('EVSE')).toHaveLength(1);
    r.pair.evse.setSilent(false);
    const backAt = r.clock.now();
    expect(await r.clock.runUntil(() => JSON.stringify(r.s.evse.getSnapshot().value).includes('running'), 60_000, 10)).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging', 'EvseStopListen'], backAt).slice(0, 2)).toEqual(['EvseStopCharging', 'EvseStopListen']);
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging'], backAt)).toHaveLength(1);
  }, 60_000);

  it('EVSE: a session ended by a module gone silent in the charge loop owes its lost EvseStopCharging: sent first when the module answers again, before Stop Listen; none again at shutdown', async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.phase('EVSE', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 3000, 10);
    r.pair.evse.setSilent(true);
    const silentAt = r.clock.now();
    expect(await r.clock.runUntil(() => r.s.logs('EVSE').some((l) => l.includes('it may be restarting')), 60_000, 10)).toBe(true);
    // The session ended on the module failure and sent its EvseStopCharging into the silence.
    expect(r.s.records('EVSE')[0]?.error?.name).toBe('moduleNotResponding');
    expect(r.sent('EVSE', ['EvseStopCharging'], silentAt).length).toBeGreaterThanOrEqual(1);
    r.pair.evse.setSilent(false);
    const backAt = r.clock.now();
    expect(await r.clock.runUntil(() => JSON.stringify(r.s.evse.getSnapshot().value).includes('running'), 60_000, 10)).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging', 'EvseStopListen'], backAt).slice(0, 2)).toEqual(['EvseStopCharging', 'EvseStopListen']);
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 100)).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging'], backAt)).toHaveLength(1);
  }, 60_000);

  it('EVSE: a shutdown while the post-charge EvseStopCharging waits for an answer that never comes sends it again, once, after it timed out', async () => {
    const r = run();
    const lostAt = r.loseFirstStop('EVSE');
    expect(await r.clock.runUntil(() => r.phase('EVSE', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    r.s.ev.send({ type: 'stopCharging' });
    expect(await r.clock.runUntil(() => lostAt() !== undefined, 10_000, 1)).toBe(true);
    // Cut before the request times out (1 s): on main it counted as sent and went no further.
    await r.clock.runUntil(() => false, 50, 1);
    r.s.evse.send({ type: 'shutdown' });
    r.s.ev.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 10)).toBe(true);
    expect(r.sent('EVSE', ['EvseStopCharging'])).toHaveLength(2);
    expect(r.stopAnswers('EVSE')).toHaveLength(1);
    const second = r.traffic.EVSE.filter((t) => t.dir === 'tx' && t.m.message === 'EvseStopCharging')[1];
    expect(second?.at).toBeGreaterThanOrEqual((lostAt() ?? 0) + 1000);
    expect(r.s.records('EVSE')).toHaveLength(1);
  });

  it('EV: a shutdown while the Stop Charging the user asked for waits for an answer that never comes sends it again, once, after it timed out', async () => {
    const r = run();
    const lostAt = r.loseFirstStop('EV');
    expect(await r.clock.runUntil(() => r.phase('EV', 'charging'), 600_000, 10)).toBe(true);
    await r.clock.runUntil(() => false, 2000, 10);
    r.s.ev.send({ type: 'stopCharging' });
    expect(await r.clock.runUntil(() => lostAt() !== undefined, 10_000, 1)).toBe(true);
    await r.clock.runUntil(() => false, 50, 1);
    r.s.ev.send({ type: 'shutdown' });
    r.s.evse.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(r.done, 60_000, 10)).toBe(true);
    expect(r.sent('EV', ['EvStopCharging'])).toHaveLength(2);
    expect(r.stopAnswers('EV')).toHaveLength(1);
    const second = r.traffic.EV.filter((t) => t.dir === 'tx' && t.m.message === 'EvStopCharging')[1];
    expect(second?.at).toBeGreaterThanOrEqual((lostAt() ?? 0) + 1000);
    expect(r.s.records('EV')).toHaveLength(1);
  });

  it.each(['EVSE', 'EV'] as const)('%s: a shutdown while the Stop Charging is on the wire, answered after the cut, sends no second one', async (st) => {
    const r = run();
    const name = `${st === 'EVSE' ? 'Evse' : 'Ev'}StopCharging`;
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
});
