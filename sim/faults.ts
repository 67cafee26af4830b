/**
 * Fault injection. Link faults act on the HCI frames between a host and its module (through the
 * memory transport's fault hook); module faults change how a simulated module answers; session
 * faults act on the virtual cable. All randomness comes from one seeded PRNG per link/module.
 */
import type { Delivery, EndName, FaultHook } from '../transports/memory.js';
import type { SessionPhase } from './phases.js';
import { type Prng, createPrng } from './prng.js';

/** Rates are probabilities per frame (0-1). */
export interface LinkFaults {
  dropRate?: number;
  corruptRate?: number;
  duplicateRate?: number;
  delayRate?: number;
  /** Delay range in ms for delayed frames (default [5, 50]). */
  delayMs?: [number, number];
  /** Which way the faults apply (default both). */
  direction?: 'both' | 'toModule' | 'toHost';
}

export interface ModuleFaults {
  /** Answer a command with 0x01 "busy" with this probability. */
  busyRate?: number;
  /** Stop answering anything (commands, pings) from this phase on, or after `afterMs`. */
  stopAnswering?: { phase?: SessionPhase; afterMs?: number };
  /** Restart the module (all state lost, session dropped) when the session reaches this phase. */
  resetIn?: SessionPhase;
}

export interface FaultConfig {
  seed?: number;
  /** Per link between host and module. */
  links?: { evse?: LinkFaults; ev?: LinkFaults };
  modules?: { evse?: ModuleFaults; ev?: ModuleFaults };
  /** The PLC link (SLAC network) drops when the session reaches this phase. */
  losePlcLinkIn?: SessionPhase;
  /** The cable is pulled in this phase. */
  unplugIn?: SessionPhase;
  /** A DC_EVErrorCode (1-7) the car reports from a phase on (adds to the scenario's). */
  evErrors?: Array<{ phase: SessionPhase; evErrorCode: number }>;
  /** The station fails a phase (adds to the scenario's). */
  stationErrors?: Array<{ phase: SessionPhase; evseSessionError?: number; evSessionError?: number }>;
}

const noFaults = (l: LinkFaults): boolean => !l.dropRate && !l.corruptRate && !l.duplicateRate && !l.delayRate;

/**
 * A memory-transport fault hook for one host<->module link. End `a` is the host, `b` the module.
 * Corruption flips one bit of one byte after the start marker, so the checksum (or the framing)
 * catches it the way a serial glitch would be caught.
 */
export function linkFaultHook(faults: LinkFaults | undefined, seed: number): FaultHook | undefined {
  if (!faults || noFaults(faults)) return undefined;
  const rng = createPrng(seed);
  const [dMin, dMax] = faults.delayMs ?? [5, 50];
  const applies = (from: EndName): boolean => faults.direction === undefined || faults.direction === 'both' || (faults.direction === 'toModule') === (from === 'a');
  return (frame, from) => {
    if (!applies(from)) return [{ frame }];
    if (rng.chance(faults.dropRate ?? 0)) return [];
    let f = frame;
    if (rng.chance(faults.corruptRate ?? 0)) f = corrupt(frame, rng);
    const delayMs = rng.chance(faults.delayRate ?? 0) ? rng.int(dMin, dMax) : 0;
    const one: Delivery = delayMs > 0 ? { frame: f, delayMs } : { frame: f };
    return rng.chance(faults.duplicateRate ?? 0) ? [one, { ...one, frame: f.slice() }] : [one];
  };
}

function corrupt(frame: Uint8Array, rng: Prng): Uint8Array {
  const out = frame.slice();
  if (out.length < 3) return out;
  const i = rng.int(1, out.length - 2);
  out[i] = (out[i] as number) ^ (1 << rng.int(0, 7));
  return out;
}
