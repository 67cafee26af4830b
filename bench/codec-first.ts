/**
 * The codec's first run for the EVSE host's one-shot messages in a fresh process, as a lone
 * `freev2g eth` meets them (docs/performance.md, target 1, ninth round): a charge-loop status and
 * a request run first (as a session's set-up would have), then, 50 ms apart, the first decode of
 * Schedules Requested and the first encode of each one-shot answer, in µs. `warm`: the warm-up of
 * app/warm-up.ts runs before them (as `eth` runs it while waiting for a car). Runs the compiled
 * build (`node scripts/build.mjs` first); alternate the two in fresh processes:
 *
 *   for i in 1 2 3; do node --import tsx bench/codec-first.ts; node --import tsx bench/codec-first.ts warm; done
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const dist = new URL('../dist/', import.meta.url).href;
const warm = process.argv[2] === 'warm';
const cat = (await import(`${dist}codec/catalog.js`)) as typeof import('../codec/catalog.js');
const { parseFrame } = (await import(`${dist}codec/frame.js`)) as typeof import('../codec/frame.js');
const { decodeStatusTolerant } = (await import(`${dist}codec/tolerant.js`)) as typeof import('../codec/tolerant.js');
const { V2g } = cat;
const frameOf = (bytes: Uint8Array) => {
  const p = parseFrame(bytes);
  if ('error' in p) throw new Error('bad frame');
  return p.frame;
};

cat.encodeRequest(V2g.EvseStopListen, 1, {});
decodeStatusTolerant(
  frameOf(
    cat.encodeStatusFrame(V2g.EvseDcChargeParametersChanged, {
      maxVoltageV: 400,
      maxCurrentA: 20,
      maxPowerW: 8000,
      ready: true,
      errorCode: 0,
      socPercent: 50,
      targetVoltageV: 380,
      targetCurrentA: 16,
      chargingComplete: false,
    }),
  ),
);
const schedulesRequested = frameOf(cat.encodeStatusFrame(V2g.EvseSchedulesRequested, { maxEntries: 3, timeoutMs: 60_000 }));
if (warm) {
  const { warmUp } = (await import(`${dist}app/warm-up.js`)) as typeof import('../app/warm-up.js');
  await warmUp('EVSE');
}
await sleep(100);
const schedule = { result: 0, scheduleTuples: [{ scheduleTupleId: 1, entries: [{ startS: 0, intervalS: 86_400, powerW: 50_000 }] }], energyToBeDeliveredWh: undefined, salesTariffs: undefined };
const out: string[] = [];
const time = async (name: string, f: () => unknown): Promise<void> => {
  await sleep(50);
  const t = performance.now();
  f();
  out.push(`${name} ${((performance.now() - t) * 1000).toFixed(0)}`);
};
await time('decode SchedulesRequested', () => decodeStatusTolerant(schedulesRequested));
await time('encode SetSchedules', () => cat.encodeRequest(V2g.EvseSetSchedules, 3, schedule));
await time('encode SetCableCheckFinished', () => cat.encodeRequest(V2g.EvseSetCableCheckFinished, 4, { result: 0 }));
await time('encode SetAuthorizationStatus', () => cat.encodeRequest(V2g.EvseSetAuthorizationStatus, 5, { result: 0 }));
await time('encode StartCharging', () => cat.encodeRequest(V2g.EvseStartCharging, 6, {}));
console.log(`${warm ? 'warm-up first' : 'cold'}: ${out.join(', ')} µs`);
