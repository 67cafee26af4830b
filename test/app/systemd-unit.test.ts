/**
 * The systemd unit shipped in docs/ parses cleanly (`systemd-analyze verify`, which reports
 * problems on stderr naming the file) and keeps the promises docs/integration.md makes: no root,
 * only the raw-socket capabilities, a restart policy, a clean SIGTERM stop.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/netns.js';

const UNIT = join(PROJECT_ROOT, 'docs/systemd/freev2g.service');

function verify(path: string): string {
  const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.includes(path))
    .join('\n');
}

describe('docs/systemd/freev2g.service', () => {
  it('passes systemd-analyze verify, and a broken copy does not (the check can fail)', () => {
    execFileSync('systemd-analyze', ['--version']); // CI installs systemd; a missing tool fails here
    const dir = mkdtempSync(join(tmpdir(), 'freev2g-unit-'));
    try {
      const good = join(dir, 'freev2g.service');
      copyFileSync(UNIT, good);
      expect(verify(good)).toBe('');
      const bad = join(dir, 'broken.service');
      execFileSync('sh', ['-c', `sed 's/^Restart=on-failure/Restart=sometimes/' '${good}' > '${bad}'`]);
      expect(verify(bad)).toMatch(/restart specifier/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs without root, with only CAP_NET_RAW/CAP_NET_ADMIN, restarts on failure, stops on SIGTERM', () => {
    const text = readFileSync(UNIT, 'utf8');
    const keys = new Map(
      text
        .split('\n')
        .filter((l) => /^[A-Za-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(keys.get('User')).toBe('freev2g');
    expect(keys.get('AmbientCapabilities')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(keys.get('CapabilityBoundingSet')).toBe('CAP_NET_RAW CAP_NET_ADMIN');
    expect(keys.get('NoNewPrivileges')).toBe('yes');
    expect(keys.get('Restart')).toBe('on-failure');
    expect(keys.get('KillSignal')).toBe('SIGTERM');
    expect(keys.get('ExecStart')).toMatch(/bin\/freev2g\.js eth .*--sessions 0/);
  });
});
