/**
 * A session between the simulated modules on the virtual clock is deterministic: two runs put
 * the same bytes on both HCI links in the same order at the same virtual instants (issue 4).
 * Also the VirtualClock's own ordering guarantees, which that determinism rests on.
 */
import { describe, expect, it } from 'vitest';
import { type FaultConfig, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { ScriptedHost } from '../../sim/host-stub.js';
import { runEvseStub, runEvStub } from '../../sim/stub-stations.js';
import { bytesToHex } from '../../codec/frame.js';
import { VirtualClock } from '../../util/clock.js';

interface Run {
  /** "<virtual ms> <EVSE|EV> <rx|tx> <frame hex>", in the order the frames crossed the links. */
  frames: string[];
  evStatuses: string[];
  evseStatuses: string[];
}

/** The standard full DC session (every phase, 10 s of charge loop), as bench/sim-session.ts runs it. */
async function fullSession(faults?: FaultConfig): Promise<Run & { done: boolean }> {
  const clock = new VirtualClock();
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: 1000 } }), ...(faults ? { faults } : {}) });
  const frames: string[] = [];
  pair.evse.traffic$.subscribe((t) => frames.push(`${t.at} EVSE ${t.dir} ${bytesToHex(t.bytes)}`));
  pair.ev.traffic$.subscribe((t) => frames.push(`${t.at} EV ${t.dir} ${bytesToHex(t.bytes)}`));
  const evse = new ScriptedHost(pair.evseHost, clock);
  const ev = new ScriptedHost(pair.evHost, clock);
  void runEvseStub(evse, clock).catch(() => undefined);
  void runEvStub(ev, clock, { energyTransferMode: 1, chargeForMs: 10_000 }).catch(() => undefined);
  const done = await clock.runUntil(() => ev.types().includes('V2g.EvSessionStopped') && evse.types().includes('V2g.EvseSessionStopped'), 600_000);
  await pair.close();
  return { done, frames, evStatuses: ev.types(), evseStatuses: evse.types() };
}

describe('simulated session determinism', () => {
  it('two full DC sessions give the identical frame sequence (bytes, order, virtual time)', async () => {
    const a = await fullSession();
    const b = await fullSession();
    expect(a.done && b.done).toBe(true);
    // Every phase of the standard session happened.
    for (const t of [
      'Slac.SlacSuccess',
      'V2g.EvseSessionStarted',
      'V2g.EvseAuthorizationStatusRequested',
      'V2g.EvseSchedulesRequested',
      'V2g.EvseCableCheckRequested',
      'V2g.EvsePreChargeStarted',
      'V2g.EvseStartChargingRequested',
      'V2g.EvseStopChargingRequested',
      'V2g.EvseWeldingDetectionStarted',
      'V2g.EvseSessionStopped',
    ]) {
      expect(a.evseStatuses).toContain(t);
    }
    expect(a.evStatuses).toContain('V2g.EvSessionStopped');
    expect(a.frames.length).toBeGreaterThan(200);
    expect(b.frames).toEqual(a.frames);
    expect(b.evStatuses).toEqual(a.evStatuses);
    expect(b.evseStatuses).toEqual(a.evseStatuses);
  });

  it('is deterministic with seeded link and module faults too (corruption, busy answers)', async () => {
    // The scripted hosts give up on a busy answer, so the session need not finish: what counts
    // is that both runs go wrong the same way.
    const faults: FaultConfig = { seed: 5, links: { evse: { corruptRate: 0.02 } }, modules: { ev: { busyRate: 0.05 } } };
    const a = await fullSession(faults);
    const b = await fullSession(faults);
    expect(a.frames.length).toBeGreaterThan(20);
    expect(b.done).toBe(a.done);
    expect(b.frames).toEqual(a.frames);
    expect(b.evseStatuses).toEqual(a.evseStatuses);
  });
});

describe('VirtualClock ordering', () => {
  it('fires timers by due time, same-instant timers in the order set, and skips cleared ones', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const at = (name: string, ms: number): number => clock.setTimeout(() => fired.push(`${name}@${clock.now()}`), ms);
    at('c', 30);
    at('a1', 10);
    const gone = at('x', 10);
    at('a2', 10);
    at('b', 20);
    clock.clearTimeout(gone);
    clock.setTimeout(() => {
      fired.push(`d@${clock.now()}`);
      at('e', 0); // set while firing, due now: runs in the same advance
    }, 25);
    expect(clock.pending).toBe(5);
    clock.advance(30);
    expect(fired).toEqual(['a1@10', 'a2@10', 'b@20', 'd@25', 'e@25', 'c@30']);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(30);
  });

  it('keeps order through many set/clear cycles (heap rebuild)', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < 500; i++) {
      const ms = (i * 37) % 101;
      const id = clock.setTimeout(() => fired.push(i), ms);
      if (i % 5 === 0) kept.push(i);
      else clock.clearTimeout(id);
    }
    expect(clock.pending).toBe(kept.length);
    clock.advance(200);
    const expected = [...kept].sort((x, y) => ((x * 37) % 101) - ((y * 37) % 101) || x - y);
    expect(fired).toEqual(expected);
  });
});
