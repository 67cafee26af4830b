/**
 * The fuzz campaign's reporting (bench/fuzz-sessions.ts, issue 12 item 13): with --jobs the
 * children's failures reach the merged summary and the exit code. A planted failure (--plant)
 * stands in for a real one, since a seed that fails today gets fixed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../bench/fuzz-sessions.ts', import.meta.url));

interface Summary {
  sessions: number;
  jobs: number;
  failures: { seed: number; problem: string }[];
}

/** Runs the bench (asynchronously: a blocked worker misses vitest's own messages). */
function campaign(...args: string[]): Promise<{ status: number | null; summary: Summary; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BENCH, ...args, '--json']);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, summary: JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Summary, stderr })));
}

describe('fuzz campaign with --jobs', () => {
  it('merges the children, reports a failing seed and exits 1', async () => {
    const { status, summary, stderr } = await campaign('4', '1', '--jobs', '2', '--plant', '2');
    expect(summary.sessions).toBe(4);
    expect(summary.jobs).toBe(2);
    expect(summary.failures).toEqual([{ seed: 2, problem: 'planted problem (--plant 2)' }]);
    expect(stderr).toContain('job 1: seed 2 FAILED');
    expect(status).toBe(1);
  }, 120_000);

  it('exits 0 when every seed ended safe', async () => {
    const { status, summary } = await campaign('2', '1', '--jobs', '2');
    expect(summary).toMatchObject({ sessions: 2, failures: [] });
    expect(status).toBe(0);
  }, 120_000);
});
