/**
 * Codec throughput on a realistic V2G charge-loop mix (run: npx tsx bench/codec.ts).
 *
 * Per loop step an EVSE host sees: DC Charge Parameters Changed (status, 0x85) from the EV side,
 * sends Update DC Charging Parameters (0x63) and gets its response; now and then a CP state
 * change and a Get State round trip. Measures frames/s to encode them, and to deframe + decode
 * them from a byte stream cut into 1 KiB reads (as a socket/SPI driver delivers them). Five
 * runs, median printed. Target: 1,000,000 frames/s deframe+decode on one core.
 *
 * Rates are frames per second of this process's CPU time (user + system): on a shared machine
 * wall time mostly measures the other processes. Wall-clock rates are printed alongside.
 */
import { ControlPilot, V2g, decodeMessage, encodeRequest, encodeResponseFrame, encodeStatusFrame } from '../codec/catalog.js';
import { Deframer } from '../codec/frame.js';
import { median } from './stats.js';

const FRAMES_PER_RUN = 300_000;
const RUNS = 5;
const READ_SIZE = 1024;

type Direction = 'toModule' | 'toHost';
interface Sample {
  bytes: Uint8Array;
  direction: Direction;
}

/** One charge-loop step's frames, with values that move like a real session. */
function loopStep(i: number): Sample[] {
  const reqId = i % 0xfe;
  const voltage = 350 + (i % 50) + 0.5;
  const current = 100 + (i % 25);
  const out: Sample[] = [
    {
      direction: 'toHost',
      bytes: encodeStatusFrame(V2g.EvseDcChargeParametersChanged, {
        maxVoltageV: 500,
        maxCurrentA: 200,
        maxPowerW: 100_000,
        ready: true,
        errorCode: 0,
        socPercent: 20 + (i % 80),
        targetVoltageV: voltage,
        targetCurrentA: current,
        fullSocPercent: 100,
        bulkSocPercent: 80,
        chargingComplete: false,
        remainingTimeToFullSocS: 3600 - (i % 3600),
      }),
    },
    {
      direction: 'toModule',
      bytes: encodeRequest(V2g.EvseUpdateDcChargingParameters, reqId, {
        isolationLevel: 1,
        presentVoltageV: voltage - 0.5,
        presentCurrentA: current,
        maxVoltageV: 500,
        maxCurrentA: 200,
        maxPowerW: 100_000,
        status: 0,
      }),
    },
    { direction: 'toHost', bytes: encodeResponseFrame(V2g.EvseUpdateDcChargingParameters, reqId, 0, {}) },
  ];
  if (i % 10 === 0) {
    out.push(
      { direction: 'toHost', bytes: encodeStatusFrame(ControlPilot.StateChanged, { state: 2 }) },
      { direction: 'toModule', bytes: encodeRequest(ControlPilot.GetState, reqId, {}) },
      { direction: 'toHost', bytes: encodeResponseFrame(ControlPilot.GetState, reqId, 0, { state: 2 }) },
    );
  }
  return out;
}

function buildMix(n: number): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; out.length < n; i++) out.push(...loopStep(i));
  return out.slice(0, n);
}

/** Concatenates the frames of one direction into the byte stream a receiver sees. */
function stream(samples: Sample[], direction: Direction): { bytes: Uint8Array; frames: number } {
  const parts = samples.filter((s) => s.direction === direction).map((s) => s.bytes);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, frames: parts.length };
}

interface Rate {
  cpu: number;
  wall: number;
}

/** Runs `fn` (which returns a frame count) and rates it per CPU second and per wall second. */
function measure(fn: () => number): Rate {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const frames = fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { cpu: frames / ((c.user + c.system) / 1e6), wall: frames / wall };
}

function encodeRun(): number {
  let frames = 0;
  for (let i = 0; frames < FRAMES_PER_RUN; i++) frames += loopStep(i).length;
  return frames;
}

function decodeStream(bytes: Uint8Array, direction: Direction): number {
  const d = new Deframer();
  let ok = 0;
  for (let at = 0; at < bytes.length; at += READ_SIZE) {
    for (const item of d.push(bytes.subarray(at, at + READ_SIZE))) {
      if ('error' in item) throw new Error(`framing error in bench stream: ${item.error.detail}`);
      const m = decodeMessage(item.frame, { direction });
      if (!m.ok) throw new Error(`decode error in bench stream: ${JSON.stringify(m.error)}`);
      ok++;
    }
  }
  return ok;
}

function decodeRun(toHost: { bytes: Uint8Array; frames: number }, toModule: { bytes: Uint8Array; frames: number }): number {
  const n = decodeStream(toHost.bytes, 'toHost') + decodeStream(toModule.bytes, 'toModule');
  if (n !== toHost.frames + toModule.frames) throw new Error(`decoded ${n} of ${toHost.frames + toModule.frames} frames`);
  return n;
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function main(): void {
  // The per-frame arrays are dropped once the two streams are built (they would burden the GC).
  const { toHost, toModule } = (() => {
    const mix = buildMix(FRAMES_PER_RUN);
    return { toHost: stream(mix, 'toHost'), toModule: stream(mix, 'toModule') };
  })();
  const frames = toHost.frames + toModule.frames;
  const bytes = toHost.bytes.length + toModule.bytes.length;
  console.log(`mix: ${frames} frames, ${bytes} bytes (avg ${(bytes / frames).toFixed(1)} B/frame); ${RUNS} runs`);
  // Warm-up so the JIT has settled before measuring.
  encodeRun();
  decodeRun(toHost, toModule);
  const enc: Rate[] = [];
  const dec: Rate[] = [];
  for (let r = 0; r < RUNS; r++) {
    enc.push(measure(encodeRun));
    dec.push(measure(() => decodeRun(toHost, toModule)));
  }
  const report = (name: string, rates: Rate[]): number => {
    const cpu = median(rates.map((x) => x.cpu));
    console.log(`${name} median ${fmt(cpu)} frames/CPU-s (runs: ${rates.map((x) => fmt(x.cpu)).join(', ')}); wall median ${fmt(median(rates.map((x) => x.wall)))}/s`);
    return cpu;
  };
  report('encode:        ', enc);
  const d = report('deframe+decode:', dec);
  console.log(`target 1,000,000 frames/s deframe+decode: ${d >= 1_000_000 ? 'met' : 'NOT met'}`);
}

main();
