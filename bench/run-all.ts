/**
 * Runs every bench script in sequence, each in its own Node process (so one bench's JIT state,
 * heap and timers do not colour the next), passes their output through, and ends with a
 * one-line summary per bench and the load average around it (2 cores shared with other work:
 * read wall times next to the CPU times the benches print).
 *
 *   npm run bench                      (= node --import tsx bench/run-all.ts)
 *   node --import tsx bench/run-all.ts codec reaction     (only these)
 *
 * The veth parts of bench/transport.ts, bench/startup.ts (eth row) and bench/wire-reaction.ts need
 * root (a private network namespace); without it those benches print why and report the rest.
 * Short arguments for the slow ones keep a whole run at ~1-2 minutes on a quiet machine. The fuzz
 * campaign (bench/fuzz-sessions.ts, CPU-hours) is not part of it. Exits 1 if a bench failed.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

interface Bench {
  name: string;
  file: string;
  args: string[];
  /** The bench's figures in one line, from its output lines. */
  summarize(lines: string[]): string;
}

const find = (lines: string[], re: RegExp): string | undefined => lines.find((l) => re.test(l));
const lastLine = (lines: string[]): string => lines.filter((l) => l.trim() !== '').at(-1) ?? '(no output)';

const BENCHES: Bench[] = [
  {
    name: 'codec',
    file: 'codec.ts',
    args: [],
    summarize(lines) {
      const enc = find(lines, /^encode:/)?.match(/median ([\d,]+) frames\/CPU-s/)?.[1];
      const dec = find(lines, /^deframe\+decode:/)?.match(/median ([\d,]+) frames\/CPU-s/)?.[1];
      const target = find(lines, /^target/)?.match(/(NOT met|met)$/)?.[1];
      return enc && dec ? `encode ${enc} frames/CPU-s, deframe+decode ${dec} frames/CPU-s (target 1,000,000: ${target ?? '?'})` : lastLine(lines);
    },
  },
  {
    name: 'transport',
    file: 'transport.ts',
    args: [],
    summarize(lines) {
      const rows = lines
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c.length === 6 && /^(memory|veth)/.test(c[0] ?? ''))
        .map(([medium, payload, , p50, p99, fps]) => `${medium} ${payload} B: RTT p50 ${p50} µs, p99 ${p99} µs, ${fps} frames/s`);
      const veth = rows.some((r) => r.startsWith('veth')) ? '' : ` (veth skipped: ${lastLine(lines)})`;
      return rows.length > 0 ? rows.join('; ') + veth : lastLine(lines);
    },
  },
  {
    name: 'sim-session',
    file: 'sim-session.ts',
    args: [],
    summarize: (lines) => find(lines, /^summary:/)?.replace(/^summary: /, '') ?? lastLine(lines),
  },
  {
    // Short: 5 rounds (bench/startup.ts alone takes 9); the eth row needs root and says so without it.
    name: 'startup',
    file: 'startup.ts',
    args: ['5'],
    summarize: (lines) => find(lines, /^startup:/)?.replace(/^startup: /, '') ?? lastLine(lines),
  },
  {
    // Short: 3 runs of each case (the default session costs ~5 CPU-s); bench/sim-hosts.ts alone takes 5.
    name: 'sim-hosts',
    file: 'sim-hosts.ts',
    args: ['3'],
    summarize: (lines) => find(lines, /^summary:/)?.replace(/^summary: /, '') ?? lastLine(lines),
  },
  {
    name: 'reaction',
    file: 'reaction.ts',
    args: [],
    summarize: (lines) => find(lines, /^reaction \(/)?.replace(/^reaction /, '') ?? lastLine(lines),
  },
  {
    // Root only (veth in namespaces); one short run here, `bench/wire-reaction.ts` alone for the figures.
    name: 'wire-reaction',
    file: 'wire-reaction.ts',
    args: ['--runs', '1', '--charge', '20'],
    summarize: (lines) => find(lines, /^wire reaction|^wire-reaction bench skipped/) ?? lastLine(lines),
  },
  {
    name: 'idle',
    file: 'idle.ts',
    args: [],
    summarize: (lines) =>
      lines
        .filter((l) => /^idle /.test(l))
        .map((l) => l.replace(/^idle /, ''))
        .join('; ') || lastLine(lines),
  },
];

interface Outcome {
  name: string;
  ok: boolean;
  seconds: number;
  load: string;
  summary: string;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const load1 = (): string => loadavg()[0]?.toFixed(2) ?? '?';

function runOne(b: Bench): Promise<Outcome> {
  return new Promise((resolve) => {
    const loadBefore = load1();
    const t0 = performance.now();
    console.log(`\n=== ${b.name} (bench/${b.file}) ===`);
    const child = spawn(process.execPath, ['--import', 'tsx', here(b.file), ...b.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const lines = out.split('\n');
      const ok = code === 0;
      resolve({
        name: b.name,
        ok,
        seconds: (performance.now() - t0) / 1000,
        load: `${loadBefore} -> ${load1()}`,
        summary: ok ? b.summarize(lines) : `FAILED (exit ${String(code)}): ${lastLine(lines)}`,
      });
    });
  });
}

const only = process.argv.slice(2);
const selected = only.length > 0 ? BENCHES.filter((b) => only.includes(b.name)) : BENCHES;
if (selected.length === 0) {
  console.error(`unknown bench; choose from: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
console.log(
  `benches on node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const outcomes: Outcome[] = [];
for (const b of selected) outcomes.push(await runOne(b));

console.log('\n=== summary ===');
for (const o of outcomes) console.log(`${o.name.padEnd(13)} ${o.summary}  [${o.seconds.toFixed(0)} s, load ${o.load}]`);
if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
