/**
 * A SIGTERM that arrives after the run has ended (a service manager that saw the session end)
 * must not turn the clean exit into "killed by SIGTERM" (test/cli/replay-wire.test.ts at load 7).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/netns.js';

const script = `
import { trapSignals } from './app/run-support.ts';
const untrap = trapSignals({ info() {}, close() {} }, () => {});
untrap();
process.kill(process.pid, 'SIGTERM');
setTimeout(() => console.log('exited on its own'), 100);
`;

describe('signals after the run', () => {
  it('a late SIGTERM lets the process end on its own with its own exit code', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('exited on its own');
  });
});
