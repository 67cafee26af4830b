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

/** The CLI as users run it (compiled dist/ unless missing); `--bin <path>` compares another tree. */
export function binPath(): string {
  const i = process.argv.indexOf('--bin');
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : join(PROJECT_ROOT, 'bin/freev2g.js');
}

/** `--cpu-prof <dir>`: node arguments that make the measured host write a V8 CPU profile there on exit. */
export function profileArgs(): string[] {
  const i = process.argv.indexOf('--cpu-prof');
  return i >= 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[i + 1] ?? '.'] : [];
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
 * CPU time of a running process so far, every thread (GC, JIT, libuv pool too), in ms:
 * the sum of /proc/<pid>/task/<tid>/schedstat's first field (ns on the CPU). Threads that ended
 * are not counted, which is why callers measure differences over a window of a settled process.
 */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}

/** `--name <number>` from the command line (a positive number), else `fallback`. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** The p-th percentile of an ascending array. */
export const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
/** The 1-minute load average, for the lines every bench prints. */
export const load = (): string => loadavg()[0]?.toFixed(2) ?? '?';
