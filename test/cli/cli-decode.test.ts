/** `freev2g decode` end to end: the real binary, manual example frames, stdin, errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/app-helpers.js';

interface Example {
  section: string;
  direction: string;
  hex: string;
}
const examples = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/manual-examples.json'), 'utf8')) as Example[];
const pick = (section: string, direction: string): string => {
  const e = examples.find((x) => x.section === section && x.direction === direction);
  if (!e) throw new Error(`no example ${section} ${direction}`);
  return e.hex;
};

describe('freev2g decode', () => {
  it('decodes manual example frames given as arguments, one JSON line each', async () => {
    const setMode = pick('15.4.1', 'request');
    const version = pick('11.3.1', 'response');
    const r = await runCli(['decode', ...setMode.split(' '), version]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ modId: 0x29, subId: 0x40, module: 'ControlPilot', message: 'SetMode', direction: 'request' });
    expect(lines[1]).toMatchObject({ modId: 0x10, subId: 0x40, module: 'System', direction: 'response' });
    expect(Object.keys(lines[0] ?? {})).toEqual(['modId', 'subId', 'reqId', 'module', 'message', 'direction', 'fields']);
  });

  it('reads hex from stdin and shows byte fields as hex', async () => {
    const mac = pick('11.3.3', 'response');
    const r = await runCli(['decode', '--direction', 'response'], { input: `${mac}\n` });
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout) as { fields: Record<string, unknown> };
    expect(Object.values(line.fields)).toContain('000102030405');
  });

  it('decodes every example of the manual from stdin, one line per example', async () => {
    const r = await runCli(['decode'], { input: examples.map((e) => e.hex).join('\n') });
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message?: string; error?: unknown });
    expect(lines).toHaveLength(examples.length);
    // The rest are the manual's truncated ("...") examples and its errata (docs/codec notes).
    expect(lines.filter((l) => l.message !== undefined && l.error === undefined).length).toBeGreaterThan(200);
    expect(r.code).toBe(1);
  });

  it('reports a broken frame as an error line and exits 1', async () => {
    const r = await runCli(['decode', 'C0 29 40 00 00 01 01 99 C1']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { kind: 'checksum' } });
  });

  it('refuses text that is not hex with a one-line error and exit 1', async () => {
    const r = await runCli(['decode', 'C0 2']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^freev2g: not hex/);
  });
});
