import { describe, expect, it } from 'vitest';
import { createActor, emit, setup } from 'xstate';
import { type StationEmitted, relayEmitted, sampleEvent, stationRelay } from '../../machines/station-events.js';

/** A stand-in station: emits a log line through XState on `go`. */
const station = setup({ types: { events: {} as { type: 'go' }, emitted: {} as StationEmitted } }).createMachine({
  on: { go: { actions: emit({ type: 'log', station: 'EVSE', text: 'through XState' }) } },
});

const sample = sampleEvent('EVSE', { at: 5, voltageV: 400, currentA: 10, energyWh: 1 });

describe('station relay (issue 12 target 4: children emit without a station macrostep)', () => {
  it('reaches the same listeners as XState emit, typed listeners before "*" ones, in one order with the station\'s own events', () => {
    const actor = createActor(station);
    relayEmitted(actor);
    actor.start();
    const seen: string[] = [];
    actor.on('*', (e) => seen.push(`* ${e.type}`));
    actor.on('sample', (e) => seen.push(`sample ${e.type}`));
    actor.on('log', (e) => seen.push(`log ${e.type}`));
    const relay = stationRelay(actor.system);
    expect(relay).toBeDefined();
    actor.send({ type: 'go' });
    relay?.(sample);
    actor.send({ type: 'go' });
    expect(seen).toEqual(['log log', '* log', 'sample sample', '* sample', 'log log', '* log']);
  });

  it('hands the listeners the relayed object itself, and an unsubscribed listener hears neither channel', () => {
    const actor = createActor(station);
    relayEmitted(actor);
    actor.start();
    const got: StationEmitted[] = [];
    const sub = actor.on('*', (e) => got.push(e));
    stationRelay(actor.system)?.(sample);
    expect(got[0]).toBe(sample);
    sub.unsubscribe();
    stationRelay(actor.system)?.(sample);
    actor.send({ type: 'go' });
    expect(got).toHaveLength(1);
  });

  it('a station built without it has no relay: its children send their events to it as before', () => {
    const actor = createActor(station).start();
    expect(stationRelay(actor.system)).toBeUndefined();
  });

  it("samples keep the shape of each station's (EVSE: SOC only when known; EV: always, before the energy)", () => {
    expect(Object.keys(sample)).toEqual(['type', 'station', 'at', 'voltageV', 'currentA', 'powerW', 'energyWh']);
    expect(sample.powerW).toBe(4000);
    const ev = sampleEvent('EV', { at: 1, voltageV: 2, currentA: 3, energyWh: 4, socPercent: 50 });
    expect(Object.keys(ev)).toEqual(['type', 'station', 'at', 'voltageV', 'currentA', 'powerW', 'socPercent', 'energyWh']);
  });
});
