/**
 * Issue 12, item 8: module liveness in every phase. The EVSE module stops answering during SLAC
 * matching, when the host expects nothing from it (it went unnoticed for 50 s): the station
 * notices within 2 s by framing pings, takes the output to 0 and initialises the module again
 * once it answers; a module that answers is left alone. Simulated pair, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { createActor, createMachine } from 'xstate';
import type { DecodedMessage } from '../../codec/catalog.js';
import type { HciClient, StatusEvent } from '../../machines/hci-types.js';
import { createHciClient } from '../../machines/hci-client.js';
import { LIVENESS_IDLE_MS, LIVENESS_TIMEOUT_MS, livenessWatch } from '../../machines/liveness.js';
import { createSimulatedPair } from '../../sim/index.js';
import { parseScenario } from '../../sim/scenario.js';
import { type Clock, type TimerId, VirtualClock } from '../../util/clock.js';
import { commandedOutput } from '../../machines/charger.js';
import { simulatedClients, quickStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/** The station pair on the simulated modules; `plugInAfterMs` leaves the EVSE at rest that long first. */
function run(plugInAfterMs?: number) {
  const { clock, pair, evseClient, evClient } = plugInAfterMs === undefined ? simulatedClients() : clientsPluggingInAfter(plugInAfterMs);
  pairs.push(pair);
  let lastFromModule = 0;
  let lastFromEvModule = 0;
  /** Per Ping the EVSE host sent: how long the module had been quiet then. */
  const pingGaps: number[] = [];
  pair.evse.traffic$.subscribe((t) => {
    if (t.dir === 'tx') lastFromModule = t.at;
  });
  pair.ev.traffic$.subscribe((t) => {
    if (t.dir === 'tx') lastFromEvModule = t.at;
  });
  evseClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message?.message === 'Ping') pingGaps.push(t.at - lastFromModule);
  });
  const s = quickStations({ clock, evseClient, evClient });
  const state = (): string => JSON.stringify(s.evse.getSnapshot().value);
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : undefined;
  };
  const evState = (): string => JSON.stringify(s.ev.getSnapshot().value);
  const batteryCharging = (): boolean => (s.ev.system.get('battery')?.getSnapshot() as { context: { charging: boolean } } | undefined)?.context.charging ?? false;
  return { clock, pair, s, state, evState, batteryCharging, output, lastFromModule: () => lastFromModule, lastFromEvModule: () => lastFromEvModule, pingGaps };
}

function clientsPluggingInAfter(plugInAfterMs: number) {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs }, ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
  return { clock, pair, evseClient: createHciClient({ transport: pair.evseHost, clock }), evClient: createHciClient({ transport: pair.evHost, clock }) };
}

/**
 * The liveness watch alone, under a stand-in parent: fromCallback's sendBack goes to the parent,
 * which records when it heard `module.silent`.
 */
function watchLiveness(client: HciClient, clock: Clock) {
  const silent: number[] = [];
  const parent = createActor(
    createMachine({
      invoke: { src: livenessWatch, input: { client, clock } },
      on: { 'module.silent': { actions: () => silent.push(clock.now()) } },
    }),
  ).start();
  return { silent, parent };
}

type Traffic = { dir: 'rx' | 'tx'; at: number; bytes: Uint8Array; message?: DecodedMessage };

/** A stand-in HCI client whose Pings `answer` settles; `rx` plays a frame from the module. */
function fakeClient(clock: Clock, answer: (timeoutMs: number) => Promise<void>) {
  const traffic$ = new Subject<Traffic>();
  let pings = 0;
  const client: HciClient = {
    traffic$,
    status$: new Subject<StatusEvent>(),
    request: () => Promise.reject(new Error('not used')),
    checkAlive(timeoutMs = 1000) {
      pings++;
      return answer(timeoutMs);
    },
    close: async () => undefined,
  };
  const rx = (): void => traffic$.next({ dir: 'rx', at: clock.now(), bytes: new Uint8Array(0) });
  return { client, rx, pings: () => pings };
}

/**
 * The watch's timers, with the wake-ups of an idle host counted the way Node's event loop has
 * them: one loop timer set for the earliest timer when the timers due have run, or when an
 * earlier one is set; clearing a timer does not move it (lib/internal/timers.js). So a cleared
 * timer still wakes the host at its due time. Counted per instant of the virtual clock.
 */
