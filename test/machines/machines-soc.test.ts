/**
 * Reported bug: the EV station kept sending socPercent 90 in EvUpdateDcChargingParameters while
 * its battery charged, so the EVSE host saw a flat SOC. Both stations on the simulated pair
 * (virtual clock), a 5 kWh battery at 90 % with target 95 % (the default demo's SOCs, a tenth of its energy): the SOC the EV
 * host reports and the SOC the EVSE host receives rise through the charge loop.
 */
import { describe, expect, it } from 'vitest';
import { createHciClient } from '../../machines/hci-client.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { createSimulatedPair } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { startStations } from '../helpers/stations.js';

const nonDecreasing = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x >= (xs[i - 1] ?? x));

describe('SOC during the charge loop', () => {
  it('rises in the EV host updates and in what the EVSE host receives', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const pair = createSimulatedPair({ clock });
    const evseClient = createHciClient({ transport: pair.evseHost, clock });
    const evClient = createHciClient({ transport: pair.evHost, clock });
    const { evse, ev, emitted, records } = startStations({
      clock,
      evseClient,
      evClient,
      evse: evseConfig({}),
      ev: evConfig({ battery: { capacityWh: 5_000, levelWh: 4_500, maxPowerW: 12_000 }, targetSocPercent: 95 }),
    });
    const sent: number[] = [];
    const received: number[] = [];
    const complete: boolean[] = [];
    let charging = false;
    evClient.traffic$.subscribe((t) => {
      if (t.dir === 'tx' && t.message?.message === 'EvUpdateDcChargingParameters') sent.push(t.message.fields.socPercent as number);
    });
    evseClient.traffic$.subscribe((t) => {
      const m = t.message;
      if (t.dir !== 'rx' || !m) return;
      if (m.message === 'EvseStartChargingRequested') charging = true;
      if (m.message === 'EvseStopChargingRequested') charging = false;
      if (charging && m.message === 'EvseDcChargeParametersChanged') received.push(m.fields.socPercent as number);
      if (m.message === 'EvseDcChargeParametersChanged') complete.push(m.fields.chargingComplete as boolean);
    });
    const ended = (): boolean => records('EVSE').length > 0 && records('EV').length > 0;
    await clock.runUntil(() => ended() || clock.now() > 1_700_000_000_000 + 3_600_000);
    evse.stop();
    ev.stop();
    await pair.close();
    const samples = emitted.EVSE.flatMap((e) => (e.type === 'sample' && e.socPercent !== undefined ? [e.socPercent] : []));
    const evseEnd = records('EVSE').at(-1)?.socEndPercent;

    expect(ended()).toBe(true);
    // The car is not "complete" at 90 % just because a default target says so: with no scenario
    // target it reports complete only at the host's full SOC (100 %), which this session never reaches.
    expect(complete.length).toBeGreaterThan(10);
    expect(complete.every((c) => c === false)).toBe(true);
    expect(sent[0]).toBe(90);
    expect(sent.at(-1)).toBe(95);
    expect(nonDecreasing(sent)).toBe(true);
    expect(new Set(sent).size).toBe(6);
    expect(received[0]).toBe(90);
    expect(received.at(-1)).toBeGreaterThanOrEqual(94);
    // The SOC that ended the charge reaches the EVSE (welding detection), so both records agree.
    expect(evseEnd).toBe(95);
    expect(nonDecreasing(received)).toBe(true);
    // The EVSE station's own samples (dashboard, status line) carry the rising SOC too.
    expect(Math.max(...samples)).toBeGreaterThanOrEqual(94);
  }, 60_000);
});
