/**
 * Start-up of the `freev2g` command against a bare Node (issue 12 target 3: first frame on the
 * wire, and `sim`'s first line, within 3x `node -e 0`). Side by side in one run, alternating the
 * cases so the load hits them alike, each spawned fresh:
 *
 * - `node -e 0`: spawn to exit (the floor: Node's own start);
 * - `freev2g --version`: spawn to exit (the CLI shell: commander, the command table);
 * - `freev2g sim --speed max --no-records`: spawn to the first line on stdout (the child is then
 *   killed), with the child's CPU time up to that line from /proc/<pid>/stat;
 * - with root: `freev2g eth -i <veth> -r EVSE --no-records`: spawn to the first HCI frame on the
 *   other end of a veth pair, inside a private network namespace (test/helpers/netns.ts), received
 *   by the project's Ethernet transport in the module role, with the child's CPU time when the
 *   frame arrives; `node -e 0` is timed again in there.
 *
 * With `--base <checkout>` (repeatable) every freev2g row is also run from that checkout's bin
 * (built there), alternating with this one's, for a before/after in one run under the same load.
 *
 * Times are process.hrtime (CLOCK_MONOTONIC, shared by all processes), so the listener's arrival
 * time and the spawn time compare directly. Runs the dist bundle: `node scripts/build.mjs` first.
 *
 *   node --import tsx bench/startup.ts [runs] [--base <checkout>]...      (default 9 rounds)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A checkout whose bin is timed: this one, and the --base one when given. */
interface Tree {
  label: string;
  root: string;
  bin: string;
}

const treeAt = (label: string, root: string): Tree => ({ label, root, bin: join(root, 'bin/freev2g.js') });
/** The simulated EVSE module's default MAC: where the eth host sends its first frame. */
const MODULE_MAC = '00:01:01:63:77:33';
const CLK_TCK_MS = 10;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const load1 = (): string => loadavg()[0]?.toFixed(2) ?? '?';

/** user + system CPU of a live process so far (ms, 10 ms resolution). */
function procCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLK_TCK_MS;
  } catch {
    return Number.NaN;
  }
}

/** Spawn to exit (ms). */
async function toExit(cmd: string, args: string[]): Promise<number> {
  const t0 = nowMs();
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${code}`);
  return nowMs() - t0;
}

/** Spawn to the first complete stdout line (ms), and the child's CPU up to it; the child is killed. */
async function toFirstLine(cmd: string, args: string[]): Promise<{ ms: number; cpuMs: number; line: string }> {
  const t0 = nowMs();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  const first = await new Promise<{ ms: number; cpuMs: number; line: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ ms: nowMs() - t0, cpuMs: procCpuMs(child.pid), line: buf.slice(0, nl) });
    });
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')}: exit ${code} before a line`)));
  });
  await kill(child);
  return first;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

interface Row {
  name: string;
  ms: number[];
  cpuMs?: number[];
}

function print(rows: Row[], base: Row): void {
  const floor = median(base.ms);
  for (const r of rows) {
    const m = median(r.ms);
    const sorted = [...r.ms].sort((a, b) => a - b);
    const cpu = r.cpuMs ? `, CPU to then ${median(r.cpuMs).toFixed(0)} ms` : '';
    console.log(`${r.name.padEnd(44)} median ${m.toFixed(0).padStart(4)} ms (min ${sorted[0]?.toFixed(0)}, max ${sorted.at(-1)?.toFixed(0)})  = ${(m / floor).toFixed(2)}x node -e 0${cpu}`);
  }
}

/** Inside the namespace: a listener on one veth end, the eth host of each tree started on the other. */
async function innerEth(args: { host: string; listen: string; runs: number; trees: Tree[] }): Promise<void> {
  const { createEthTransport } = await import('../transports/eth.js');
  // The module role with the simulated module's MAC sees exactly the frames the host sends it.
  const listener = await createEthTransport({ iface: args.listen, role: 'module', ownMac: MODULE_MAC });
  let arrived: ((at: number) => void) | undefined;
  listener.frames$.subscribe(() => arrived?.(nowMs()));
  const node: number[] = [];
  const wire: number[][] = args.trees.map(() => []);
  const cpu: number[][] = args.trees.map(() => []);
  for (let i = 0; i < args.runs; i++) {
    node.push(await toExit(process.execPath, ['-e', '0']));
    for (const [t, tree] of args.trees.entries()) {
      const first = new Promise<number>((resolve) => (arrived = resolve));
      const t0 = nowMs();
      const child = spawn(process.execPath, [tree.bin, 'eth', '-i', args.host, '-r', 'EVSE', '--no-records'], { stdio: 'ignore', cwd: tree.root });
      const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no frame within 30 s')), 30_000).unref());
      wire[t]?.push((await Promise.race([first, timeout])) - t0);
      cpu[t]?.push(procCpuMs(child.pid));
      arrived = undefined;
      await kill(child);
    }
  }
  await listener.close();
  process.stdout.write(`${JSON.stringify({ node, wire, cpu })}\n`);
  process.exit(0);
}

