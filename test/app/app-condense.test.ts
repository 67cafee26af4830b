/** The condensed human log (app/output/condense.ts) and the summary table (app/output/summary.ts). */
import { describe, expect, it } from 'vitest';
import { createCondenser, parameterLines, progressLine } from '../../app/output/condense.js';
import { summaryTables } from '../../app/output/summary.js';
import type { SampleEvent, SessionRecord, StationEmitted } from '../../machines/station-events.js';

const params = (soc: number): StationEmitted => ({
  type: 'log',
  station: 'EVSE',
  text: '"DC Charge Parameters Changed" received',
  data: { maxVoltageV: 300, maxCurrentA: 100, targetVoltageV: 200, targetCurrentA: 60, socPercent: soc },
});
const phase = (p: 'charging' | 'preCharge' | 'postCharge'): StationEmitted => ({ type: 'phase', station: 'EVSE', phase: p });
const sample = (at: number, soc: number): SampleEvent => ({ type: 'sample', station: 'EVSE', at, voltageV: 200, currentA: 60, powerW: 12_000, socPercent: soc, energyWh: at / 300 });

describe('condensed charge loop', () => {
  it('prints the first parameter message of a phase in full and drops the repeats', () => {
    const c = createCondenser();
    c.lines(phase('preCharge'));
    expect(c.lines(params(90))).toEqual(['"DC Charge Parameters Changed" received', ...parameterLines('EVSE', (params(90) as { data: Record<string, unknown> }).data)]);
    expect(c.lines(params(90))).toEqual([]);
    c.lines(phase('charging'));
    expect(c.lines(params(90))[0]).toBe('"DC Charge Parameters Changed" received');
    expect(c.lines(params(91))).toEqual([]);
    expect(c.lines({ type: 'log', station: 'EVSE', text: '"Request Stop Charging" received' })).toEqual(['"Request Stop Charging" received']);
  });

  it('while charging: a progress line every 60 s or 5 % SOC, and where the loop ended', () => {
    const c = createCondenser();
    c.lines(phase('charging'));
    const printed: string[] = [];
    // 10 samples a second for 3 minutes, SOC 62 -> 66.5 %
    for (let at = 0; at <= 180_000; at += 100) printed.push(...c.lines(sample(at, 62 + at / 40_000)));
    expect(printed).toHaveLength(3);
    expect(printed[0]).toBe(progressLine(sample(60_000, 63.5)));
    const soc = createCondenser();
    soc.lines(phase('charging'));
    expect(soc.lines(sample(0, 64.9))).toEqual([]);
    expect(soc.lines(sample(1000, 65.0))).toEqual(['Charging: 200 V, 60.0 A, 12.0 kW, SOC 65 %, 0.00 kWh']);
    soc.lines(sample(2000, 65.2));
    expect(soc.lines(phase('postCharge'))).toEqual([progressLine(sample(2000, 65.2))]);
  });

  it('formats the progress line like a charging engineer reads it', () => {
    expect(progressLine({ type: 'sample', station: 'EV', at: 0, voltageV: 380, currentA: 40, powerW: 15_200, socPercent: 62.7, energyWh: 4100 })).toBe(
      'Charging: 380 V, 40.0 A, 15.2 kW, SOC 62 %, 4.10 kWh',
    );
  });
});

describe('summary table', () => {
  const record = (station: 'EVSE' | 'EV'): SessionRecord => ({
    station,
    startedAt: 0,
    endedAt: 754_000,
    energyDeliveredWh: 2510,
    peakVoltageV: 200,
    peakCurrentA: 60,
    longestUpdateGapMs: 200,
    longestReactionMs: 1.25,
    socStartPercent: 90,
    socEndPercent: 95,
    stopReason: station === 'EV' ? 'targetSocReached' : 'shutdown',
  });
  it('one column per station with the charge-loop figures', () => {
    const lines = summaryTables([
      { record: record('EV'), figures: { chargeLoopMessages: 3400, parameterUpdates: 750, peakPowerW: 12_000, peakVoltageV: 200, peakCurrentA: 60 } },
      { record: record('EVSE'), figures: { chargeLoopMessages: 3400, parameterUpdates: 7100, peakPowerW: 12_000, peakVoltageV: 200, peakCurrentA: 60 } },
    ]);
    expect(lines[0]).toMatch(/^Session summary\s+EVSE\s+EV$/);
    const row = (label: string): string => lines.find((l) => l.startsWith(label)) ?? '';
    expect(row('duration')).toMatch(/12 min 34 s\s+12 min 34 s/);
    expect(row('SOC')).toMatch(/90 -> 95 %/);
    expect(row('peak')).toMatch(/12\.0 kW \(200 V, 60\.0 A\)/);
    expect(row('stopped')).toMatch(/shutdown\s+targetSocReached/);
    expect(row('parameter updates')).toMatch(/7100 sent\s+750 sent/);
    expect(row('longest reaction')).toMatch(/1\.3 ms/);
  });
});
