/**
 * How many functions of the `eth` start bundle V8 compiles during one EVSE session on a veth
 * (root), with a code cache of `eth --help` (what the build wrote before the fifth round) and
 * with the build's warm cache (scripts/warm-cache.mjs: an EVSE and an EV session). A function
 * compiled during the session is a first run that waited for V8's parser and bytecode compiler;
 * this count does not depend on the load, unlike the wire reaction's maxima. V8 logs function
 * events (`--log-function-events`); it rejects a cache made under other flags, so each cache is
 * made here under the same flags as the session that reads it.
 *
 *   node --import tsx bench/wire-compiles.ts [--charge 5]   (root; run `node scripts/build.mjs` first)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair, netnsAvailable, PROJECT_ROOT } from '../test/helpers/netns.js';
import { sleep, startInNamespace, waitText } from './wire-helpers.js';

const BIN = join(PROJECT_ROOT, 'bin/freev2g.js');
const work = mkdtempSync(join(tmpdir(), 'fv2g-compiles-'));
const LOG = join(work, 'v8.log');
const FLAGS = ['--log-function-events', `--logfile=${LOG}`, '--no-logfile-per-isolate'];
const i = process.argv.indexOf('--charge');
const chargeS = i >= 0 ? Number(process.argv[i + 1]) : 5;

/** The names of the functions of `bundle` V8 compiled, from its log. */
function compiled(log: string, bundle: string): string[] {
  const lines = readFileSync(log, 'utf8').split('\n');
  const id = lines.find((l) => l.startsWith('script-details,') && l.includes(`/${bundle},`))?.split(',')[1];
  if (id === undefined) throw new Error(`${bundle} was not loaded`);
  return lines.filter((l) => l.startsWith(`function,interpreter,${id},`)).map((l) => l.split(',').at(-1) || '(anonymous)');
}

function prepare(cacheDir: string, kind: 'help' | 'warm'): void {
  const env = { ...process.env, FREEV2G_CODE_CACHE_DIR: cacheDir };
  const runs =
    kind === 'help'
      ? [[BIN, 'eth', '--help']]
      : [
          [join(PROJECT_ROOT, 'scripts/warm-cache.mjs'), 'eth', 'EVSE'],
          [join(PROJECT_ROOT, 'scripts/warm-cache.mjs'), 'eth', 'EV'],
        ];
  for (const args of runs) execFileSync(process.execPath, [...FLAGS, ...args], { env, stdio: 'ignore' });
}

async function session(cacheDir: string, bundle: string): Promise<string[]> {
  process.env.FREEV2G_CODE_CACHE_DIR = cacheDir;
  rmSync(LOG, { force: true });
  const veth = await createVethPair();
  const sim = startInNamespace(veth.b.ns, process.execPath, [BIN, 'module-sim', '--role', 'EVSE', '-i', veth.b.iface]);
  try {
    await waitText(sim, /module-sim: simulated EVSE module/, 30_000, 'module-sim');
    const host = startInNamespace(veth.a.ns, process.execPath, [...FLAGS, BIN, 'eth', '-i', veth.a.iface, '-m', veth.b.mac, '-r', 'EVSE', '--no-records', '--log-format', 'json']);
    await waitText(host, /"phase":"charging"/, 120_000, 'charging');
    await sleep(chargeS * 1000);
    host.proc.kill('SIGINT');
    if ((await host.exit) !== 0) throw new Error(`freev2g eth failed: ${host.out.join('').slice(-800)}`);
    return compiled(LOG, bundle);
  } finally {
    sim.proc.kill('SIGTERM');
    await Promise.race([sim.exit, sleep(3000)]);
    veth.destroy();
  }
}

const can = netnsAvailable();
if (!can.ok) {
  console.log(`wire-compiles bench skipped: needs root and iproute2 for a network namespace (${can.why.split('\n')[0]})`);
  process.exit(0);
}
const bundle = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'dist/cli/start.json'), 'utf8')) as { bundles: Record<string, string> }).bundles.eth ?? '';
try {
  for (const kind of ['help', 'warm'] as const) {
    const dir = join(work, kind);
    prepare(dir, kind);
    const names = await session(dir, bundle);
    const top = [...names.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>())].slice(0, 12).map(([n]) => n);
    console.log(
      `cache of ${kind === 'help' ? '`eth --help`' : 'the warm-up'}: ${names.length} functions of the eth bundle compiled during the session${names.length ? ` (first: ${top.join(', ')})` : ''}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
