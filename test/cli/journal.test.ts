/**
 * Issue 12, item 9: a session running when the host is killed (SIGKILL, no chance to clean up)
 * appears in the records after the next start, marked interrupted, with its start and the energy
 * of its last checkpoint. A real child process, really killed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../app/journal.js';
import { readRecords } from '../../app/records.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

describe('crash-safe session journal', () => {
  it('records a session cut by SIGKILL as interrupted at the next start', async () => {
    const dir = tmp();
    const records = join(dir, 'records.jsonl');
    let journal = '';
    let watcher: NodeJS.Timeout | undefined;
    const killed = await runCli(['sim', '--speed', 'max', '--log-format', 'json', '-r', 'EVSE', '--records', records], {
      cwd: dir,
      timeoutMs: 120_000,
      onStdout: (chunk, child) => {
        if (watcher || !chunk.includes('"phase":"charging"')) return;
        journal = `${records}.journal.${child.pid}`;
        // Charging: kill as soon as a checkpoint with energy is on disk.
        watcher = setInterval(() => {
          if (!readJournal(journal).some((e) => e.energyDeliveredWh > 0)) return;
          clearInterval(watcher);
          child.kill('SIGKILL');
        }, 2);
      },
    });
    clearInterval(watcher);
    expect(killed.signal).toBe('SIGKILL');
    expect(readRecords(records)).toEqual([]);
    const [left] = readJournal(journal);
    expect(left?.station).toBe('EVSE');

    const next = await runCli(['sim', '--speed', 'max', '--log-format', 'json', '-r', 'EVSE', '--records', records], { cwd: dir, timeoutMs: 120_000 });
    expect(next.code).toBe(0);
    const [first, second] = readRecords(records) as Array<Record<string, unknown>>;
    expect(first).toMatchObject({ station: 'EVSE', interrupted: true, stopReason: 'hostInterrupted', startedAt: left?.startedAt });
    expect(first?.energyDeliveredWh).toBeGreaterThan(0);
    expect(first?.energyDeliveredWh).toBe(left?.energyDeliveredWh);
    expect(second).toMatchObject({ station: 'EVSE', stopReason: 'evStopped' });
    expect(second?.interrupted).toBeUndefined();
    expect(next.stdout).toContain('was interrupted (the host stopped)');
    // Recovered once: the journal is gone after a run that ended its sessions.
    expect(existsSync(journal)).toBe(false);
    expect(readFileSync(records, 'utf8').trim().split('\n')).toHaveLength(2);
  }, 250_000);
});
