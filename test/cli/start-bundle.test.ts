/**
 * The per-command start bundles and their V8 code cache (bin/start-bundle.js, issue 12 target 3):
 * whatever state the cache is in (none yet, accepted, corrupt, made for another bundle, or in a
 * directory that cannot be written: a path under a regular file, which even root cannot create),
 * the command starts and prints exactly what the ES module
 * build prints. The caches are warm (scripts/warm-cache.mjs, issue 12 targets 1 and 3): after the
 * warm-up a session compiles next to none of the bundle's functions. Runs dist: `node
 * scripts/build.mjs` first.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, runProcess, tmp } from '../helpers/app-helpers.js';

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

const SIM_SESSION = ['sim', '--speed', 'max', '--no-records'];

/** Where V8 logs function events: one path for every run, since the path is a flag too. */
const V8_LOG = join(tmp(), 'v8.log');

/**
 * How many functions of the command's bundle V8 compiled during a run of the CLI (its log of
 * function events: a function taken from the code cache has none). V8 rejects a cache made under
 * other flags, so every run that makes or reads the cache here runs with the same ones.
 */
async function compiledFunctions(args: string[], cacheDir: string, env: Record<string, string> = {}): Promise<number> {
  rmSync(V8_LOG, { force: true });
  const r = await runProcess(process.execPath, ['--log-function-events', `--logfile=${V8_LOG}`, '--no-logfile-per-isolate', BIN, ...args], {
    cwd: tmp(),
    env: { FREEV2G_CODE_CACHE_DIR: cacheDir, ...env },
  });
  expect(r.code).toBe(0);
  const lines = readFileSync(V8_LOG, 'utf8').split('\n');
  const bundle = manifest()[args[0] as string];
  const id = lines.find((l) => l.startsWith('script-details,') && l.includes(`/${bundle},`))?.split(',')[1];
  expect(id).toBeDefined();
  return lines.filter((l) => l.startsWith(`function,interpreter,${id},`)).length;
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

  it('a warm-up run writes its cache at exit, an accepted one too, and then a session compiles next to none of the bundle', async () => {
    // A cache of `sim --help` (the build's before): the session still compiles most of its code.
    const help = tmp();
    await compiledFunctions(['sim', '--help'], help);
    const cold = await compiledFunctions(SIM_SESSION, help);
    expect(cold).toBeGreaterThan(500);
    // The warm-up over the same, accepted, cache rewrites it with what the session compiled.
    const warm = tmp();
    await compiledFunctions(['sim', '--help'], warm);
    await compiledFunctions(SIM_SESSION, warm, { FREEV2G_CODE_CACHE_WARM: '1' });
    expect(await compiledFunctions(SIM_SESSION, warm)).toBeLessThan(cold / 20);
    // Five CLI runs, three of them a whole session.
  }, 120_000);

  it("the build's caches of sim and eth hold a session, not only the top level (larger than a --help cache)", async () => {
    for (const command of ['sim', 'eth']) {
      const help = tmp();
      expect((await run([command, '--help'], help)).code).toBe(0);
      const built = statSync(join(ROOT, 'dist/cli/cache', cacheName(command))).size;
      expect(built).toBeGreaterThan(1.2 * statSync(join(help, cacheName(command))).size);
    }
  });
});
