/**
 * The host's warm-up while it waits for a vehicle (app/warm-up.ts, codec/warm.ts; issue 12 target
 * 1, the p99 of the one-shot answers): every message of the role runs its codec once, in slices,
 * starting at the station's first `waitingForVehicle`; a run with it sends and logs exactly what
 * a run without it does.
 */
import { describe, expect, it } from 'vitest';
import { simStations } from '../../app/commands/sim.js';
import type { StationSettings } from '../../app/config.js';
import { type RunOptions, runStations } from '../../app/run.js';
import { WARM_SLICE, warmUp, warmUpWhenWaiting } from '../../app/warm-up.js';
import { bytesToHex } from '../../codec/frame.js';
import { definitionsFor, sampleOf, warmCodec } from '../../codec/warm.js';
import { V2g, encodeRequest } from '../../codec/catalog.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';

describe('codec warm-up', () => {
  it('a sample of every request, response and status of each role is one its schema takes', () => {
    for (const role of ['EVSE', 'EV'] as const) expect(warmCodec(role)).toBe(definitionsFor(role).length);
    // Set Schedules (a hand-written sales tariff field, the generic writer) among them.
    expect(encodeRequest(V2g.EvseSetSchedules, 0, sampleOf(V2g.EvseSetSchedules.request.shape) as never).length).toBeGreaterThan(5);
  });

  it('runs in slices of at most WARM_SLICE messages, one scheduled turn each', async () => {
    const turns: Array<() => void> = [];
    const done = warmUp('EVSE', (f) => turns.push(f));
    let slices = 0;
    while (turns.length > 0) {
      (turns.shift() as () => void)();
      slices++;
    }
    expect(await done).toBe(definitionsFor('EVSE').length);
    expect(slices).toBe(Math.ceil(definitionsFor('EVSE').length / WARM_SLICE));
  });

  it('starts once, at the first waitingForVehicle phase', () => {
    const started: string[] = [];
    const listen = warmUpWhenWaiting('EVSE', (r) => started.push(r));
    listen({ type: 'phase', phase: 'starting' } as never);
    expect(started).toEqual([]);
    listen({ type: 'phase', phase: 'waitingForVehicle' } as never);
    listen({ type: 'phase', phase: 'waitingForVehicle' } as never);
    expect(started).toEqual(['EVSE']);
  });
});

/** One short simulated session (virtual clock): the frames on both links and the log. */
async function session(o: Partial<RunOptions>): Promise<{ frames: string[]; log: string; exitCode: number }> {
  const clock = new VirtualClock(Date.parse('2026-12-01T12:00:00Z'));
  const [evse, ev] = simStations(['EVSE', 'EV'], []) as [StationSettings, StationSettings];
  const evQuick: StationSettings = {
    ...ev,
    ev: { ...(ev.ev as NonNullable<StationSettings['ev']>), battery: { ...(ev.ev?.battery as NonNullable<StationSettings['ev']>['battery']), capacityWh: 1000, levelWh: 790 }, targetSocPercent: 80 },
  };
  const pair = createSimulatedPair({ clock, evseMac: evse.mac, evMac: ev.mac, scenario: parseScenario({ cable: { plugInAfterMs: 500, unplugAfterSessionMs: 500, replugAfterMs: 500 } }) });
  const frames: string[] = [];
  pair.evse.traffic$.subscribe((t) => frames.push(`evse ${t.dir} ${bytesToHex(t.bytes)}`));
  pair.ev.traffic$.subscribe((t) => frames.push(`ev ${t.dir} ${bytesToHex(t.bytes)}`));
  let log = '';
  const out = { write: (s: string) => ((log += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const result = await runStations({
    stations: [
      { settings: evse, transport: pair.evseHost, hostMac: '02:00:00:00:00:01', moduleMac: evse.mac },
      { settings: evQuick, transport: pair.evHost, hostMac: '02:00:00:00:00:02', moduleMac: ev.mac },
    ],
    clock,
    logFormat: 'json',
    ask: false,
    out,
    sessions: 1,
    cleanup: () => pair.close(),
    ...o,
  });
  return { frames, log, exitCode: result.exitCode };
}

describe('a run with the warm-up', () => {
  it('sends and logs what a run without it does', async () => {
    const without = await session({});
    const withWarmUp = await session({ warmUp: true });
    expect(withWarmUp.exitCode).toBe(0);
    expect(withWarmUp.frames.length).toBeGreaterThan(100);
    expect(withWarmUp.frames).toEqual(without.frames);
    // The records' host figures are wall time (the host's own reaction and update gaps): masked.
    const masked = (log: string): string => log.replace(/"(longestReactionMs|longestUpdateGapMs)":[-0-9.e]+/g, '"$1":0');
    expect(masked(withWarmUp.log)).toEqual(masked(without.log));
  });
});
