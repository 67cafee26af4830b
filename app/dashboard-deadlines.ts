/**
 * The dashboard's live deadline figures per station: the gap between two parameter updates the
 * host sent while charging, and the reaction from a charge-loop status message to the host's next
 * frame, both in real time on the host (performance.now() as the frame passes), as the summary's
 * and /metrics' figures: what a module on the wire sees, whatever the run's clock.
 */
import { hostNow } from '../util/clock.js';

const CHARGE_LOOP_STATUS = /(Dc|Ac)ChargeParametersChanged$/;
const PARAMETER_UPDATE = /Update(Dc|Ac)ChargingParameters$/;

/**
 * The module's deadline per role: the EVSE host must send Update DC/AC Charging Parameters at
 * least every 500 ms once the schedules are set, or the module ends the session with error 23
 * (manual 18.10.4, 18.10.7). The manual sets none for the EV host's updates (18.9.4).
 */
export const UPDATE_DEADLINE_MS: Record<string, number | undefined> = { EVSE: 500, EV: undefined };

export interface DeadlineFigures {
  /** Latest and longest (this session) gap between two updates while charging, ms real time. */
  updateGapMs?: number;
  longestUpdateGapMs: number;
  /** Latest and longest charge-loop status -> next frame out, ms real time. */
  reactionMs?: number;
  longestReactionMs: number;
  /** The module's deadline for both (an answer later than it misses it too); none: no deadline. */
  deadlineMs?: number;
}

interface StationTrack {
  figures: DeadlineFigures;
  charging: boolean;
  lastUpdateAt?: number;
  awaitingSince?: number;
}

export function deadlineTracker(now: () => number = hostNow) {
  const stations = new Map<string, StationTrack>();
  const of = (station: string): StationTrack => {
    let t = stations.get(station);
    if (!t) stations.set(station, (t = { figures: fresh(station), charging: false }));
    return t;
  };
  const fresh = (station: string): DeadlineFigures => {
    const deadlineMs = UPDATE_DEADLINE_MS[station];
    return { longestUpdateGapMs: 0, longestReactionMs: 0, ...(deadlineMs !== undefined ? { deadlineMs } : {}) };
  };
  return {
    /** One HCI frame of a station; true when a figure changed. */
    traffic(station: string, dir: 'tx' | 'rx', message: string | undefined, direction: string | undefined): boolean {
      const t = of(station);
      const at = now();
      if (dir === 'rx') {
        if (t.charging && direction === 'status' && message !== undefined && CHARGE_LOOP_STATUS.test(message)) t.awaitingSince = at;
        return false;
      }
      let changed = false;
      if (t.awaitingSince !== undefined) {
        const reactionMs = at - t.awaitingSince;
        t.awaitingSince = undefined;
        Object.assign(t.figures, { reactionMs, longestReactionMs: Math.max(t.figures.longestReactionMs, reactionMs) });
        changed = true;
      }
      if (t.charging && direction === 'request' && message !== undefined && PARAMETER_UPDATE.test(message)) {
        if (t.lastUpdateAt !== undefined) {
          const updateGapMs = at - t.lastUpdateAt;
          Object.assign(t.figures, { updateGapMs, longestUpdateGapMs: Math.max(t.figures.longestUpdateGapMs, updateGapMs) });
          changed = true;
        }
        t.lastUpdateAt = at;
      }
      return changed;
    },
    /** Charging starts a fresh count (the figures are per session); other phases stop it. */
    phase(station: string, phase: string): void {
      const t = of(station);
      const charging = phase === 'charging';
      if (charging && !t.charging) t.figures = fresh(station);
      t.charging = charging;
      t.lastUpdateAt = undefined;
      t.awaitingSince = undefined;
    },
    figures(station: string): DeadlineFigures | undefined {
      return stations.get(station)?.figures;
    },
  };
}
