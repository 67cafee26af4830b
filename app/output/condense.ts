/**
 * The human log without the charge loop's flood: both modules report charge parameters every
 * ~220 ms (about 3000 lines in a 12-minute session). Per station, the first parameter message
 * of each phase is printed in full, with its values, like the reference prints its first
 * "Request Charge Loop Parameters"; repeats in the same phase are dropped, and while charging a
 * progress line follows every 5 % of SOC or 60 s of session time. `--verbose` bypasses this.
 */
import type { LogEvent, SampleEvent, SessionPhase, StationEmitted, StationRole } from '../../machines/station-events.js';

/** The machines' lines for Dc/AcChargeParametersChanged (EVSE 18.12.6/7, EV 18.11.2/3). */
const PARAMETER_LINE = /^"(DC|AC) Charge Parameters? [Cc]hanged" received$/;
export const PROGRESS_SOC_STEP = 5;
export const PROGRESS_INTERVAL_MS = 60_000;

interface StationState {
  phase?: SessionPhase;
  printedIn: Set<SessionPhase | undefined>;
  last?: SampleEvent;
  lastPrinted?: { at: number; socStep: number };
}

/** Field name -> label and unit, in the reference's words (Evse.py / Ev.py). */
const LABELS: Record<StationRole, Array<[string, string, string]>> = {
  EVSE: [
    ['maxVoltageV', 'EV maximum voltage', 'V'],
    ['maxCurrentA', 'EV maximum current', 'A'],
    ['maxPowerW', 'EV maximum power', 'W'],
    ['targetVoltageV', 'EV target voltage', 'V'],
    ['targetCurrentA', 'EV target current', 'A'],
    ['socPercent', 'SOC', '%'],
    ['chargingComplete', 'Charging complete', ''],
    ['energyAmountWh', 'EV energy amount', 'Wh'],
    ['minCurrentA', 'EV minimum current', 'A'],
  ],
  EV: [
    ['presentVoltageV', 'EVSE present voltage', 'V'],
    ['presentCurrentA', 'EVSE present current', 'A'],
    ['maxVoltageV', 'EVSE maximum voltage', 'V'],
    ['maxCurrentA', 'EVSE maximum current', 'A'],
    ['maxPowerW', 'EVSE maximum power', 'W'],
    ['nominalVoltageV', 'EVSE nominal voltage', 'V'],
  ],
};

/** The parameter lines under a parameter message (EV lines are indented, as Ev.py prints them). */
export function parameterLines(role: StationRole, data: Record<string, unknown> | undefined): string[] {
  if (!data) return [];
  const indent = role === 'EV' ? '\t' : '';
  const lines: string[] = [];
  for (const [key, label, unit] of LABELS[role]) {
    const v = data[key];
    if (typeof v === 'number' && Number.isFinite(v)) lines.push(`${indent}${label}: ${Number(v.toFixed(1))}${unit ? ` ${unit}` : ''}`);
    else if (typeof v === 'boolean') lines.push(`${indent}${label}: ${v}`);
  }
  return lines;
}

/** "Charging: 200 V, 60.0 A, 12.0 kW, SOC 92 %, 1.52 kWh" */
export function progressLine(s: SampleEvent): string {
  const soc = s.socPercent !== undefined ? `, SOC ${Math.floor(s.socPercent)} %` : '';
  return `Charging: ${s.voltageV.toFixed(0)} V, ${s.currentA.toFixed(1)} A, ${(s.powerW / 1000).toFixed(1)} kW${soc}, ${(s.energyWh / 1000).toFixed(2)} kWh`;
}

export interface Condenser {
  /** The lines (texts, without the role prefix) to print for this event; none to drop it. */
  lines(ev: StationEmitted): string[];
}

export function createCondenser(): Condenser {
  const stations = new Map<StationRole, StationState>();
  const stateOf = (role: StationRole): StationState => {
    let s = stations.get(role);
    if (!s) stations.set(role, (s = { printedIn: new Set() }));
    return s;
  };
  const socStep = (s: SampleEvent): number => Math.floor((s.socPercent ?? 0) / PROGRESS_SOC_STEP);

  const onLog = (st: StationState, ev: LogEvent): string[] => {
    if (!PARAMETER_LINE.test(ev.text)) return [ev.text];
    if (st.printedIn.has(st.phase)) return [];
    st.printedIn.add(st.phase);
    return [ev.text, ...parameterLines(ev.station, ev.data)];
  };
  const onSample = (st: StationState, s: SampleEvent): string[] => {
    if (st.phase !== 'charging') return [];
    st.last = s;
    const p = st.lastPrinted;
    // The first sample of the loop only sets the reference point (the full print just came).
    if (!p) {
      st.lastPrinted = { at: s.at, socStep: socStep(s) };
      return [];
    }
    if (socStep(s) <= p.socStep && s.at - p.at < PROGRESS_INTERVAL_MS) return [];
    st.lastPrinted = { at: s.at, socStep: socStep(s) };
    return [progressLine(s)];
  };
  const onPhase = (st: StationState, phase: SessionPhase): string[] => {
    const leaving = st.phase === 'charging' && phase !== 'charging';
    const last = st.last;
    st.phase = phase;
    if (phase === 'sessionStarted') st.printedIn.clear();
    if (!leaving) return [];
    // Where the charge loop ended, unless that was just printed.
    st.last = undefined;
    const printed = st.lastPrinted;
    st.lastPrinted = undefined;
    return last && printed && last.at !== printed.at ? [progressLine(last)] : [];
  };

  return {
    lines(ev) {
      switch (ev.type) {
        case 'log':
          return onLog(stateOf(ev.station), ev);
        case 'sample':
          return onSample(stateOf(ev.station), ev);
        case 'phase':
          return onPhase(stateOf(ev.station), ev.phase);
        default:
          return [];
      }
    },
  };
}
