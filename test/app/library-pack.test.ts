/**
 * The package as a user gets it: `npm pack`, installed into an empty project, imported by the
 * embedding example of docs/library.md (run as written there), its `freev2g/codec` subpath bundled
 * for a browser, and its `freev2g` binary run. `npm test` builds dist/ first; this file builds it
 * only when it is missing (running the file alone in a fresh checkout).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/netns.js';

const run = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

/** The first ```js block under "## Embedding example" of docs/library.md. */
function embeddingExample(): string {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs/library.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Embedding example'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m?.[1]) throw new Error('docs/library.md has no js block under "## Embedding example"');
  return m[1];
}

let dir = '';
let project = '';
beforeAll(() => {
  if (!existsSync(join(PROJECT_ROOT, 'dist/index.js'))) run(process.execPath, ['scripts/build.mjs'], PROJECT_ROOT);
  dir = mkdtempSync(join(tmpdir(), 'freev2g-pack-'));
  run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], PROJECT_ROOT);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');
  project = join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'embedder', private: true, type: 'module' }));
  // From npm's cache where it can (CI's `npm ci` filled it); no native optional packages needed.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts', join(dir, tarball)], project);
}, 180_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships dist/ with types and no sources or tests', () => {
    const pkg = join(project, 'node_modules/freev2g');
    expect(existsSync(join(pkg, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(pkg, 'dist/codec/index.d.ts'))).toBe(true);
    expect(existsSync(join(pkg, 'dist/sim/scenarios/default-dc.json'))).toBe(true);
    expect(existsSync(join(pkg, 'app'))).toBe(false);
    expect(existsSync(join(pkg, 'test'))).toBe(false);
  });

  it('runs the embedding example of docs/library.md: a whole simulated session', () => {
    writeFileSync(join(project, 'example.mjs'), embeddingExample());
    const out = run(process.execPath, ['example.mjs'], project);
    expect(out).toContain('EVSE | Stop the CP service');
    const summary = JSON.parse(out.split('\n').find((l) => l.startsWith('{"protocol"')) ?? '{}') as Record<string, unknown>;
    expect(summary.protocol).toBe('ISO15118-2');
    expect(summary.stopReason).toBe('evStopped');
    expect(summary.energyDeliveredWh).toBeGreaterThan(100);
  }, 60_000);

  it('bundles freev2g/codec for a browser (no Node built-ins) and decodes with it', async () => {
    const entry = join(project, 'page.mjs');
    writeFileSync(
      entry,
      "import { decodeMessage, parseFrame, hexToBytes } from 'freev2g/codec';\nconst f = parseFrame(hexToBytes('C02944040002003200C1'));\nexport const decoded = 'frame' in f ? decodeMessage(f.frame) : f;\n",
    );
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', absWorkingDir: project });
    const text = result.outputFiles[0]?.text ?? '';
    expect(text).not.toMatch(/from\s*["']node:/);
    const bundled = join(project, 'bundle.mjs');
    writeFileSync(bundled, text);
    const mod = (await import(bundled)) as { decoded: { ok: boolean; message?: { message: string } } };
    expect(mod.decoded.ok).toBe(true);
    expect(mod.decoded.message?.message).toBe('SetDutyCycle');
  });

  it('installs the freev2g command, which runs the compiled CLI', () => {
    const out = run(join(project, 'node_modules/.bin/freev2g'), ['decode', 'C0 29 44 04 00 02 00 32 00 C1'], project);
    expect(JSON.parse(out)).toMatchObject({ module: 'ControlPilot', message: 'SetDutyCycle', fields: { dutyCyclePermill: 50 } });
  });
});
