/** `freev2g certs install` refuses a mismatching key before it touches the module (exit 3). */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCertFolder, runCli } from '../helpers/app-helpers.js';

describe('freev2g certs install: checks first', () => {
  it('a 0.key of another chain: one line on stderr, exit 3, nothing sent to the module', async () => {
    const dir = makeCertFolder();
    copyFileSync(join(makeCertFolder(), '0.key'), join(dir, '0.key'));
    const r = await runCli(['certs', 'install', '--folder', dir, 'sim']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`freev2g: ${join(dir, '0.key')}: does not match the certificate ${join(dir, '0.crt')}\n`);
    // "Open own certificate store" would be the first line of any module work.
    expect(r.stdout).toBe('');
  });
});
