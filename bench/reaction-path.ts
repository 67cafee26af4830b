import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { callgrindRounds, dumpMark, zeroMark } from './callgrind-marks.js';
import { median } from './stats.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const root = resolve(arg('root', new URL('..', import.meta.url).pathname));
const rounds = Number(arg('rounds', '60'));
const warmup = Number(arg('warmup', '20'));
const sleepMs = Number(arg('sleep-ms', '100'));

if (process.argv.includes('--callgrind')) {
  const counts = callgrindRounds(new URL(import.meta.url).pathname, 'fv2g-path-');
  {
    const measured = counts.slice(warmup).sort((a, b) => a - b);
    const q = (p: number): number => measured[Math.min(measured.length - 1, Math.floor(p * measured.length))] ?? Number.NaN;
    console.log(
      `path status in -> answer out, instructions (callgrind, interpreter): median ${(median(measured) / 1000).toFixed(1)} k, ` +
        `p10 ${(q(0.1) / 1000).toFixed(1)} k, p90 ${(q(0.9) / 1000).toFixed(1)} k over ${measured.length} rounds (of ${counts.length}); root ${root}`,
    );
  }
  process.exit(0);
}

const load = (p: string) => import(pathToFileURL(`${root}/${p}`).href);
const { Subject, BehaviorSubject } = await import('rxjs');
const { createActor, setup } = await import('xstate');
const catalog = await load('codec/catalog.ts');
const { encodeFrame, parseFrame } = await load('codec/frame.ts');
const { chargerMachine } = await load('machines/charger.ts');
const { evseConfig } = await load('machines/config.ts');
const { createHciClient } = await load('machines/hci-client.ts');
const { v2gEvseSessionMachine } = await load('machines/v2g-evse-session.ts');
const { RealClock } = await load('util/clock.ts');
const V2g = catalog.V2g;

/** The marks callgrind zeroes and dumps at (see the header); nothing else calls these builtins. */
// ES2023 methods (Node 18+); the project's TypeScript lib is older.
const markIn = (): void => void zeroMark();
const markOut = (): void => void dumpMark();

const dcChanged: Uint8Array = catalog.encodeStatusFrame(V2g.EvseDcChargeParametersChanged, {
  maxVoltageV: 400,
  maxCurrentA: 20,
  maxPowerW: 8000,
  ready: true,
  errorCode: 0,
  socPercent: 50,
  targetVoltageV: 380,
  targetCurrentA: 16,
  chargingComplete: false,
});
const updateSubId: number = V2g.EvseUpdateDcChargingParameters.subId;

const frames$ = new Subject<Uint8Array>();
let inAt: number | undefined;
let answered: (() => void) | undefined;
const spansUs: number[] = [];
const transport = {
  frames$,
  linkState$: new BehaviorSubject({ up: true }),
  send(frame: Uint8Array): Promise<void> {
    if (inAt !== undefined && frame[2] === updateSubId) {
      markOut();
      spansUs.push((performance.now() - inAt) * 1000);
      inAt = undefined;
      answered?.();
    }
    // The module accepts every command, a microtask later (as the memory link delivers).
    const r = parseFrame(frame);
    if (!('error' in r)) {
      const f = r.frame;
      queueMicrotask(() => frames$.next(encodeFrame({ modId: f.modId, subId: f.subId, reqId: f.reqId, payload: Uint8Array.of(0) })));
    }
    return Promise.resolve();
  },
  close: (): Promise<void> => Promise.resolve(),
};

const clock = new RealClock();
const client = createHciClient({ transport, clock });
const config = evseConfig();
const parent = setup({ actors: { charger: chargerMachine, session: v2gEvseSessionMachine } }).createMachine({
  invoke: [
    { src: 'charger', systemId: 'charger', input: { clock, config: config.charger } },
    { src: 'session', systemId: 'session', input: { client, clock, config, policy: { mode: 'acceptAll' } } },
  ],
  on: { '*': {} },
});
const actor = createActor(parent, { clock }).start();
await sleep(20);
frames$.next(catalog.encodeStatusFrame(V2g.EvseSessionStarted, { protocol: 1, sessionId: new Uint8Array(8), evccId: Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31) }));
await sleep(5);

for (let i = 0; i < rounds; i++) {
  await sleep(sleepMs);
  const done = new Promise<void>((r) => {
    answered = r;
  });
  markIn();
  inAt = performance.now();
  frames$.next(dcChanged);
  await done;
}
actor.stop();
await client.close();
const cold = spansUs.slice(warmup);
console.log(`path status in -> answer out, wall (after ${sleepMs} ms each): median ${median(cold).toFixed(1)} µs over ${cold.length} rounds; root ${root}`);
