/**
 * Config keys that must do what their names say (issue 10 item 6), from the file through the
 * station configs to the simulated modules: metering_receipt, set_module_time, schedule.code,
 * battery.timestep (certs_folder: test/cli/config.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { writeConfig } from '../helpers/config.js';
import { Time, TimeType } from '../../codec/modules/time.js';
import { loadStation } from '../../app/config.js';
import { toEvConfig, toEvseConfig } from '../../app/station-config.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { DecodedMessage } from '../../codec/catalog.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';
import { VirtualClock } from '../../util/clock.js';

const START_MS = Date.UTC(2026, 11, 2, 1, 2, 3);

const pairs = pairsClosedAfterEach();

/** Both stations on the simulated pair, configured from files of our layout. */
function run(evseFile: unknown, evFile: unknown) {
  const clock = new VirtualClock(START_MS);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
  pairs.push(pair);
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const evseConfig = toEvseConfig(loadStation(writeConfig(evseFile), 'EVSE', { env: {} }).evse ?? expect.fail('no evse'), false);
  const evConfig = toEvConfig(loadStation(writeConfig(evFile), 'EV', { env: {} }).ev ?? expect.fail('no ev'));
  const stations = startStations({
    clock,
    evseClient,
    evClient,
    evse: { ...evseConfig, slac: { ...evseConfig.slac, ...QUICK_SLAC } },
    ev: { ...evConfig, battery: { ...evConfig.battery, ...SMALL_BATTERY }, targetSocPercent: 80, slac: { ...evConfig.slac, ...QUICK_SLAC } },
  });
  const seen = { tx: [] as DecodedMessage[], rx: [] as DecodedMessage[] };
  evseClient.traffic$.subscribe((t) => t.message && seen[t.dir].push(t.message));
  const until = (done: () => boolean, maxMs = 3_600_000) => clock.runUntil(done, maxMs, 100);
  const ended = () => stations.records('EVSE').length >= 1 && stations.records('EV').length >= 1;
  const sent = (name: string) => seen.tx.filter((m) => m.message === name);
  return { clock, evseClient, evClient, stations, seen, until, ended, sent, stop: () => (stations.evse.stop(), stations.ev.stop()) };
}

describe('metering_receipt', () => {
  it('true: the EVSE requests a receipt once charging starts and the car answers with its status', async () => {
    const r = run({ evse: { metering_receipt: true } }, {});
    expect(await r.until(r.ended)).toBe(true);
    expect(r.sent('EvseSetMeterReceiptRequest')).toHaveLength(1);
    expect(r.seen.rx.some((m) => m.message === 'EvseMeteringReceiptStatus')).toBe(true);
    r.stop();
  });

  it('false (the default): no receipt is requested', async () => {
    const r = run({}, {});
    expect(await r.until(r.ended)).toBe(true);
    expect(r.sent('EvseSetMeterReceiptRequest')).toHaveLength(0);
    r.stop();
  });
});

describe('set_module_time', () => {
  it('true: each station sets its module clock to the host clock (UTC) at start', async () => {
    const r = run({ evse: { set_module_time: true } }, { ev: { set_module_time: true } });
    await r.until(() => r.stations.logs('EVSE').some((t) => t.startsWith('Set the module time')), 60_000);
    expect(r.sent('SetTime')[0]?.fields).toMatchObject({ year: 2026, month: 12, day: 2, hour: 1, minute: 2, seconds: 3 });
    await r.until(() => false, 60_000);
    // The simulated modules keep time from there: one minute later they say 01:03.
    for (const client of [r.evseClient, r.evClient]) {
      const p = client.request(Time.GetTime, { type: TimeType.utc });
      await r.until(() => false, 100);
      expect(await p).toMatchObject({ year: 2026, month: 12, day: 2, hour: 1, minute: 3 });
    }
    r.stop();
  });

  it('false (the default): the module clock is left alone', async () => {
    const r = run({}, {});
    await r.until(() => r.stations.logs('EVSE').some((t) => t.includes('Stop the CP service')), 60_000);
    await r.until(() => false, 5000);
    expect(r.sent('SetTime')).toHaveLength(0);
    r.stop();
  });
});

describe('schedule.code', () => {
  it('1: Set Schedules answers "unable to deliver schedules" (18.10.13), and nothing is charged', async () => {
    const r = run({ evse: { schedule: { code: 1, schedule_tuples: [{ schedule_tuple_id: 1, schedules: [{ start: 0, interval: 86400, power: 20000 }] }] } } }, {});
    await r.until(() => r.sent('EvseSetSchedules').length > 0, 600_000);
    expect(r.sent('EvseSetSchedules')[0]?.fields.result).toBe(1);
    await r.until(() => false, 60_000);
    expect(r.sent('EvseStartCharging')).toHaveLength(0);
    r.stop();
  });
});

describe('battery.timestep', () => {
  it('is the step at which the EV battery model reports SOC and energy while charging', async () => {
    const r = run({}, { ev: { battery: { timestep: 2500 } } });
    expect(await r.until(r.ended)).toBe(true);
    const at = r.stations.emitted.EV.flatMap((e) => (e.type === 'sample' ? [e.at] : []));
    expect(at.length).toBeGreaterThan(3);
    const steps = new Set(at.slice(1, -1).map((t, i) => t - (at[i] as number)));
    expect(steps).toEqual(new Set([2500]));
    r.stop();
  });
});
