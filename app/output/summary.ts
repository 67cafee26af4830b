/**
 * The end-of-run summary: one table per session, a column per station, with what a charging
 * engineer looks for: time, energy, SOC, peaks, why it stopped, and how the charge loop went
 * (messages handled, updates sent, longest gap between updates, longest reaction).
 */
import type { SessionRecord, StationRole } from '../../machines/station-events.js';

/** Counted by the runner from the HCI traffic and samples of one session. */
export interface SessionFigures {
  /** Dc/AcChargeParametersChanged status messages received while charging. */
  chargeLoopMessages: number;
  /** Update DC/AC Charging Parameters commands sent while charging. */
  parameterUpdates: number;
  /** The sample of highest power: its power, voltage and current (one moment, so they agree). */
  peakPowerW: number;
  peakVoltageV: number;
  peakCurrentA: number;
}

export interface SummaryEntry {
  record: SessionRecord;
  figures: SessionFigures;
  /** The station's column title when several of a role run ("EVSE 00:01:01:63:77:33"); else the role. */
  label?: string;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function stopText(r: SessionRecord): string {
  if (r.error) return `error ${r.error.name}${r.error.detail ? ` (${r.error.detail})` : ''}`;
  return r.stopReason ?? 'unknown';
}

const ROWS: Array<[string, (e: SummaryEntry) => string]> = [
  ['duration (simulated)', (e) => formatDuration(e.record.endedAt - e.record.startedAt)],
  ['energy', (e) => `${(e.record.energyDeliveredWh / 1000).toFixed(3)} kWh`],
  ['SOC', (e) => (e.record.socStartPercent !== undefined && e.record.socEndPercent !== undefined ? `${e.record.socStartPercent.toFixed(0)} -> ${e.record.socEndPercent.toFixed(0)} %` : '-')],
  ['peak power', (e) => `${(e.figures.peakPowerW / 1000).toFixed(1)} kW (${e.figures.peakVoltageV.toFixed(0)} V, ${e.figures.peakCurrentA.toFixed(1)} A)`],
  ['stopped', (e) => stopText(e.record)],
  ['charge-loop messages', (e) => `${e.figures.chargeLoopMessages} handled`],
  ['parameter updates', (e) => `${e.figures.parameterUpdates} sent`],
  // Host real time (util/clock.ts hostNow), whatever the clock speed: what the module sees.
  ['longest update gap', (e) => `${e.record.longestUpdateGapMs.toFixed(1)} ms real time`],
  ['longest reaction', (e) => `${e.record.longestReactionMs.toFixed(1)} ms real time`],
];

/** One table per session number: the n-th session of each station side by side. */
export function summaryTables(entries: SummaryEntry[]): string[] {
  const byStation = new Map<string, SummaryEntry[]>();
  const roleOf = new Map<string, StationRole>();
  for (const e of entries) {
    const name = e.label ?? e.record.station;
    byStation.set(name, [...(byStation.get(name) ?? []), e]);
    roleOf.set(name, e.record.station);
  }
  // EVSE columns first, then EV; stations of one role in the order their sessions ended.
  const rank = (name: string): number => (roleOf.get(name) === 'EVSE' ? 0 : 1);
  const roles = [...byStation.keys()].sort((a, b) => rank(a) - rank(b));
  const sessions = Math.max(0, ...roles.map((r) => byStation.get(r)?.length ?? 0));
  const lines: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const cols = roles.map((r) => byStation.get(r)?.[i]);
    const title = sessions > 1 ? `Session ${i + 1} summary` : 'Session summary';
    const header = [title, ...roles.map((r, k) => (cols[k] ? r : ''))];
    const body = ROWS.map(([label, cell]) => [label, ...cols.map((c) => (c ? cell(c) : ''))]);
    const table = [header, ...body];
    const widths = header.map((_, k) => Math.max(...table.map((row) => (row[k] ?? '').length)));
    for (const row of table)
      lines.push(
        row
          .map((c, k) => c.padEnd(widths[k] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  }
  return lines;
}
