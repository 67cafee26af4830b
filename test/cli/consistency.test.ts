/**
 * The command line as a new user meets it: --version, the same option names across commands,
 * every hex example in --help and the README decodes, and
 * `decode` refuses what is not hex (exit 1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/app-helpers.js';

/** The machine may be busy: a generous limit for each run of the binary. */
const cli = (args: string[]) => runCli(args, { timeoutMs: 100_000 });
const COMMANDS = ['decode', 'sim', 'eth', 'spi', 'certs', 'module-sim', 'wireshark'];
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('freev2g command line', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: version });
  });

  it('every command that takes a network interface spells it -i, --interface', async () => {
    for (const command of ['eth', 'module-sim']) {
      const r = await cli([command, '--help']);
      expect(r.stdout, command).toMatch(/-i, --interface <name>/);
      expect(r.stdout, command).not.toMatch(/--iface/);
    }
  }, 60_000);

  it('module-sim still accepts the old --iface spelling, and asks for an interface without one', async () => {
    const alias = await cli(['module-sim', '--role', 'EVSE', '--iface', 'nosuch0']);
    expect(alias.code).toBe(4);
    expect(alias.stderr).toMatch(/nosuch0/);
    const none = await cli(['module-sim', '--role', 'EVSE']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--interface/);
  }, 60_000);

  it('every hex frame shown in --help and the README decodes without error', async () => {
    const texts = [readFileSync(join(ROOT, 'README.md'), 'utf8')];
    for (const r of await Promise.all(COMMANDS.map((c) => cli([c, '--help'])))) texts.push(r.stdout);
    const frames = texts.flatMap((t) => [...t.matchAll(/\bC0(?: [0-9A-F]{2})+ C1\b/g)].map((m) => m[0]));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    // One call: frames may follow each other; one line per frame.
    const r = await cli(['decode', ...frames.join(' ').split(' ')]);
    expect(r.stdout.trim().split('\n'), frames.join('\n')).toHaveLength(frames.length);
    expect(r.stdout + r.stderr).not.toMatch(/"error"/);
    expect(r.code).toBe(0);
  }, 120_000);

  it('decode refuses input that is not hex with exit 1 and one line', async () => {
    const inputs = [['zz'], ['C0', '29', '40', '00', '00', '01', '01', '12', 'C1', 'xyz']];
    const runs = await Promise.all(inputs.map((args) => cli(['decode', ...args])));
    for (const [i, args] of inputs.entries()) {
      const r = runs[i] as Awaited<ReturnType<typeof cli>>;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^freev2g: not hex: "[zx]" is not a hex digit/);
    }
  }, 60_000);
});
