/**
 * Fuzz seed 684, the part left open (docs/reliability.md): the EV station took its module for
 * silent mid-charge and set it up again with Stop Session only; a module that is still charging
 * refuses that (18.9.15: only after Post Charging Ready; 0x11) and the car kept up CurrentDemand
 * with the EVSE's output on, no record. Here the EV module really is silent for a moment in the
 * charge loop and answers again as the station notices: the station stops the cut session (Stop
 * Charging, Post Charging Ready, Stop Session) before setting the module up again, so the EVSE
 * session ends with its record and output 0. Simulated pair, virtual clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { commandedOutput } from '../../machines/charger.js';
import type { SimulatedPair } from '../../sim/index.js';
import { simulatedClients, quickStations } from '../helpers/stations.js';

const pairs: SimulatedPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

describe('an EV module lost mid-charge and back as the station notices (fuzz seed 684)', () => {
  it('the station stops the cut session first: Stop Charging, then Stop Session, both accepted; the EVSE records, output 0', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    const ev: Array<{ dir: string; m: DecodedMessage; at: number }> = [];
    evClient.traffic$.subscribe((t) => t.message && ev.push({ dir: t.dir, m: t.message, at: t.at }));
    const s = quickStations({ clock, evseClient, evClient });
    let chargingAt: number | undefined;
    let noticedAt: number | undefined;
    s.ev.on('*', (e) => {
      const x = e as { type: string; phase?: string; text?: string };
      if (x.phase === 'charging' && chargingAt === undefined) chargingAt = clock.now();
      if (x.text?.startsWith('Module not answering') && noticedAt === undefined) {
        noticedAt = clock.now();
        pair.ev.setSilent(false);
      }
    });
    expect(await clock.runUntil(() => chargingAt !== undefined, 600_000, 10)).toBe(true);
    // Some charging first, then the module goes quiet.
    await clock.runUntil(() => false, 3000, 10);
    pair.ev.setSilent(true);
    expect(await clock.runUntil(() => noticedAt !== undefined, 10_000, 10)).toBe(true);
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 30_000, 10)).toBe(true);
    const since = ev.filter((t) => t.at >= (noticedAt ?? 0));
    const stops = since.filter((t) => t.dir === 'tx' && (t.m.message === 'EvStopCharging' || t.m.message === 'EvStopSession')).map((t) => t.m.message);
    expect(stops.slice(0, 2)).toEqual(['EvStopCharging', 'EvStopSession']);
    expect(since.filter((t) => t.dir === 'tx' && t.m.message === 'EvStopCharging')).toHaveLength(1);
    // The module took both: the first Stop Session was answered 0 (not refused as in the charge loop).
    const firstStopSessionAnswer = since.find((t) => t.dir === 'rx' && t.m.direction === 'response' && t.m.message === 'EvStopSession');
    expect(firstStopSessionAnswer?.m.fields.code).toBe(0);
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    expect(charger ? commandedOutput(charger.context) : undefined).toEqual({ voltageV: 0, currentA: 0 });
    // The EV station is set up again and serves the next session as usual.
    expect(await clock.runUntil(() => JSON.stringify(s.ev.getSnapshot().value).includes('running'), 60_000, 100)).toBe(true);
    s.evse.stop();
    s.ev.stop();
  }, 60_000);
});
