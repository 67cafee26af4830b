/**
 * The tolerant decode of a charge-loop status, called as the wire calls it: once after a pause
 * (default 100 ms, ~ the charge loop's period), so its code and data are cold every time
 * (docs/performance.md, target 1, sixth and seventh rounds). Prints the median per-call time
 * cold and in a tight loop, for:
 *   evse  V2g.EvseDcChargeParametersChanged (0x85, 14 fields), what an EVSE host decodes;
 *   ev    V2g.EvDcChargeParametersChanged in PI V01_00_04's 25-byte layout with that profile's
 *         variants preferred, what an EV host on that firmware decodes.
 *
 *   node --import tsx bench/status-decode.ts [--root DIR] [--calls N] [--sleep-ms MS] [--tight N] [--only evse|ev]
 *
 * `--root /work/main` measures another tree's codec with the same script (base vs branch).
 * For instruction counts independent of load (docs/performance.md, seventh round): under
 * `valgrind --tool=callgrind`, node `--predictable --single-threaded --no-opt --no-sparkplug`,
 * `--sleep-ms 0 --tight 0`, at two `--calls` counts; the difference over the extra calls is the
 * instructions a turn, and `--only noop` gives the turn without a decode.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { median } from './stats.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const root = resolve(arg('root', new URL('..', import.meta.url).pathname));
const calls = Number(arg('calls', '50'));
const sleepMs = Number(arg('sleep-ms', '100'));
const tight = Number(arg('tight', '20000'));
const only = arg('only', '');

const load = (p: string) => import(pathToFileURL(`${root}/${p}`).href);
const catalog = await load('codec/catalog.ts');
const frames = await load('codec/frame.ts');
const layouts = await load('codec/layouts.ts');
const message = await load('codec/message.ts');
const { decodeStatusTolerant } = await load('codec/tolerant.ts');

const frameOf = (bytes: Uint8Array) => {
  const p = frames.parseFrame(bytes);
  if ('error' in p) throw new Error(p.error.detail);
  return p.frame;
};

const evse = frameOf(
  catalog.encodeStatusFrame(catalog.V2g.EvseDcChargeParametersChanged, {
    maxVoltageV: 500,
    maxCurrentA: 200,
    maxPowerW: 100_000,
    ready: true,
    errorCode: 0,
    socPercent: 42,
    targetVoltageV: 380.5,
    targetCurrentA: 110,
    fullSocPercent: 100,
    bulkSocPercent: 80,
    chargingComplete: false,
    remainingTimeToFullSocS: 1800,
  }),
);
const short = layouts.EV_DC_PARAMETERS_SHORT;
const evPayload = message.encodeWith(layouts.variantType(short), 'x', {
  minVoltageV: 0,
  minCurrentA: 0,
  minPowerW: 0,
  maxVoltageV: 500,
  maxCurrentA: 200,
  presentVoltageV: 380,
  presentCurrentA: 110,
  status: 0,
});
const ev = frames.parseFrame(frames.encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0, payload: evPayload })).frame;
const evProfile = [layouts.EV_SESSION_STARTED_PADDED, short];

/** A call that decodes nothing: what a call after the pause costs by itself. */
const noop = (f: { payload: Uint8Array }, _p: unknown) => (f.payload.length > 0 ? { kind: 'exact' } : undefined);
const cases = [
  { name: 'noop', frame: evse, preferred: [], decode: noop },
  { name: 'evse', frame: evse, preferred: [] },
  { name: 'ev', frame: ev, preferred: evProfile },
].filter((c) => !only || c.name === only || c.name === 'noop');

for (const c of cases) {
  if ((c.decode ?? decodeStatusTolerant)(c.frame, c.preferred)?.kind !== 'exact') throw new Error(`${c.name}: not an exact decode`);
}

let sink = 0;
const cold: Record<string, number[]> = {};
for (let i = 0; i < calls; i++) {
  for (const c of cases) {
    await sleep(sleepMs);
    const t0 = performance.now();
    const d = (c.decode ?? decodeStatusTolerant)(c.frame, c.preferred);
    const t1 = performance.now();
    sink += d ? 1 : 0;
    (cold[c.name] ??= []).push((t1 - t0) * 1000);
  }
}
for (const c of cases) {
  let tightUs = Number.NaN;
  if (tight > 0) {
    const t0 = performance.now();
    const decode = c.decode ?? decodeStatusTolerant;
    for (let i = 0; i < tight; i++) sink += decode(c.frame, c.preferred) ? 1 : 0;
    tightUs = ((performance.now() - t0) * 1000) / tight;
  }
  const coldUs = cold[c.name] ?? [];
  const fmt = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(2));
  console.log(`${c.name}: cold (after ${sleepMs} ms) median ${fmt(coldUs.length ? median(coldUs) : Number.NaN)} us over ${coldUs.length} calls; tight ${fmt(tightUs)} us/call; root ${root}`);
}
if (sink < 0) console.log(sink);
