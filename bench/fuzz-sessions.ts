/**
 * Fuzz campaign over whole sessions (issue 12 item 13): seeded random faults at every phase
 * (test/helpers/fuzz-session.ts), each session judged: ends safe, output 0, a record for a
 * started V2G session. Prints the count, the throughput and every failing seed (to replay one:
 * `fuzzSession(seed)`).
 *
 *   node --import tsx bench/fuzz-sessions.ts [count=100000] [firstSeed=1] [maxSeconds=inf]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fuzzSession } from '../test/helpers/fuzz-session.js';

const count = Number(process.argv[2] ?? 100_000);
const first = Number(process.argv[3] ?? 1);
const maxS = Number(process.argv[4] ?? Infinity);
const t0 = performance.now();
const c0 = process.cpuUsage();
let done = 0;
let started = 0;
const problems: string[] = [];
for (let seed = first; seed < first + count; seed++) {
  const v = await fuzzSession(seed);
  done++;
  if (v.sessionStarted) started++;
  if (v.problem) problems.push(`seed ${seed}: ${v.problem}`);
  if ((performance.now() - t0) / 1000 >= maxS) break;
}
const wallS = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
const cpuS = (c.user + c.system) / 1e6;
console.log(`fuzzed sessions: ${done} (seeds ${first}..${first + done - 1}), V2G session started in ${started}`);
console.log(`wall ${wallS.toFixed(1)} s, CPU ${cpuS.toFixed(1)} s: ${(done / wallS).toFixed(1)} sessions/s wall, ${(done / cpuS).toFixed(1)} per CPU-second`);
console.log(`problems: ${problems.length}`);
for (const p of problems) console.log(`  ${p}`);
console.log(
  `load average: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
