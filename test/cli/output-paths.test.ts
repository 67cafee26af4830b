/**
 * Issue 12, item 6: every path the service writes is checked at start. An unwritable records
 * file (flag or FREEV2G_RECORDS) or capture is refused in one line with exit 3 before any
 * session runs (it used to run the session and die at its end with a stack trace, exit 1).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmp } from '../helpers/app-helpers.js';

const EXIT_CONFIG = 3;

describe('output paths are checked at start', () => {
  const dir = tmp();
  const missing = join(dir, 'no-such-folder', 'records.jsonl');

  it.each([
    ['--records in a missing folder', ['--records', missing], {}, 'session records', 'ENOENT'],
    ['FREEV2G_RECORDS naming a folder', [], { FREEV2G_RECORDS: dir }, 'session records', 'EISDIR'],
    ['--capture in a missing folder', ['--no-records', '--capture', join(dir, 'nope', 'x.pcap')], {}, 'capture', 'ENOENT'],
  ])(
    '%s: one line, exit 3, no session',
    async (_name, args, env, what, code) => {
      const r = await runCli(['sim', '--speed', 'max', ...args], { cwd: dir, env: { ...process.env, ...env }, timeoutMs: 60_000 });
      expect(r.code).toBe(EXIT_CONFIG);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^freev2g: cannot write the ${what} to ".*" \\(${code}`));
      expect(r.stdout).not.toContain('Session');
    },
    70_000,
  );

  it('a writable records path that does not exist yet is not created by the check alone', async () => {
    const file = join(dir, 'later.jsonl');
    // A usage error after the check: nothing ran, so nothing is left behind.
    const r = await runCli(['sim', '--speed', 'max', '--records', file, '--inspect', '99999'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(existsSync(file)).toBe(false);
  }, 70_000);
});
