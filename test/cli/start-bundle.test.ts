/**
 * The per-command start bundles and their V8 code cache (bin/start-bundle.js, issue 12 target 3):
 * whatever state the cache is in (none yet, accepted, corrupt, made for another bundle, or in a
 * directory that cannot be written: a path under a regular file, which even root cannot create),
 * the command starts and prints exactly what the ES module
 * build prints. Runs dist: `node scripts/build.mjs` first.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tmp } from '../helpers/app-helpers.js';

const examples = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/manual-examples.json'), 'utf8')) as { hex: string }[];
const DECODE = ['decode', ...(examples[0]?.hex.split(' ') ?? [])];
/** A missing interface: the eth bundle runs its configuration and transport set-up, then exit 4. */
const ETH = ['eth', '-i', 'freev2g-none0', '-r', 'EVSE', '--no-records'];
const manifest = (): Record<string, string> => (JSON.parse(readFileSync(join(ROOT, 'dist/cli/start.json'), 'utf8')) as { bundles: Record<string, string> }).bundles;
const cacheName = (command: string): string => `${manifest()[command]}.${process.version}-${process.arch}.v8`;

/** The command run with this cache directory ('' = no cache: the ES module build). */
async function run(args: string[], cacheDir: string): Promise<{ code: number | null; out: string }> {
  const r = await runCli(args, { env: { FREEV2G_CODE_CACHE_DIR: cacheDir } });
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('start bundles with a code cache', () => {
  let reference: { code: number | null; out: string };
  let ethReference: { code: number | null; out: string };
  beforeAll(async () => {
    reference = await run(DECODE, '');
    ethReference = await run(ETH, '');
  });

  it('the build leaves one bundle and one cache per command', () => {
    const bundles = manifest();
    expect(Object.keys(bundles).sort()).toEqual(['certs', 'decode', 'eth', 'module-sim', 'sim', 'spi', 'wireshark']);
    for (const command of Object.keys(bundles)) expect(existsSync(join(ROOT, 'dist/cli/cache', cacheName(command)))).toBe(true);
  });

  it('without a cache: same output, and the run leaves one; the next run takes it as it is', async () => {
    expect(reference.code).toBe(0);
    expect(reference.out).toMatch(/^\{"modId"/);
    const dir = join(tmp(), 'cache');
    expect(await run(DECODE, dir)).toEqual(reference);
    const file = join(dir, cacheName('decode'));
    const written = statSync(file).mtimeMs;
    expect(await run(DECODE, dir)).toEqual(reference);
    expect(statSync(file).mtimeMs).toBe(written);
  });

  it('a corrupt or a stale cache (another bundle) is rejected, the command runs the same and writes it anew', async () => {
    const dir = tmp();
    const file = join(dir, cacheName('decode'));
    const garbage = Buffer.alloc(4096, 0x5a);
    writeFileSync(file, garbage);
    expect(await run(DECODE, dir)).toEqual(reference);
    expect(readFileSync(file).equals(garbage)).toBe(false);
    writeFileSync(file, readFileSync(join(ROOT, 'dist/cli/cache', cacheName('eth'))));
    expect(await run(DECODE, dir)).toEqual(reference);
    expect(ethReference.code).toBe(4);
    const ethDir = tmp();
    writeFileSync(join(ethDir, cacheName('eth')), readFileSync(join(ROOT, 'dist/cli/cache', cacheName('sim'))));
    expect(await run(ETH, ethDir)).toEqual(ethReference);
  });

  it('a cache directory that cannot be written: same output, nothing written', async () => {
    const notADir = join(tmp(), 'file');
    writeFileSync(notADir, '');
    expect(await run(DECODE, join(notADir, 'cache'))).toEqual(reference);
    expect(await run(ETH, join(notADir, 'cache'))).toEqual(ethReference);
    expect(existsSync(join(notADir, 'cache'))).toBe(false);
  });

  it("the build's cached bundles print what the ES module build prints (eth's missing interface, a command's help)", async () => {
    expect(ethReference.out).toMatch(/freev2g-none0/);
    const built = join(ROOT, 'dist/cli/cache');
    expect(await run(ETH, built)).toEqual(ethReference);
    const help = await run(['sim', '--help'], '');
    expect(help.out).toMatch(/^Usage: freev2g sim \[options\]/);
    expect(await run(['sim', '--help'], built)).toEqual(help);
  });
});
