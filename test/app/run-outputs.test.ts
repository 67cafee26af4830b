/**
 * Issue 12, items 6 and 7, in process on the simulated pair (virtual clock): a records file
 * that becomes unwritable mid-run costs one warning line, never the run; and a long run keeps
 * only a bounded tail of its sessions in memory (every record is on disk already).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simStations } from '../../app/commands/sim.js';
import type { StationSettings } from '../../app/config.js';
import { Recent } from '../../app/output-files.js';
import { readRecords } from '../../app/records.js';
import { type RunOptions, type RunResult, runStations } from '../../app/run.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { tmp } from '../helpers/app-helpers.js';

/** Sessions of a few virtual seconds: the EV starts at 79 % of a 1 kWh battery and stops at 80 %. */
async function run(o: Partial<RunOptions> & { sessions: number }): Promise<{ result: RunResult; log: string }> {
  const clock = new VirtualClock(Date.parse('2026-12-01T12:00:00Z'));
  const [evse, ev] = simStations(['EVSE', 'EV'], []) as [StationSettings, StationSettings];
  const evQuick: StationSettings = {
    ...ev,
    ev: { ...(ev.ev as NonNullable<StationSettings['ev']>), battery: { ...(ev.ev?.battery as NonNullable<StationSettings['ev']>['battery']), capacityWh: 1000, levelWh: 790 }, targetSocPercent: 80 },
  };
  const pair = createSimulatedPair({
    clock,
    evseMac: evse.mac,
    evMac: ev.mac,
    scenario: parseScenario({ cable: { plugInAfterMs: 500, unplugAfterSessionMs: 500, replugAfterMs: 500 } }),
  });
  let log = '';
  const out = { write: (s: string) => ((log += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const result = await runStations({
    stations: [
      { settings: evse, transport: pair.evseHost, hostMac: '02:00:00:00:00:01', moduleMac: evse.mac },
      { settings: evQuick, transport: pair.evHost, hostMac: '02:00:00:00:00:02', moduleMac: ev.mac },
    ],
    clock,
    logFormat: 'human',
    ask: false,
    out,
    cleanup: () => pair.close(),
    ...o,
  });
  return { result, log };
}

describe('session records and memory over a long run', () => {
  it('a records file that cannot be written any more mid-run is one warning line; the run ends normally', async () => {
    const dir = join(tmp(), 'gone');
    const file = join(dir, 'records.jsonl');
    // The folder existed at start (the start-up check passed); it is removed before the session.
    const { result, log } = await run({ sessions: 1, records: file, beforeStart: async () => rmSync(dir, { recursive: true, force: true }) });
    expect(result.exitCode).toBe(0);
    expect(result.records.length).toBeGreaterThan(0);
    const warnings = log.split('\n').filter((l) => l.includes('cannot write the session records'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ENOENT');
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('keeps only the last sessions in memory; the records file has them all', async () => {
    const file = join(tmp(), 'records.jsonl');
    const { result, log } = await run({ sessions: 6, records: file, retainSessions: 2 });
    expect(result.exitCode).toBe(0);
    expect(result.sessionCount).toBe(12); // 6 per station
    expect(result.records).toHaveLength(2);
    expect(readRecords(file)).toHaveLength(12);
    expect(log).toContain('Summary of the last 2 of 12 sessions');
  }, 120_000);

  it('a SIGTERM while the run is being closed is handled, not fatal: the records are all written', async () => {
    const file = join(tmp(), 'records.jsonl');
    const before = process.listenerCount('SIGTERM');
    let handledWhileClosing = false;
    // `cleanup` runs inside the closing of the run (after the stations ended, before the capture
    // and the books are closed): a service manager's SIGTERM can arrive there.
    const { result, log } = await run({
      sessions: 1,
      records: file,
      cleanup: () => {
        handledWhileClosing = process.listenerCount('SIGTERM') > before;
        if (handledWhileClosing) process.emit('SIGTERM', 'SIGTERM');
      },
    });
    expect(handledWhileClosing).toBe(true);
    expect(log).toContain('SIGTERM received');
    expect(result.exitCode).toBe(0);
    expect(readRecords(file)).toHaveLength(2);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  }, 60_000);

  it('Recent holds at most its limit and counts the rest', () => {
    const r = new Recent<number>(100);
    for (let i = 0; i < 10_000; i++) r.push(i);
    expect(r.items).toHaveLength(100);
    expect(r.items[0]).toBe(9_900);
    expect(r.total).toBe(10_000);
  });
});