function nodeWakeUps(clock: VirtualClock) {
  const due = new Map<TimerId, number>();
  const wokeAt = new Set<number>();
  let loopDue = Number.POSITIVE_INFINITY;
  let probe: TimerId | undefined;
  const armLoop = (at: number): void => {
    if (probe !== undefined) clock.clearTimeout(probe);
    loopDue = at;
    probe = Number.isFinite(at) ? clock.setTimeout(wake, at - clock.now()) : undefined;
  };
  /** After the timers due now ran (and before any input is read), the loop timer goes to the next one. */
  const rearm = (): void => armLoop(Math.min(...[...due.values()].filter((at) => at > clock.now())));
  function wake(): void {
    probe = undefined;
    wokeAt.add(clock.now());
    rearm();
  }
  const watched: Clock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => {
      const at = clock.now() + Math.max(0, ms);
      const id = clock.setTimeout(() => {
        due.delete(id);
        wokeAt.add(clock.now());
        fn();
        rearm();
      }, ms);
      due.set(id, at);
      if (at < loopDue) armLoop(at);
      return id;
    },
    clearTimeout: (id) => {
      due.delete(id);
      clock.clearTimeout(id);
    },
  };
  return { clock: watched, wakeUps: () => wokeAt.size };
}

/** An EVSE host's client on a simulated pair with no car, counting its Pings and the time of the module's last frame. */
function restingEvse() {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
  pairs.push(pair);
  const client = createHciClient({ transport: pair.evseHost, clock });
  const seen = { pings: 0, lastFromModule: clock.now() };
  client.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message?.message === 'Ping') seen.pings++;
    if (t.dir === 'rx') seen.lastFromModule = t.at;
  });
  return { clock, pair, client, seen };
}

