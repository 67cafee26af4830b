/**
 * Fuzz campaign over whole sessions (issue 12 item 13): seeded random faults at every phase
 * (test/helpers/fuzz-session.ts), each session judged: ends safe, output 0, a record for a
 * started V2G session. Prints the count, the throughput and every failing seed (to replay one:
 * `fuzzSession(seed)`).
 *
 *   node --import tsx bench/fuzz-sessions.ts [count=100000] [firstSeed=1] [maxSeconds=inf] [--jobs N] [--json] [--plant SEED] [--trace] [--causes]
 *
 * --jobs N runs N child processes, child i taking seeds first+i, first+i+N, ... (interleaved, so a
 * run stopped early has covered one contiguous range); each child reports its progress every
 * 5,000 sessions and every failing seed at once (stderr), the parent prints the merged summary
 * (stdout; --json: one JSON object instead). SIGINT/SIGTERM to the parent stops the children
 * after their current session and still prints the summary. --plant SEED reports that seed as
 * failed whatever its verdict (to check that a failure reaches the summary and the exit code).
 * --trace prints both hosts' log lines and the frames each host sent and received, with the
 * virtual time (one seed at a time: `1 SEED --trace`). --causes adds the histogram of how the
 * sessions the car did not complete ended (cause(), with a few seeds each): a session lost to a
 * fault the host could recover from is no problem for the verdict but is one for the driver.
 * Exits 1 when a seed failed.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type FuzzVerdict, fuzzSession } from '../test/helpers/fuzz-session.js';

const PROGRESS_EVERY = 5_000;
const SEEDS_PER_CAUSE = 5;

interface Failure {
  seed: number;
  problem: string;
}
/** What a child sends its parent: progress (with failures since the last message) and its end. */
interface Report {
  job: number;
  done: number;
  started: number;
  /** Of `started`: only after a host set its module up again (FuzzVerdict.startedAfterSetUpAgain). */
  startedAfterSetUp: number;
  lastSeed: number;
  failures: Failure[];
  cpuS: number;
  final: boolean;
  /** --causes: sessions per cause() and the first seeds of each (since the last message). */
  causes: Record<string, { n: number; seeds: number[] }>;
}

/**
 * Why a session the car did not complete ended: the faults that end a session for good when drawn
 * ('hard', else 'soft': drops, duplicates, corruption, delays, busy answers, all recoverable),
 * each host's record, and the first command each host saw unanswered (EVSE/EV).
 */
function cause(v: Pick<FuzzVerdict, 'sessionStarted' | 'ending'>): string {
  const e = v.ending;
  if (e.completed) return 'completed';
  const kind = e.hardFaults.length > 0 ? `hard(${e.hardFaults.join('+')})` : 'soft';
  const lost = `unanswered ${e.unansweredEvse.join('+') || '-'} / ${e.unansweredEv.join('+') || '-'}`;
  if (!v.sessionStarted) return `${kind} | not started | ${lost}`;
  return `${kind} | EVSE ${e.evse ?? 'no record'} in ${e.evsePhase ?? '-'}, EV ${e.ev ?? 'no record'} in ${e.evPhase ?? '-'} | ${lost}`;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    jobs: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    plant: { type: 'string' },
    trace: { type: 'boolean', default: false },
    causes: { type: 'boolean', default: false },
    // Internal: set by the parent for its children.
    job: { type: 'string' },
  },
});
const count = Number(positionals[0] ?? 100_000);
const first = Number(positionals[1] ?? 1);
const maxS = Number(positionals[2] ?? Number.POSITIVE_INFINITY);
const jobs = Math.max(1, Number(values.jobs));
const planted = values.plant === undefined ? undefined : Number(values.plant);

