/**
 * Start-up and discarded output (issue 12 targets 3 and 4): the CLI registers only the command it
 * runs, and a reporter whose stdout goes to /dev/null formats nothing.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandsFor } from '../../app/cli.js';
import { createReporter, writesToDevNull } from '../../app/output/reporter.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ALL = ['decode', 'sim', 'eth', 'spi', 'certs', 'module-sim', 'wireshark'];

describe('commands loaded at start', () => {
  it('only the named command, none for --version, all for help and unknown words', () => {
    expect(commandsFor(['sim', '--speed', 'max'])).toEqual(['sim']);
    expect(commandsFor(['decode', 'sim'])).toEqual(['decode']);
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V'])).toEqual([]);
    expect(commandsFor([])).toEqual(ALL);
    expect(commandsFor(['--help'])).toEqual(ALL);
    expect(commandsFor(['help', 'sim'])).toEqual(ALL);
    expect(commandsFor(['simm'])).toEqual(ALL);
    expect(commandsFor(['-h', 'sim'])).toEqual(ALL);
    expect(commandsFor(['toString'])).toEqual(ALL);
  });
});

/** Runs writesToDevNull(process.stdout) in a child whose stdout is `stdout`; exit 0 = true. */
function devNullSeenBy(stdout: 'devnull' | 'pipe'): number | null {
  const fd = stdout === 'devnull' ? openSync('/dev/null', 'w') : 'pipe';
  const script = "const m = await import('./app/output/reporter.ts'); process.exitCode = m.writesToDevNull(process.stdout) ? 0 : 1;";
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', fd, 'inherit'] }).status;
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}

describe('output nobody reads', () => {
  it('stdout redirected to /dev/null is recognised; a pipe and other streams are not', () => {
    expect(devNullSeenBy('devnull')).toBe(0);
    expect(devNullSeenBy('pipe')).toBe(1);
    expect(writesToDevNull({ write: () => true })).toBe(false);
  });

  it('a reporter on any other stream writes its lines', () => {
    const lines: string[] = [];
    const r = createReporter({ format: 'json', out: { write: (s: string) => lines.push(s) }, prefixRoles: false, statusLine: false, startedAt: 0, now: () => 0 });
    r.info('hello');
    r.station({ type: 'log', station: 'EVSE', text: 'x' }, 0);
    r.close();
    expect(lines).toHaveLength(2);
  });

  it('lines are written after the current event-loop turn (a frame is answered first), in order', async () => {
    const lines: string[] = [];
    let now = 1000;
    const r = createReporter({ format: 'json', out: { write: (s: string) => lines.push(s) }, prefixRoles: false, statusLine: false, startedAt: 0, now: () => now });
    r.info('first');
    now = 5000;
    r.station({ type: 'log', station: 'EVSE', text: 'second' }, 4000);
    expect(lines).toHaveLength(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(lines.map((l) => JSON.parse(l).text)).toEqual(['first', 'second']);
    // The app line keeps the time it was reported at, not the time it was written.
    expect(JSON.parse(lines[0] ?? '{}').at).toBe(new Date(1000).toISOString());
    r.info('third');
    r.close();
    expect(lines).toHaveLength(3);
  });
});
