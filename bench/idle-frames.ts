/**
 * Idle cost per frame, several builds side by side (issue 12 target 2): for each `--bin <path>`
 * an EVSE host (`freev2g eth`, no car) on its own veth pair with `freev2g module-sim` of the same
 * build on the other end, all started together so that they see the same load. After the
 * settling time, windows of `--frames <n>` frames the host sent (its veth end's counter, polled
 * every 20 ms so that a window starts and ends just after a frame left) give the host's CPU time
 * per frame (every thread, /proc/<pid>/task/<tid>/schedstat) and its wake-ups per frame (voluntary
 * context switches, all threads). CPU time grows with the machine's
 * load; with `--valgrind` each host runs under callgrind and the figure that counts is the
 * instructions per frame (callgrind_control zeroes the counters at a window's start and dumps
 * them at its end), which does not depend on the load at all (valgrind is ~50x slower, so only
 * the count means anything, not the time).
 *
 *   node --import tsx bench/idle-frames.ts --bin a/bin/freev2g.js --bin b/bin/freev2g.js [--settle 40] [--frames 40] [--windows 3] [--valgrind [--main-thread] [--keep]] [--tag name]
 *
 * Needs root (network namespaces). Namespaces are named `<tag>-<n>-a|b` (default tag "idlefr").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, cpuMs, load, median, type NsProcess, sleep, startInNamespace, waitText, wakeUps } from './wire-helpers.js';

const bins = process.argv.flatMap((a, i) => (a === '--bin' && process.argv[i + 1] ? [process.argv[i + 1] as string] : []));
const settleS = arg('settle', 40);
const frames = arg('frames', 40);
const windows = arg('windows', 3);
const useValgrind = process.argv.includes('--valgrind');
/** Count the main thread only (callgrind --separate-threads): GC helper threads add noise. */
const mainThread = process.argv.includes('--main-thread');
const tagAt = process.argv.indexOf('--tag');
const tag = tagAt >= 0 ? (process.argv[tagAt + 1] ?? 'idlefr') : 'idlefr';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Rig {
  bin: string;
  ns: [string, string];
  sim?: NsProcess;
  host?: NsProcess;
  cgDir: string;
}

