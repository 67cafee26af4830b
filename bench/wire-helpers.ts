/**
 * Shared by the benches that run the real CLI on a veth pair (bench/wire-reaction.ts,
 * bench/idle.ts): processes started inside a network namespace, waiting for their output, and
 * the CPU time of a running process read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../test/helpers/netns.js';

export { median, pct } from './stats.js';

/** The CLI as users run it (compiled dist/ unless missing); `--bin <path>` compares another tree. */
export function binPath(): string {
  const i = process.argv.indexOf('--bin');
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : join(PROJECT_ROOT, 'bin/freev2g.js');
}

/** `--cpu-prof <dir>`: node arguments that make the measured host write a V8 CPU profile there on exit. */
export function profileArgs(): string[] {
  const i = process.argv.indexOf('--cpu-prof');
  return i >= 0 ? ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', process.argv[i + 1] ?? '.'] : [];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface NsProcess {
  proc: ChildProcess;
  out: string[];
  exit: Promise<number | null>;
}

/** `cmd args` inside namespace `ns` (`ip netns exec` execs, so the pid is the command's own). */
export function startInNamespace(ns: string, cmd: string, args: string[]): NsProcess {
  const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, out, exit };
}

export async function waitText(c: NsProcess, re: RegExp, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(c.out.join(''))) {
    if (Date.now() > end) throw new Error(`${what} did not show up: ${c.out.join('').slice(-800)}`);
    await sleep(50);
  }
}

/**
 * The sum of one number over every thread of a running process (GC, JIT, libuv pool too), or NaN
 * once it is gone. Threads that ended are not counted, which is why callers measure differences
 * over a window of a settled process.
 */
function sumThreads(pid: number | undefined, read: (taskDir: string) => number): number {
  if (pid === undefined) return NaN;
  let sum = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) sum += read(`/proc/${pid}/task/${tid}`);
  } catch {
    return NaN;
  }
  return sum;
}

/** CPU time of a running process so far, in ms: /proc/<pid>/task/<tid>/schedstat's first field (ns on the CPU). */
export function cpuMs(pid: number | undefined): number {
  return sumThreads(pid, (dir) => Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0])) / 1e6;
}

/**
 * Times a running process's threads went to sleep and were woken again so far (voluntary context
 * switches, /proc/<pid>/task/<tid>/status): an idle process's wake-ups, a figure that does not
 * grow with the machine's load the way CPU time does.
 */
export function wakeUps(pid: number | undefined): number {
  return sumThreads(pid, (dir) => Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(readFileSync(`${dir}/status`, 'utf8'))?.[1] ?? 0));
}

/** `--name <number>` from the command line (a positive number), else `fallback`. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** The 1-minute load average, for the lines every bench prints. */
export const load = (): string => loadavg()[0]?.toFixed(2) ?? '?';

/** One thread of a running process: its name, wake-ups (voluntary context switches), preemptions and CPU time so far. */
export interface ThreadStat {
  comm: string;
  wakeUps: number;
  preempted: number;
  cpuMs: number;
}

/** Every thread of a running process by thread id (empty once it is gone). */
export function threadStats(pid: number | undefined): Map<string, ThreadStat> {
  const out = new Map<string, ThreadStat>();
  if (pid === undefined) return out;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const dir = `/proc/${pid}/task/${tid}`;
      const status = readFileSync(`${dir}/status`, 'utf8');
      out.set(tid, {
        comm: readFileSync(`${dir}/comm`, 'utf8').trim(),
        wakeUps: Number(/\bvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0),
        preempted: Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0),
        cpuMs: Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e6,
      });
    }
  } catch {
    // The process (or one thread) ended while we read.
  }
  return out;
}

/**
 * What each thread did between two `threadStats` of one process, one line per thread that woke or
 * ran ("main" is the thread whose id is the pid): which of Node's threads (the main loop, libuv's
 * pool, V8's platform workers for GC and the compiler) an idle process's wake-ups come from.
 */
export function threadDelta(pid: number | undefined, before: Map<string, ThreadStat>, after: Map<string, ThreadStat>): string[] {
  const lines: string[] = [];
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { comm: a.comm, wakeUps: 0, preempted: 0, cpuMs: 0 };
    const w = a.wakeUps - b.wakeUps;
    const cpu = a.cpuMs - b.cpuMs;
    if (w === 0 && cpu < 0.001) continue;
    const name = String(pid) === tid ? `main (${a.comm})` : `${a.comm} ${before.has(tid) ? '' : '(new) '}`.trim();
    lines.push(`  ${tid.padStart(7)} ${name.padEnd(22)} ${String(w).padStart(5)} wake-ups ${String(a.preempted - b.preempted).padStart(4)} preempted ${cpu.toFixed(2).padStart(8)} ms CPU`);
  }
  return lines;
}
