/**
 * Issue 12, item 12: one Stop Charging per session end, and every non-zero result code the
 * module answers shows in the log. Both stations on the simulated pair, virtual clock: a full
 * session, then a shutdown (the module answered a second Stop Charging after Session Stopped
 * with 0x11, unlogged); and a shutdown in the middle of charging, which still owes the stop.
 */
import { describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { simulatedClients, quickStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

function run() {
  const { clock, pair, evseClient, evClient } = simulatedClients();
  pairs.push(pair);
  const traffic = { EVSE: [] as Array<{ dir: string; m: DecodedMessage }>, EV: [] as Array<{ dir: string; m: DecodedMessage }> };
  evseClient.traffic$.subscribe((t) => t.message && traffic.EVSE.push({ dir: t.dir, m: t.message }));
  evClient.traffic$.subscribe((t) => t.message && traffic.EV.push({ dir: t.dir, m: t.message }));
  const s = quickStations({ clock, evseClient, evClient });
  const requests = (st: 'EVSE' | 'EV', name: string) => traffic[st].filter((t) => t.dir === 'tx' && t.m.message === name && t.m.direction === 'request').length;
  /** Every response with a non-zero code, as "Module.Name (0xNN)". */
  const refusals = (st: 'EVSE' | 'EV') =>
    traffic[st].flatMap((t) => {
      const code = Number(t.m.fields.code ?? 0);
      return t.dir === 'rx' && t.m.direction === 'response' && code !== 0 ? [{ command: `${t.m.module}.${t.m.message}`, hex: `0x${code.toString(16).padStart(2, '0')}` }] : [];
    });
  const shutdown = async () => {
    s.evse.send({ type: 'shutdown' });
    s.ev.send({ type: 'shutdown' });
    await clock.runUntil(() => s.evse.getSnapshot().status === 'done' && s.ev.getSnapshot().status === 'done', 60_000, 100);
  };
  return { clock, s, requests, refusals, shutdown };
}

describe('Stop Charging at the end of a session', () => {
  it('is sent once per session: not again at shutdown after Session Stopped', async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length >= 1 && r.s.records('EV').length >= 1, 3_600_000, 100)).toBe(true);
    await r.shutdown();
    expect(r.requests('EVSE', 'EvseStopCharging')).toBe(1);
    expect(r.requests('EV', 'EvStopCharging')).toBe(1);
    expect(r.refusals('EVSE').map((x) => x.command)).not.toContain('V2g.EvseStopCharging');
  });

  it('is still sent at shutdown when the shutdown cuts a charging session short', async () => {
    const r = run();
    const charging = () => r.s.emitted.EVSE.some((e) => e.type === 'phase' && e.phase === 'charging');
    expect(await r.clock.runUntil(charging, 600_000, 100)).toBe(true);
    await r.shutdown();
    expect(r.requests('EVSE', 'EvseStopCharging')).toBe(1);
    expect(r.s.records('EVSE')).toHaveLength(1);
  });

  it('shows every non-zero result code in the log, with the command', async () => {
    const r = run();
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length >= 1 && r.s.records('EV').length >= 1, 3_600_000, 100)).toBe(true);
    await r.shutdown();
    for (const st of ['EVSE', 'EV'] as const) {
      const refused = r.refusals(st);
      // The stale-state clean-up at start always meets some (nothing was running).
      expect(refused.length).toBeGreaterThan(0);
      for (const { command, hex } of refused)
        expect(
          r.s.logs(st).some((l) => l.includes(command) && l.includes(hex)),
          `${st} ${command} ${hex}`,
        ).toBe(true);
    }
  });
});