const cpuSeconds = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Runs seeds first+job, first+job+stride, ... below first+count, reporting as it goes. */
async function runSeeds(job: number, stride: number, send: (r: Report) => void): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let stop = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (stop = true));
  process.on('message', () => (stop = true));
  const r: Report = { job, done: 0, started: 0, startedAfterSetUp: 0, lastSeed: first + job - stride, failures: [], cpuS: 0, final: false, causes: {} };
  const flush = (final: boolean): void => {
    send({ ...r, cpuS: cpuSeconds(process.cpuUsage(c0)), final });
    r.failures = [];
    r.causes = {};
  };
  for (let seed = first + job; seed < first + count && !stop; seed += stride) {
    // A session that throws is a failing seed like any other (the campaign goes on).
    const v = await fuzzSession(seed, undefined, values.trace ? (l) => console.error(l) : undefined).catch((e: unknown) => ({
      sessionStarted: false,
      startedAfterSetUpAgain: false,
      problem: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      ending: { completed: false, hardFaults: [], unansweredEvse: [], unansweredEv: [] },
    }));
    if (values.causes) {
      const c = (r.causes[cause(v)] ??= { n: 0, seeds: [] });
      c.n++;
      if (c.seeds.length < SEEDS_PER_CAUSE) c.seeds.push(seed);
    }
    r.done++;
    r.lastSeed = seed;
    if (v.sessionStarted) r.started++;
    if (v.startedAfterSetUpAgain) r.startedAfterSetUp++;
    const problem = seed === planted ? `planted problem (--plant ${seed})` : v.problem;
    if (problem) r.failures.push({ seed, problem });
    if (r.failures.length > 0 || r.done % PROGRESS_EVERY === 0) flush(false);
    if ((performance.now() - t0) / 1000 >= maxS) break;
    // A session on the virtual clock runs on microtasks only: let the event loop deliver a stop
    // (signal or parent's message) and send the reports before the next one.
    await new Promise((resolve) => setImmediate(resolve));
  }
  flush(true);
}

interface Summary {
  sessions: number;
  seeds: string;
  v2gStarted: number;
  v2gStartedAfterSetUp: number;
  wallS: number;
  cpuS: number;
  perCpuSecond: number;
  perWallSecond: number;
  jobs: number;
  load: { start: string; end: string };
  failures: Failure[];
  /** --causes: merged over the jobs. */
  causes?: Record<string, { n: number; seeds: number[] }>;
}

const causes: Record<string, { n: number; seeds: number[] }> = {};
function mergeCauses(from: Report['causes']): void {
  for (const [k, c] of Object.entries(from)) {
    const m = (causes[k] ??= { n: 0, seeds: [] });
    m.n += c.n;
    m.seeds = [...m.seeds, ...c.seeds].sort((a, b) => a - b).slice(0, SEEDS_PER_CAUSE);
  }
}

function summarize(finals: Report[], failures: Failure[], wallS: number, loadStart: string): Summary {
  const sessions = finals.reduce((n, r) => n + r.done, 0);
  const cpuS = finals.reduce((n, r) => n + r.cpuS, 0);
  const lastSeeds = finals.map((r) => r.lastSeed);
  return {
    sessions,
    seeds: `${first}..${Math.max(...lastSeeds)} (all up to ${Math.min(...lastSeeds)})`,
    v2gStarted: finals.reduce((n, r) => n + r.started, 0),
    v2gStartedAfterSetUp: finals.reduce((n, r) => n + r.startedAfterSetUp, 0),
    wallS,
    cpuS,
    perCpuSecond: sessions / cpuS,
    perWallSecond: sessions / wallS,
    jobs: finals.length,
    load: { start: loadStart, end: load() },
    failures: failures.sort((a, b) => a.seed - b.seed),
    ...(values.causes ? { causes } : {}),
  };
}

