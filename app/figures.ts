/**
 * The charge-loop figures of each station's session in progress, counted by the runner from the
 * station's HCI traffic and samples (the summary's "charge-loop messages", "parameter updates"
 * and "peak" rows).
 */
import type { TrafficRecord } from '../machines/hci-client.js';
import type { StationEmitted } from '../machines/station-events.js';
import type { SessionFigures } from './output/summary.js';

const CHARGE_LOOP_STATUS = /(Dc|Ac)ChargeParametersChanged$/;
const PARAMETER_UPDATE = /Update(Dc|Ac)ChargingParameters$/;

/**
 * Charge-loop figures of the session in progress, per station: status messages handled and
 * updates sent while the station is charging (from its HCI traffic), and the peak power sampled.
 */
export function figuresTracker(phaseOf: (key: string) => string | undefined) {
  const current = new Map<string, SessionFigures>();
  const of = (key: string): SessionFigures => {
    let f = current.get(key);
    if (!f) current.set(key, (f = { chargeLoopMessages: 0, parameterUpdates: 0, peakPowerW: 0, peakVoltageV: 0, peakCurrentA: 0 }));
    return f;
  };
  return {
    traffic(key: string, t: TrafficRecord): void {
      const m = t.message;
      if (!m || phaseOf(key) !== 'charging') return;
      if (t.dir === 'rx' && m.direction === 'status' && CHARGE_LOOP_STATUS.test(m.message)) of(key).chargeLoopMessages++;
      else if (t.dir === 'tx' && m.direction === 'request' && PARAMETER_UPDATE.test(m.message)) of(key).parameterUpdates++;
    },
    /** The peak is one sample (the one of highest power): V, A and kW of the same moment. */
    event(key: string, ev: StationEmitted): void {
      if (ev.type !== 'sample') return;
      const f = of(key);
      const powerW = ev.powerW > 0 ? ev.powerW : ev.voltageV * ev.currentA;
      if (powerW > f.peakPowerW) Object.assign(f, { peakPowerW: powerW, peakVoltageV: ev.voltageV, peakCurrentA: ev.currentA });
    },
    /** The figures of the session that just ended (and a fresh count for the next). */
    take(key: string): SessionFigures {
      const f = of(key);
      current.delete(key);
      return f;
    },
  };
}
