/**
 * The summary's figures tell the truth: the peak is one moment (V, A and kW agree; it printed
 * "200 V, 33.0 A, 0.0 kW" when samples carried no power), and the deadline figures say their
 * unit and clock (host real time; they were simulated time x60).
 */
import { describe, expect, it } from 'vitest';
import { figuresTracker } from '../../app/figures.js';
import { summaryTables } from '../../app/output/summary.js';
import type { SessionRecord, StationEmitted } from '../../machines/station-events.js';

const sample = (voltageV: number, currentA: number, powerW: number): StationEmitted => ({ type: 'sample', station: 'EV', at: 0, voltageV, currentA, powerW, energyWh: 0 }) as StationEmitted;

const record: SessionRecord = {
  station: 'EV',
  startedAt: 0,
  endedAt: 60_000,
  energyDeliveredWh: 100,
  peakVoltageV: 230,
  peakCurrentA: 33,
  longestUpdateGapMs: 3.4,
  longestReactionMs: 0.25,
};

describe('session figures', () => {
  it('the peak is the sample of highest power, its power from V x A when the sample has none', () => {
    const f = figuresTracker(() => 'charging');
    for (const s of [sample(200, 10, 2000), sample(230, 33, 0), sample(400, 1, 400)]) f.event('EV', s);
    const peak = f.take('EV');
    expect(peak).toMatchObject({ peakVoltageV: 230, peakCurrentA: 33, peakPowerW: 230 * 33 });
    const [, ...rows] = summaryTables([{ record, figures: peak }]);
    expect(rows.find((r) => r.startsWith('peak'))).toMatch(/7\.6 kW \(230 V, 33\.0 A\)/);
  });

  it('deadline figures are labelled as host real time', () => {
    const rows = summaryTables([{ record, figures: figuresTracker(() => undefined).take('EV') }]);
    expect(rows.find((r) => r.startsWith('longest update gap'))).toMatch(/3\.4 ms real time$/);
    expect(rows.find((r) => r.startsWith('longest reaction'))).toMatch(/0\.3 ms real time$/);
  });
});