function print(s: Summary): void {
  if (values.json) return console.log(JSON.stringify(s));
  console.log(`fuzzed sessions: ${s.sessions} (seeds ${s.seeds}, ${s.jobs} job(s)), V2G session started in ${s.v2gStarted} (${s.v2gStartedAfterSetUp} only after a module was set up again)`);
  console.log(`wall ${s.wallS.toFixed(1)} s, CPU ${s.cpuS.toFixed(1)} s: ${s.perWallSecond.toFixed(1)} sessions/s wall, ${s.perCpuSecond.toFixed(1)} per CPU-second`);
  console.log(`problems: ${s.failures.length}`);
  for (const f of s.failures) console.log(`  seed ${f.seed}: ${f.problem}`);
  if (s.causes) {
    console.log('causes (sessions, first seeds):');
    for (const [k, c] of Object.entries(s.causes).sort((a, b) => b[1].n - a[1].n)) console.log(`  ${String(c.n).padStart(6)}  ${k}  [${c.seeds.join(' ')}]`);
  }
  console.log(`load average: ${s.load.start} -> ${s.load.end}`);
}

const children: ChildProcess[] = [];

/** Parent: forks the children, relays their progress, merges their final reports. */
async function campaign(): Promise<void> {
  const t0 = performance.now();
  const loadStart = load();
  const failures: Failure[] = [];
  const args = positionals.length > 0 ? positionals : [String(count), String(first)];
  const finals = await Promise.all(
    Array.from({ length: jobs }, (_, job) => {
      const child = fork(fileURLToPath(import.meta.url), [...args, '--jobs', String(jobs), '--job', String(job), ...(planted === undefined ? [] : ['--plant', String(planted)])], {
        execArgv: ['--import', 'tsx'],
      });
      children.push(child);
      return new Promise<Report>((resolve) => {
        let last: Report = { job, done: 0, started: 0, startedAfterSetUp: 0, lastSeed: first + job - jobs, failures: [], cpuS: 0, final: false, causes: {} };
        child.on('message', (r: Report) => {
          for (const f of r.failures) console.error(`job ${job}: seed ${f.seed} FAILED: ${f.problem}`);
          failures.push(...r.failures);
          mergeCauses(r.causes);
          last = r;
          if (!r.final && r.done % PROGRESS_EVERY === 0) console.error(`job ${job}: ${r.done} sessions (last seed ${r.lastSeed}), ${r.started} started, ${r.cpuS.toFixed(0)} CPU-s, load ${load()}`);
        });
        // A child that died (a crash outside a session's promise) fails the seed it was running.
        child.on('exit', (code, signal) => {
          if (!last.final) failures.push({ seed: last.lastSeed + jobs, problem: `job ${job} died (exit ${String(code ?? signal)}) in or after this seed` });
          resolve({ ...last, final: true });
        });
      });
    }),
  );
  const summary = summarize(finals, failures, (performance.now() - t0) / 1000, loadStart);
  print(summary);
  if (summary.failures.length > 0) process.exitCode = 1;
}

if (values.job !== undefined) {
  // A child: report to the parent over the IPC channel, then let the channel close.
  await runSeeds(Number(values.job), jobs, (r) => process.send?.(r));
  process.disconnect?.();
} else if (jobs > 1) {
  // Stop the children (after their current session) on Ctrl-C or a kill of the parent alone.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      console.error(`${sig}: stopping the jobs after their current session`);
      for (const c of children) if (c.connected) c.send('stop');
    });
  await campaign();
} else {
  const t0 = performance.now();
  const loadStart = load();
  const finals: Report[] = [];
  const failures: Failure[] = [];
  await runSeeds(0, 1, (r) => {
    failures.push(...r.failures);
    mergeCauses(r.causes);
    if (r.final) finals.push(r);
    else if (r.done % PROGRESS_EVERY === 0) console.error(`${r.done} sessions (last seed ${r.lastSeed}), ${r.started} started, ${r.cpuS.toFixed(0)} CPU-s`);
  });
  const summary = summarize(finals, failures, (performance.now() - t0) / 1000, loadStart);
  print(summary);
  if (summary.failures.length > 0) process.exitCode = 1;
}
