/**
 * `freev2g sim` on the flows of issue 10 (kept to three runs: CLI runs are slow): the built-in AC
 * scenario by bare name is an AC session on both sides with the scenario's car on both columns,
 * the pause-resume scenario records both segments, and `--sessions 2` without a scenario ends
 * because the simulated car unplugs and returns.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../../app/records.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

describe('sim: charging flows from the CLI', () => {
  it('--scenario default-ac runs three-phase AC; the car settings reach the EV station; summary and records agree', async () => {
    const dir = tmp();
    const records = join(dir, 'records.jsonl');
    const r = await runCli(['sim', '--scenario', 'default-ac', '--speed', 'max', '--records', records], { cwd: dir, timeoutMs: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Scenario default-ac: the car's settings come from the scenario");
    const recs = readRecords(records) as SessionRecord[];
    expect(recs.map((x) => x.energyTransferMode)).toEqual(['acThreePhase', 'acThreePhase']);
    const ev = recs.find((x) => x.station === 'EV');
    expect(ev).toMatchObject({ protocol: 'ISO15118-2', socStartPercent: 50, socEndPercent: 80, stopReason: 'targetSocReached' });
    // AC carries no SOC to the EVSE (ISO 15118-2): its column says so instead of a made-up value.
    expect(r.stdout).toMatch(/SOC\s+-\s+50 -> 80 %/);
  }, 120_000);

  it('--scenario pause-resume: the car pauses and resumes; the records show both segments linked by session ID', async () => {
    const dir = tmp();
    const records = join(dir, 'records.jsonl');
    const r = await runCli(['sim', '--scenario', 'pause-resume', '--speed', 'max', '--records', records], { cwd: dir, timeoutMs: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    const recs = readRecords(records) as SessionRecord[];
    const evse = recs.filter((x) => x.station === 'EVSE');
    const ev = recs.filter((x) => x.station === 'EV');
    expect(evse.map((x) => x.closure)).toEqual(['pause', 'terminate']);
    expect(evse[0]).toMatchObject({ stopReason: 'paused' });
    expect(evse[1]).toMatchObject({ resumed: true, sessionId: evse[0]?.sessionId, stopReason: 'evStopped' });
    expect(ev.at(-1)).toMatchObject({ resumed: true, sessionId: evse[0]?.sessionId, stopReason: 'targetSocReached', socEndPercent: 80 });
    expect(recs.every((x) => x.error === undefined)).toBe(true);
    expect(r.stdout).toContain('Session paused by the EV');
  }, 120_000);

  it('--sessions 2 without a scenario ends: the simulated car unplugs and comes back', async () => {
    const r = await runCli(['sim', '--speed', 'max', '--sessions', '2', '--no-records'], { timeoutMs: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    // Two sessions, each with its summary (the second starts after the unplug and replug).
    expect(r.stdout).toContain('Session 2 summary');
    expect(r.stdout.split('"Session started" received').length - 1).toBe(4);
  }, 120_000);
});
