/**
 * `npx freev2g` in the checkout runs the checkout's CLI and never asks the registry (issue 11:
 * nothing linked the bin, and npx fell through to a registry 404). `npm ci` runs `prepare`, which
 * links node_modules/.bin/freev2g (scripts/link-bin.mjs); npm 10 looks only there, npm 11 also
 * finds the project's own bin. The registry is pointed at a closed local port and npm is offline,
 * so a fall-through fails instead of reaching the network.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runProcess } from '../helpers/app-helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
const NO_REGISTRY = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };

describe('npx freev2g in the checkout', () => {
  it('prepare (run by npm ci) links the bin into node_modules/.bin', () => {
    expect(pkg.scripts.prepare).toContain('node scripts/link-bin.mjs');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'link-bin.mjs')], { cwd: ROOT });
    expect(readlinkSync(join(ROOT, 'node_modules', '.bin', 'freev2g'))).toBe(join('..', '..', 'bin', 'freev2g.js'));
    // What npm 10 runs: the linked file itself.
    expect(execFileSync(join(ROOT, 'node_modules', '.bin', 'freev2g'), ['--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });

  it('npx --no-install freev2g --version prints the version without the registry', async () => {
    const r = await runProcess('npx', ['--no-install', 'freev2g', '--version'], { env: NO_REGISTRY, timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/404|ENOTFOUND|ECONNREFUSED|ENOTCACHED/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  }, 70_000);
});
