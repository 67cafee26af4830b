/**
 * One cold session, then `count` warm ones of a case of bench/sim-hosts.ts, for counts that do not
 * depend on the machine's load: callgrind's instructions of `count` = 1 minus those of `count` = 0
 * are one warm session's (docs/performance.md, target 4, eighth round). Bundled first, so that
 * the count holds no transpiling and the profile has real line numbers:
 *
 *   npx esbuild bench/sim-warm.ts --bundle --platform=node --format=esm --outfile=bench/.sim-warm.mjs \
 *     --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);"
 *   valgrind --tool=callgrind node bench/.sim-warm.mjs default 1      (then: default 0)
 *   node bench/.sim-warm.mjs default 3                                (CPU per frame of the warm ones)
 *
 * The warm sessions sit between callgrind marks (bench/callgrind-marks.ts), so one run gives them
 * alone, with the JIT on as in a real run (ninth round):
 *
 *   valgrind --tool=callgrind --zero-before=Builtins_TypedArrayPrototypeFindLast \
 *     --dump-before=Builtins_TypedArrayPrototypeFindLastIndex node bench/.sim-warm.mjs default 1
 *
 * then the first dump (callgrind.out.<pid>.1) holds the warm sessions' instructions.
 */
import { Writable } from 'node:stream';
import type { StationSettings } from '../app/config.js';
import { runStations } from '../app/run.js';
import { dumpMark, zeroMark } from './callgrind-marks.js';
import { benchPair } from './sim-setup.js';

const kind = process.argv[2] ?? 'default';
const count = Number(process.argv[3] ?? 1);
const discard = (): NodeJS.WriteStream => new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
let frames = 0;
let cpuUs = 0;
for (let i = 0; i <= count; i++) {
  const { clock, evse, ev, pair, frames: seen } = benchPair(kind === 'short' ? 94 : undefined);
  if (i === 1) zeroMark();
  const c0 = process.cpuUsage();
  const result = await runStations({
    stations: [evse, ev].map((s: StationSettings) => ({ settings: s, transport: s.role === 'EVSE' ? pair.evseHost : pair.evHost, hostMac: '02:00:00:00:00:01', moduleMac: s.mac })),
    clock,
    logFormat: 'human',
    ask: false,
    sessions: 1,
    out: discard(),
    cleanup: () => pair.close(),
  });
  const c = process.cpuUsage(c0);
  if (i === count && count > 0) dumpMark();
  if (result.exitCode !== 0 || result.sessionCount !== 2) throw new Error(`session did not end cleanly (exit ${result.exitCode})`);
  if (i === 0) continue;
  frames += seen();
  cpuUs += c.user + c.system;
}
console.log(`${kind}: ${count} warm sessions, ${frames} HCI frames, ${(cpuUs / 1000).toFixed(0)} ms CPU, ${(cpuUs / Math.max(1, frames)).toFixed(1)} µs CPU/frame`);