function makeVeth(i: number): [string, string] {
  const ns: [string, string] = [`${tag}-${i}-a`, `${tag}-${i}-b`];
  for (const n of ns) {
    try {
      ip('netns', 'del', n);
    } catch {
      // Not there.
    }
    ip('netns', 'add', n);
  }
  ip('-n', ns[0], 'link', 'add', 'fv2ga', 'type', 'veth', 'peer', 'name', 'fv2gb', 'netns', ns[1]);
  const macs = ['02:f2:00:00:00:0a', '02:f2:00:00:00:0b'];
  for (const [k, n] of ns.entries()) {
    const iface = k === 0 ? 'fv2ga' : 'fv2gb';
    ip('-n', n, 'link', 'set', iface, 'address', macs[k] as string);
    ip('-n', n, 'link', 'set', iface, 'up');
    execFileSync('ip', ['netns', 'exec', n, 'sysctl', '-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`], { stdio: 'ignore' });
  }
  return ns;
}

const framesSent = (ns: string): number => Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', '/sys/class/net/fv2ga/statistics/tx_packets'], { encoding: 'utf8' }));

/** callgrind: zero the counters (`-z`) or dump them (`-d`) and return the instructions dumped. */
function callgrind(rig: Rig, pid: number, what: '-z' | '-d'): number {
  execFileSync('callgrind_control', [what, String(pid)], { stdio: 'ignore', timeout: 30_000 });
  if (what === '-z') return 0;
  // The newest dump of this host (cg.<pid>.<n>, with --main-thread cg.<pid>.<n>-01: the main
  // thread only, without V8's GC and compiler threads): its "totals:" line holds the instructions.
  const dumpNo = (f: string): number => Number(/\.(\d+)(?:-\d+)?$/.exec(f)?.[1] ?? -1);
  const files = readdirSync(rig.cgDir)
    .filter((f) => (mainThread ? /\.\d+-01$/.test(f) : /^cg\.\d+\.\d+$/.test(f)))
    .sort((x, y) => dumpNo(y) - dumpNo(x));
  const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(rig.cgDir, files[0] as string), 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** The host's pid: with valgrind, the valgrind process (ip netns exec execs it). */
const pidOf = (rig: Rig): number => rig.host?.proc.pid ?? NaN;

async function main(): Promise<void> {
  if (bins.length === 0) throw new Error('give at least one --bin <path to bin/freev2g.js>');
  const dir = mkdtempSync(join(tmpdir(), `${tag}-`));
  const scenario = join(dir, 'no-car.json');
  writeFileSync(scenario, JSON.stringify({ name: 'idle', cable: { plugInAfterMs: null } }));
  const rigs: Rig[] = bins.map((bin, i) => ({ bin, ns: makeVeth(i), cgDir: mkdtempSync(join(dir, `cg${i}-`)) }));
  try {
    for (const r of rigs) {
      r.sim = startInNamespace(r.ns[1], process.execPath, [r.bin, 'module-sim', '--role', 'EVSE', '-i', 'fv2gb', '--scenario', scenario]);
      const hostArgs = [r.bin, 'eth', '-i', 'fv2ga', '-m', '02:f2:00:00:00:0b', '-r', 'EVSE', '--no-records', '--log-format', 'json'];
      r.host = useValgrind
        ? startInNamespace(r.ns[0], 'valgrind', ['--tool=callgrind', ...(mainThread ? ['--separate-threads=yes'] : []), `--callgrind-out-file=${r.cgDir}/cg.%p`, process.execPath, ...hostArgs])
        : startInNamespace(r.ns[0], process.execPath, hostArgs);
    }
    for (const r of rigs) {
      await waitText(r.sim as NsProcess, /module-sim: simulated EVSE module/, 300_000, 'module-sim');
      await waitText(r.host as NsProcess, /StartSlac|waitingForVehicle|Waiting for/i, 600_000, `host ${r.bin}`);
    }
    await sleep(settleS * 1000);
    const results = rigs.map(() => ({ msPerFrame: [] as number[], instrPerFrame: [] as number[], wakesPerFrame: [] as number[] }));
    for (let w = 0; w < windows; w++) {
      const load0 = load();
      // Every rig's window: from just after one frame left to just after the `frames`-th next one.
      await Promise.all(
        rigs.map(async (r, k) => {
          const pid = pidOf(r);
          let sent = framesSent(r.ns[0]);
          while (framesSent(r.ns[0]) === sent) await sleep(20);
          sent = framesSent(r.ns[0]);
          const cpu0 = cpuMs(pid);
          const wake0 = wakeUps(pid);
          if (useValgrind) callgrind(r, pid, '-z');
          while (framesSent(r.ns[0]) < sent + frames) await sleep(20);
          const n = framesSent(r.ns[0]) - sent;
          const cpu1 = cpuMs(pid);
          const wake1 = wakeUps(pid);
          const ir = useValgrind ? callgrind(r, pid, '-d') : NaN;
          results[k]?.msPerFrame.push((cpu1 - cpu0) / n);
          results[k]?.instrPerFrame.push(ir / n);
          results[k]?.wakesPerFrame.push((wake1 - wake0) / n);
        }),
      );
      const line = rigs.map((r, k) => {
        const res = results[k];
        const ms = res?.msPerFrame.at(-1) ?? NaN;
        const ir = res?.instrPerFrame.at(-1) ?? NaN;
        const wakes = res?.wakesPerFrame.at(-1) ?? NaN;
        return `${r.bin}: ${useValgrind ? `${(ir / 1e6).toFixed(3)} M instructions/frame` : `${ms.toFixed(3)} ms CPU/frame`}, ${wakes.toFixed(2)} wake-ups/frame`;
      });
      console.log(`window ${w + 1} (load ${load0} -> ${load()}): ${line.join('; ')}`);
    }
    for (const [k, r] of rigs.entries()) {
      const res = results[k];
      if (!res) continue;
      const fig = useValgrind ? `${(median(res.instrPerFrame) / 1e6).toFixed(3)} M instructions/frame` : `${median(res.msPerFrame).toFixed(3)} ms CPU/frame`;
      console.log(`median ${r.bin}: ${fig}, ${median(res.wakesPerFrame).toFixed(2)} wake-ups/frame`);
    }
  } finally {
    for (const r of rigs) {
      r.host?.proc.kill('SIGTERM');
      r.sim?.proc.kill('SIGTERM');
    }
    await Promise.race([Promise.all(rigs.flatMap((r) => [r.host?.exit, r.sim?.exit])), sleep(10_000)]);
    for (const r of rigs) for (const n of r.ns) ip('netns', 'del', n);
    if (process.argv.includes('--keep')) console.log(`callgrind dumps kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