async function ethRows(runs: number, trees: Tree[]): Promise<Row[] | string> {
  const { createVethPair } = await import('../test/helpers/netns.js');
  let pair: Awaited<ReturnType<typeof createVethPair>>;
  try {
    pair = await createVethPair({ sameNamespace: true });
  } catch (e) {
    return `eth case skipped: cannot create a network namespace (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    const args = JSON.stringify({ host: pair.a.iface, listen: pair.b.iface, runs, trees });
    const script = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', pair.a.ns, process.execPath, '--import', 'tsx', script, '--inner-eth', args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) return `eth case failed (exit ${code})`;
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { node: number[]; wire: number[][]; cpu: number[][] };
    return [
      { name: 'in the namespace: node -e 0', ms: r.node },
      ...trees.map((tree, t) => ({ name: `${tree.label}eth -r EVSE: first frame on the wire`, ms: r.wire[t] ?? [], cpuMs: r.cpu[t] ?? [] })),
    ];
  } finally {
    pair.destroy();
  }
}

/** `[runs] [--base <checkout>]...`: each base is labelled by its folder's name. */
function parseArgs(argv: string[]): { runs: number; trees: Tree[] } {
  const bases: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--base') bases.push(argv[++i] ?? '');
    else rest.push(argv[i] ?? '');
  }
  const runs = Number(rest[0] ?? 9);
  if (bases.length === 0) return { runs, trees: [treeAt('', ROOT)] };
  return { runs, trees: [...bases.map((b) => treeAt(`${basename(resolve(b))}: `, resolve(b))), treeAt('this: ', ROOT)] };
}

async function main(): Promise<void> {
  const { runs, trees } = parseArgs(process.argv.slice(2));
  for (const tree of trees) if (!existsSync(join(tree.root, 'dist/cli/cli.js'))) throw new Error(`${tree.root}dist/cli/cli.js missing: run node scripts/build.mjs there first`);
  const load0 = load1();
  const base: Row = { name: 'node -e 0', ms: [] };
  const version = trees.map((t): Row => ({ name: `${t.label}freev2g --version`, ms: [] }));
  const sim = trees.map((t): Row => ({ name: `${t.label}freev2g sim --speed max: first line`, ms: [], cpuMs: [] }));
  let line = '';
  // One unmeasured round first: the page cache holds the files afterwards, as on a service host.
  for (const tree of trees) await toExit(process.execPath, [tree.bin, '--version']);
  for (let i = 0; i < runs; i++) {
    base.ms.push(await toExit(process.execPath, ['-e', '0']));
    for (const [t, tree] of trees.entries()) {
      version[t]?.ms.push(await toExit(process.execPath, [tree.bin, '--version']));
      const s = await toFirstLine(process.execPath, [tree.bin, 'sim', '--speed', 'max', '--no-records']);
      sim[t]?.ms.push(s.ms);
      sim[t]?.cpuMs?.push(s.cpuMs);
      line = s.line;
    }
  }
  console.log(`start-up, median of ${runs} rounds on node ${process.version} (sim's first line: "${line}")`);
  print([base, ...version, ...sim], base);
  const eth = process.getuid?.() === 0 ? await ethRows(runs, trees) : 'eth case skipped: needs root (a private network namespace with a veth pair)';
  if (typeof eth === 'string') console.log(eth);
  else print(eth, eth[0] as Row);
  for (const [t, tree] of trees.entries()) {
    const simRatio = median(sim[t]?.ms ?? []) / median(base.ms);
    const ethRow = typeof eth === 'string' ? undefined : eth[t + 1];
    const ethRatio = ethRow === undefined || typeof eth === 'string' ? undefined : median(ethRow.ms) / median((eth[0] as Row).ms);
    console.log(
      `${tree.label}startup: sim first line ${simRatio.toFixed(2)}x node -e 0${ethRatio !== undefined ? `, eth first frame ${ethRatio.toFixed(2)}x` : ''} (target <= 3x: ${simRatio <= 3 && (ethRatio ?? 0) <= 3 ? 'met' : 'NOT met'})`,
    );
  }
  console.log(`load average ${load0} -> ${load1()} (2 cores)`);
}

const inner = process.argv.indexOf('--inner-eth');
if (inner >= 0) await innerEth(JSON.parse(process.argv[inner + 1] ?? '{}') as { host: string; listen: string; runs: number; trees: Tree[] });
else await main();
