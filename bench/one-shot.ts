/**
 * The EVSE host's one-shot answers (Set Schedules, Set Cable Check Finished, Start Charging, ...:
 * one each a session, so each runs cold on the wire) against the same code run before, on the
 * simulated pair (issue 12 target 1, the p99; docs/performance.md, ninth round). Every V2G status
 * the EVSE host receives is paired with its first V2G request after it, sent while the status is
 * handled (the answer); the host's span between the two is measured, per session of the process.
 * The EV station, the simulated modules and the virtual clock run in the same process, so code
 * both hosts share (codec, client, XState) is warmer than in a lone `freev2g eth`; what is the
 * EVSE session's own runs cold in the first session only.
 *
 *   node --import tsx bench/one-shot.ts [--sessions 3] [--warm]          wall time per pair (µs)
 *   node --import tsx bench/one-shot.ts --callgrind [--sessions 2] [--warm]  instructions per pair
 *
 * `--callgrind`: runs itself under callgrind (bench/callgrind-marks.ts: node in the interpreter,
 * as a once-a-session path runs on the wire), zeroed at each status and dumped at its answer.
 * `--warm`: the host's warm-up (app/warm-up.ts) runs before the first session, as `eth` and
 * `spi` run it while waiting for a car.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Subject } from 'rxjs';
import { lookup } from '../codec/catalog.js';
import type { StationSettings } from '../app/config.js';
import { runStations } from '../app/run.js';
import type { Transport } from '../transports/transport.js';
import { callgrindRounds, dumpMark, zeroMark } from './callgrind-marks.js';
import { benchPair } from './sim-setup.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const sessions = Number(arg('sessions', process.argv.includes('--callgrind') ? '2' : '3'));

if (process.argv.includes('--callgrind')) {
  const namesFile = `/tmp/fv2g-one-shot-${process.pid}.json`;
  process.argv.push('--names', namesFile);
  const counts = callgrindRounds(new URL(import.meta.url).pathname, 'fv2g-oneshot-');
  const names = JSON.parse(readFileSync(namesFile, 'utf8')) as { session: number; pair: string }[];
  const rows = new Map<string, number[][]>();
  names.forEach((n, i) => {
    const row = rows.get(n.pair) ?? Array.from({ length: sessions }, () => []);
    row[n.session]?.push(counts[i] ?? Number.NaN);
    rows.set(n.pair, row);
  });
  console.log(`instructions, status in -> answer out (callgrind, interpreter), first of each session (sessions separated by |)${process.argv.includes('--warm') ? ', warm-up first' : ''}:`);
  const k = (n: number | undefined): string => `${((n ?? Number.NaN) / 1000).toFixed(1)} k`;
  // Repeated pairs (the charge loop): the first, then the median of the rest.
  const cell = (s: number[]): string => (s.length > 2 ? `${k(s[0])} (then median ${k([...s.slice(1)].sort((a, b) => a - b)[Math.floor((s.length - 1) / 2)])})` : k(s[0]));
  for (const [pair, perSession] of rows) console.log(`  ${pair}: ${perSession.map(cell).join(' | ')}`);
  process.exit(0);
}

const namesFile = process.argv.includes('--names') ? arg('names', '') : undefined;
const discard = (): NodeJS.WriteStream => new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const marked: { session: number; pair: string }[] = [];

/** Stamps V2G statuses on their way in and the first V2G request sent while each is handled. */
function timed(inner: Transport, session: number, spans: Map<string, number[]>): Transport {
  const frames$ = new Subject<Uint8Array>();
  let pending: { name: string; at: number } | undefined;
  inner.frames$.subscribe({
    next: (f) => {
      const def = lookup(f[1] as number, f[2] as number);
      pending = def?.kind === 'status' && def.module === 'V2g' ? { name: def.name, at: performance.now() } : undefined;
      if (pending) zeroMark();
      frames$.next(f);
      pending = undefined;
    },
    complete: () => frames$.complete(),
  });
  return {
    frames$,
    linkState$: inner.linkState$,
    send(frame) {
      const def = lookup(frame[1] as number, frame[2] as number);
      if (pending && def?.module === 'V2g') {
        dumpMark();
        const pair = `${pending.name} -> ${def.name}`;
        marked.push({ session, pair });
        spans.set(pair, [...(spans.get(pair) ?? []), (performance.now() - pending.at) * 1000]);
        pending = undefined;
      }
      return inner.send(frame);
    },
    close: () => inner.close(),
  };
}

if (process.argv.includes('--warm')) {
  const { warmUp } = await import('../app/warm-up.js');
  await warmUp('EVSE');
}
for (let i = 0; i < sessions; i++) {
  const { clock, evse, ev, pair } = benchPair(94);
  const spans = new Map<string, number[]>();
  const result = await runStations({
    stations: [evse, ev].map((s: StationSettings) => ({
      settings: s,
      transport: s.role === 'EVSE' ? timed(pair.evseHost, i, spans) : pair.evHost,
      hostMac: '02:00:00:00:00:01',
      moduleMac: s.mac,
    })),
    clock,
    logFormat: 'json',
    ask: false,
    sessions: 1,
    out: discard(),
    cleanup: () => pair.close(),
  });
  if (result.exitCode !== 0) throw new Error(`session ended with ${result.exitCode}`);
  if (namesFile) continue;
  console.log(`session ${i + 1}:`);
  for (const [k, v] of spans) {
    const s = [...v].sort((a, b) => a - b);
    console.log(`  ${k}: n=${v.length} first ${v[0]?.toFixed(0)} µs, median ${s[Math.floor(s.length / 2)]?.toFixed(0)} µs, max ${s.at(-1)?.toFixed(0)} µs`);
  }
}
if (namesFile) writeFileSync(namesFile, JSON.stringify(marked));
