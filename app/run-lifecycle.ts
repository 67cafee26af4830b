/**
 * When a run ends: after `sessions` sessions per station (0: never on its own), on a signal, or
 * when a station stops or fails on its own. Independent stations (several modules, eth) go on
 * without a lost one; otherwise (the simulated pair) one stopping or failing takes the others down
 * with it.
 */
import type { Reporter } from './output/reporter.js';
import type { StationHandle } from './stations.js';

export interface LifecycleOptions {
  /** Every station's key (label or role), quiet counterparts included. */
  keys: string[];
  sessions: number;
  independent: boolean;
}

export interface RunLifecycle {
  handles: StationHandle[];
  readonly stopping: boolean;
  readonly interrupted: boolean;
  /** Stations that stopped on their own (independent mode: the run goes on without them). */
  lost: Set<string>;
  interrupt(): void;
  sessionEnded(key: string): void;
  stationFailed(key: string, handle: StationHandle): void;
  /** A station stopped without being asked to (an error, its module gone). */
  stationDone(key: string): void;
}

export function runLifecycle(options: LifecycleOptions, reporter: Reporter): RunLifecycle {
  const handles: StationHandle[] = [];
  const lost = new Set<string>();
  const ended = new Map<string, number>();
  let stopping = false;
  let interrupted = false;
  const shutdownAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const h of handles) h.shutdown();
  };
  // A station lost on the way has done all it will: the others decide when the run ends.
  const allDone = (): boolean => options.keys.every((k) => lost.has(k) || (ended.get(k) ?? 0) >= options.sessions);
  return {
    handles,
    lost,
    get stopping() {
      return stopping;
    },
    get interrupted() {
      return interrupted;
    },
    interrupt() {
      interrupted = true;
      shutdownAll();
    },
    sessionEnded(key) {
      ended.set(key, (ended.get(key) ?? 0) + 1);
      if (options.sessions > 0 && allDone()) shutdownAll();
    },
    stationFailed(key, handle) {
      if (lost.has(key)) return;
      lost.add(key);
      if (!options.independent) {
        reporter.info(`${key}: the station failed: stopping the run`);
        return shutdownAll();
      }
      reporter.info(`${key}: the station failed: stopping it${options.keys.length > 1 ? '; the other stations go on' : ''}`);
      handle.shutdown();
    },
    stationDone(key) {
      if (stopping) return;
      if (!options.independent) return shutdownAll();
      lost.add(key);
      reporter.info(`${key}: the station stopped`);
      if (options.keys.every((k) => lost.has(k))) return;
      // Its end may complete the run (the others already did their sessions).
      if (options.sessions > 0 && allDone()) shutdownAll();
    },
  };
}