describe('module liveness', () => {
  it('a module that dies during SLAC matching is noticed within 2 s, then initialised again when it is back', async () => {
    const r = run();
    // Silent from the moment the station starts SLAC matching (the host waits for SlacMatched).
    r.s.evse.on('*', (e) => {
      if ((e as { type: string; phase?: string }).phase === 'slac') r.pair.evse.setSilent(true);
    });
    const warned = () => r.s.logs('EVSE').some((l) => l.startsWith('Module not answering'));
    expect(await r.clock.runUntil(warned, 120_000, 10)).toBe(true);
    const detectedAfterMs = r.clock.now() - r.lastFromModule();
    expect(detectedAfterMs).toBeLessThanOrEqual(2000);
    expect(r.state()).toBe('{"reinitialising":"reset"}');
    expect(r.output()?.voltageV ?? 0).toBe(0);

    // Back: the station initialises it again and runs.
    r.pair.evse.setSilent(false);
    expect(await r.clock.runUntil(() => r.state().includes('running'), 60_000, 100)).toBe(true);
  });

  it('a module that answers is only pinged while nothing else comes from it, and the session runs', async () => {
    // 10 s at rest before the car plugs in, then a whole session.
    const r = run(10_000);
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length >= 1, 3_600_000, 100)).toBe(true);
    expect(r.s.records('EVSE')[0]?.error).toBeUndefined();
    expect(r.s.logs('EVSE').some((l) => l.startsWith('Module not answering'))).toBe(false);
    // At rest the Pings fill the gaps between the CP state re-reads (CAR_WAIT_REREAD_MS); in SLAC
    // and the session something comes within LIVENESS_IDLE_MS, so nothing is pinged there.
    expect(r.pingGaps.length).toBeGreaterThanOrEqual(4);
    expect(Math.min(...r.pingGaps)).toBeGreaterThanOrEqual(LIVENESS_IDLE_MS);
  });

  it('at rest pings every 1.7 s with two timer wake-ups of the host per Ping, and a module that dies then is reported within 1.95 s', async () => {
    expect(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS).toBeLessThan(2000);
    const { clock, pair, client, seen } = restingEvse();
    const wakes = nodeWakeUps(clock);
    const { silent, parent } = watchLiveness(client, wakes.clock);
    // 34 s at rest: a Ping every 1.7 s (1.5 s in the fourth to seventh rounds, every second
    // before), and the watch's timers wake the host twice per Ping (the Ping, its deadline; the
    // reply is a third wake-up, input). Clearing the deadline when the reply comes would not save one.
    await clock.runUntil(() => false, 34_000, 10);
    expect(seen.pings).toBeGreaterThanOrEqual(19);
    expect(seen.pings).toBeLessThanOrEqual(20);
    expect(wakes.wakeUps()).toBeLessThanOrEqual(2 * seen.pings + 1);
    pair.evse.setSilent(true);
    expect(await clock.runUntil(() => silent.length > 0, 10_000, 10)).toBe(true);
    expect((silent[0] ?? Infinity) - seen.lastFromModule).toBeLessThanOrEqual(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS);
    parent.stop();
    await client.close();
  });

  it('at rest a Ping answered within the same turn of the event loop arms no deadline: one timer wake-up of the host per Ping, and a dead module is still reported within 1.95 s', async () => {
    const { clock, pair, client, seen } = restingEvse();
    const wakes = nodeWakeUps(clock);
    // Node's setImmediate (RealClock): after the input already waiting was read, in the same turn
    // of the loop, so no wake-up of its own. The simulated module's reply is such input.
    const watched: Clock = { ...wakes.clock, afterPendingInput: (fn) => void clock.setTimeout(fn, 0) };
    const { silent, parent } = watchLiveness(client, watched);
    await clock.runUntil(() => false, 34_000, 10);
    expect(seen.pings).toBeGreaterThanOrEqual(19);
    // Main armed a 200 ms deadline per Ping and cleared it at the reply: two wake-ups per Ping.
    expect(wakes.wakeUps()).toBeLessThanOrEqual(seen.pings + 1);
    pair.evse.setSilent(true);
    expect(await clock.runUntil(() => silent.length > 0, 10_000, 10)).toBe(true);
    expect((silent[0] ?? Infinity) - seen.lastFromModule).toBeLessThanOrEqual(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS);
    parent.stop();
    await client.close();
  });

  it('at rest a Ping costs the host two timers in all (the watch judges; the client arms no backstop of its own)', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
    pairs.push(pair);
    // The client and the watch share one clock that counts the timers set; the simulated module's
    // own timers are not the host's and run on the plain clock.
    let timersSet = 0;
    const counted: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => {
        timersSet++;
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (id) => clock.clearTimeout(id),
    };
    const client = createHciClient({ transport: pair.evseHost, clock: counted });
    let pings = 0;
    let lastFromModule = clock.now();
    client.traffic$.subscribe((t) => {
      if (t.dir === 'tx' && t.message?.message === 'Ping') pings++;
      if (t.dir === 'rx') lastFromModule = t.at;
    });
    const { silent, parent } = watchLiveness(client, counted);
    await clock.runUntil(() => false, 34_000, 10);
    expect(pings).toBeGreaterThanOrEqual(19);
    // Each Ping: its deadline and the next check (a backstop per Ping made it three).
    expect(timersSet).toBeLessThanOrEqual(2 * pings + 1);
    pair.evse.setSilent(true);
    expect(await clock.runUntil(() => silent.length > 0, 10_000, 10)).toBe(true);
    expect((silent[0] ?? Infinity) - lastFromModule).toBeLessThanOrEqual(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS);
    parent.stop();
    await client.close();
  });

  /*
   * The worst case of item 8 and the rest cadence, as numbers (docs/performance.md target 2, eighth
   * round): not derived from LIVENESS_IDLE_MS and LIVENESS_TIMEOUT_MS, so that a change of either
   * has to change these tests too, and cannot pass the 2 s of item 8 unnoticed.
   */
  it("at rest the worst case from the module's last frame to the verdict is 1.95 s (1.7 s of silence + 250 ms), wherever in the Ping cycle the module dies", async () => {
    const detections: number[] = [];
    // Deaths 0-1700 ms after a Ping Reply, every 100 ms: the whole cycle between two Pings.
    for (let afterReplyMs = 0; afterReplyMs <= 1700; afterReplyMs += 100) {
      const { clock, pair, client, seen } = restingEvse();
      const { silent, parent } = watchLiveness(client, clock);
      await clock.runUntil(() => seen.pings >= 5);
      await clock.runUntil(() => false, afterReplyMs);
      pair.evse.setSilent(true);
      expect(await clock.runUntil(() => silent.length > 0, 10_000)).toBe(true);
      detections.push((silent[0] ?? Infinity) - seen.lastFromModule);
      parent.stop();
      await client.close();
    }
    expect(Math.max(...detections)).toBe(1950);
    expect(Math.max(...detections)).toBeLessThan(2000);
  });

  it('an EVSE waiting for a car sends one frame every 1.7 s (Pings and CP Get State re-reads), and a module that dies at any moment of that rest is reported within 1.95 s', async () => {
    const rest = () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
      pairs.push(pair);
      const evseClient = createHciClient({ transport: pair.evseHost, clock });
      const s = quickStations({ clock, evseClient, evClient: createHciClient({ transport: pair.evHost, clock }) });
      const sent: number[] = [];
      let lastFromModule = clock.now();
      pair.evse.traffic$.subscribe((t) => {
        if (t.dir === 'rx') sent.push(t.at);
        else lastFromModule = t.at;
      });
      return { clock, pair, s, sent, lastFromModule: () => lastFromModule };
    };
    // Two minutes at rest after the set-up: the frames the host sends, and the gaps between them.
    const r = rest();
    await r.clock.runUntil(() => false, 20_000);
    const from = r.sent.length;
    await r.clock.runUntil(() => false, 120_000);
    const frames = r.sent.slice(from);
    const gaps = frames.slice(1).map((at, i) => at - (frames[i] ?? at));
    // 1.7 s between two frames: 70-71 in 120 s (the seventh round's 1.5 s: 80).
    expect(frames.length).toBeLessThanOrEqual(72);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1700);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1750);

    // The module dies at moments spread over one re-read period (4 x 1.7 s), so also while a Get
    // State is out or just answered: the verdict comes within 1.95 s of its last frame every time.
    const detections: number[] = [];
    for (let offsetMs = 0; offsetMs < 6800; offsetMs += 425) {
      const d = rest();
      await d.clock.runUntil(() => false, 20_000 + offsetMs);
      d.pair.evse.setSilent(true);
      const warned = () => d.s.logs('EVSE').some((l) => l.startsWith('Module not answering'));
      expect(await d.clock.runUntil(warned, 10_000)).toBe(true);
      detections.push(d.clock.now() - d.lastFromModule());
      d.s.evse.stop();
      d.s.ev.stop();
    }
    expect(Math.max(...detections)).toBeLessThanOrEqual(1950);
  });

  it('a module that answers Pings as late as seen in the field (152 ms, a WHITE-beet uploading its QCA firmware, Sevenstax/FreeV2G#72) is not taken for a dead one', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const fake = fakeClient(clock, () => new Promise<void>((resolve) => clock.setTimeout(() => (fake.rx(), resolve()), 152)));
    const { silent, parent } = watchLiveness(fake.client, clock);
    await clock.runUntil(() => false, 60_000, 10);
    expect(fake.pings()).toBeGreaterThanOrEqual(30);
    expect(silent).toEqual([]);
    parent.stop();
  });

  it('a closed client is reported silent at its next check, without waiting for a deadline', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
    pairs.push(pair);
    const client = createHciClient({ transport: pair.evseHost, clock });
    const errors: string[] = [];
    const parent = createActor(
      createMachine({
        invoke: { src: livenessWatch, input: { client, clock } },
        on: { 'module.silent': { actions: ({ event }) => errors.push(`${clock.now()} ${event.error}`) } },
      }),
    ).start();
    const closedAt = clock.now();
    await client.close();
    expect(await clock.runUntil(() => errors.length > 0, 10_000, 10)).toBe(true);
    expect(errors).toEqual([`${closedAt + LIVENESS_IDLE_MS} Framing.Ping: client closed`]);
    parent.stop();
  });

  it('a module that dies right after a frame of its own (not a Ping Reply) is reported within idle + timeout (1.95 s)', async () => {
    expect(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS).toBeLessThan(2000);
    const clock = new VirtualClock(1_700_000_000_000);
    let alive = true;
    const fake = fakeClient(clock, (timeoutMs) => {
      if (alive) queueMicrotask(fake.rx);
      return new Promise<void>((resolve, reject) => clock.setTimeout(() => (alive ? resolve() : reject(new Error('no Ping Reply'))), timeoutMs));
    });
    const { silent, parent } = watchLiveness(fake.client, clock);
    // Frames flow every 300 ms (no Ping is needed), then one last frame and the module is gone.
    for (let i = 0; i < 10; i++) {
      fake.rx();
      await clock.runUntil(() => false, 300, 10);
    }
    expect(fake.pings()).toBe(0);
    fake.rx();
    const lastAt = clock.now();
    alive = false;
    expect(await clock.runUntil(() => silent.length > 0, 10_000, 10)).toBe(true);
    expect((silent[0] ?? Infinity) - lastAt).toBeLessThanOrEqual(LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS);
    parent.stop();
  });

  // With the plain clock and with the deadline armed after the input (RealClock's afterPendingInput).
  it.each([
    ['the deadline armed at the Ping', false],
    ['the deadline armed after the input (RealClock)', true],
  ])('one Ping or reply lost on a quiet link is no silence: a second Ping goes out halfway to the deadline (fuzz run 5), %s', async (_, afterInput) => {
    const clock = new VirtualClock(1_700_000_000_000);
    const deferred: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (id) => clock.clearTimeout(id),
      afterPendingInput: (fn) => void clock.setTimeout(fn, 0),
    };
    // Every third Ping is lost (no reply, the client's backstop rejects it); the others are
    // answered a microtask later. Nothing else comes from the module.
    let n = 0;
    const fake = fakeClient(clock, (timeoutMs) => {
      n++;
      if (n % 3 === 1) return new Promise<void>((_, reject) => clock.setTimeout(() => reject(new Error('no Ping Reply')), timeoutMs));
      queueMicrotask(fake.rx);
      return Promise.resolve();
    });
    const { silent, parent } = watchLiveness(fake.client, afterInput ? deferred : clock);
    await clock.runUntil(() => false, 20_000, 10);
    expect(silent).toEqual([]);
    // About one check per 1.7 s, and one more Ping for each lost one.
    expect(fake.pings()).toBeGreaterThanOrEqual(12);
    parent.stop();
  });

  it('a reply that is already waiting when the timeout fires (a stalled host) does not count as silence', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    // A module whose reply reaches the host at the same instant as the liveness timeout, queued
    // behind it: what a host stalled past the timeout sees when it runs again.
    const fake = fakeClient(clock, (timeoutMs) => {
      const sentAt = clock.now();
      return new Promise<void>((resolve, reject) => {
        const backstop = clock.setTimeout(() => reject(new Error('no Ping Reply')), timeoutMs);
        queueMicrotask(() =>
          clock.setTimeout(
            () => {
              clock.clearTimeout(backstop);
              fake.rx();
              resolve();
            },
            sentAt + LIVENESS_TIMEOUT_MS - clock.now(),
          ),
        );
      });
    });
    const { silent, parent } = watchLiveness(fake.client, clock);
    await clock.runUntil(() => false, 10_000, 10);
    expect(fake.pings()).toBeGreaterThanOrEqual(4);
    expect(silent).toEqual([]);
    parent.stop();
  });

  it('a Ping lost on the link while other frames keep coming is no silence (fuzz seed 684)', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    // Frames arrive every 1.7 s (longer than the idle time, so pings go out, shorter than idle +
    // timeout), but no Ping is ever answered: the client's backstop rejects each one.
    const fake = fakeClient(clock, (timeoutMs) => new Promise<void>((_, reject) => clock.setTimeout(() => reject(new Error(`Framing.Ping: no Ping Reply within ${timeoutMs} ms`)), timeoutMs)));
    let feeding = true;
    const feed = (): void => {
      if (!feeding) return;
      fake.rx();
      clock.setTimeout(feed, LIVENESS_IDLE_MS + LIVENESS_TIMEOUT_MS / 2);
    };
    feed();
    const { silent, parent } = watchLiveness(fake.client, clock);
    await clock.runUntil(() => false, 20_000, 10);
    expect(fake.pings()).toBeGreaterThanOrEqual(4);
    expect(silent).toEqual([]);
    feeding = false;
    parent.stop();
  });

  // The EV station (issue 12 item 8 asks for every phase on both sides): the EV module dies while
  // the host waits for the EVSE (SLAC matching) and while frames flow (the charge loop).
  it.each(['slac', 'charging'])('an EV module that dies in phase %s is noticed within 2 s, the battery takes no current, and it is set up again when back', async (phase) => {
    const r = run();
    r.s.ev.on('*', (e) => {
      if ((e as { type: string; phase?: string }).phase === phase) r.pair.ev.setSilent(true);
    });
    const warned = () => r.s.logs('EV').some((l) => l.startsWith('Module not answering'));
    expect(await r.clock.runUntil(warned, 600_000, 10)).toBe(true);
    expect(r.clock.now() - r.lastFromEvModule()).toBeLessThanOrEqual(2000);
    expect(await r.clock.runUntil(() => r.evState().includes('reinitialising') || r.evState() === '"failed"', 10_000, 10)).toBe(true);
    expect(r.batteryCharging()).toBe(false);
    if (phase === 'charging') expect(r.s.records('EV')[0]?.error?.name).toBe('moduleNotResponding');

    r.pair.ev.setSilent(false);
    // Set up again: the firmware check and the clean-up run, and the station is back in `running`.
    expect(await r.clock.runUntil(() => r.evState().includes('running'), 60_000, 100)).toBe(true);
    expect(r.s.logs('EV').filter((l) => l.startsWith('WHITE-beet-PI firmware version')).length).toBe(2);
  });
});
