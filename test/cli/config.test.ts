/** The CLI's answer to bad configuration: one line naming what is wrong, exit 3 (EXIT.config). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmp } from '../helpers/app-helpers.js';

const dir = tmp();
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('configuration errors end the CLI with exit 3 and one line', () => {
  it('100,000-deep nesting: the depth limit, not "Maximum call stack size exceeded"', async () => {
    const deep = file('deep.json', `{"evse":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const r = await runCli(['sim', '--speed', 'max', '--no-records', '-c', deep], { timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`freev2g: ${deep}: (top level): nested 100001 levels deep, at most 32 allowed\n`);
  });

  it('max_power 1e300 is refused at load, with the key', async () => {
    const big = file('big.json', '{"evse": {"charger": {"max_power": 1e300}}}');
    const r = await runCli(['sim', '--speed', 'max', '--no-records', '-c', big], { timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^freev2g: ${big}: evse\\.charger\\.max_power: expected a value the module can encode .*, got 1e\\+300\\n$`));
  });

  it('FREEV2G_SPEED=-5 is refused like a bad file value', async () => {
    const r = await runCli(['sim', '--no-records'], { env: { FREEV2G_SPEED: '-5' }, timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('freev2g: environment FREEV2G_SPEED: expected a number > 0 (at most 1000000) or "max", got "-5"\n');
  });
});

describe('certs_folder', () => {
  it('certs install -c FILE reads the certificates from the file\'s certs_folder (the reference\'s "Inject certificates")', async () => {
    const folder = join(dir, 'pki');
    mkdirSync(folder);
    const cfg = file('evse-certs.json', JSON.stringify({ certs_folder: folder, charger: { max_power: 22000 } }));
    const r = await runCli(['certs', 'install', 'sim', '-c', cfg], { timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^freev2g: ${folder}/\\d\\.crt: missing\\n$`));
  });
});
