/**
 * The module set-up retried with back-off (machines/setup-retry.ts; fuzz seed 200830: the EVSE's
 * CP Set Mode lost three times in a row at start-up stopped the station for good). Both stations
 * on the simulated pair, virtual clock; the set-up fails on purpose by a client whose CP Set Mode
 * goes unanswered (an HciError timeout, as the retried request ends on a lossy link).
 */
import { describe, expect, it } from 'vitest';
import { ControlPilot, System } from '../../codec/catalog.js';
import { commandedOutput } from '../../machines/charger.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { SET_UP_BACK_OFF_MS, setUpBackOffMs } from '../../machines/setup-retry.js';
import type { VirtualClock } from '../../util/clock.js';
import { SMALL_BATTERY, QUICK_SLAC, simulatedClients, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';
import { evConfig, evseConfig } from '../../machines/index.js';

const pairs = pairsClosedAfterEach();

/** The client whose CP Set Mode goes unanswered while `failing()`; the times of its firmware queries. */
function setModeUnanswered(client: HciClient, clock: VirtualClock, failing: () => boolean) {
  const firmwareQueries: number[] = [];
  const wrapped = Object.assign(Object.create(client) as HciClient, {
    request: ((def, fields, options) => {
      if (def === System.GetFirmwareVersion) firmwareQueries.push(clock.now());
      if (def === ControlPilot.SetMode && failing()) return Promise.reject(new HciError('timeout', 'ControlPilot.SetMode', 'ControlPilot.SetMode: no response within 1000 ms'));
      return client.request(def, fields, options);
    }) as HciClient['request'],
  });
  return { client: wrapped, firmwareQueries };
}

/** Both stations; the EVSE's (or the EV's) Set Mode unanswered in its first `failures` set-ups. */
function run(role: 'EVSE' | 'EV', failures: number, setUpAttempts?: number) {
  const c = simulatedClients();
  pairs.push(c.pair);
  let failed = 0;
  const lossy = setModeUnanswered(role === 'EVSE' ? c.evseClient : c.evClient, c.clock, () => failed < failures);
  const s = startStations({
    clock: c.clock,
    evseClient: role === 'EVSE' ? lossy.client : c.evseClient,
    evClient: role === 'EV' ? lossy.client : c.evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    ...(setUpAttempts !== undefined ? { setUpAttempts } : {}),
  });
  const station = role === 'EVSE' ? s.evse : s.ev;
  /** Clock times of the failure lines. */
  const failedAt: number[] = [];
  station.on('*', (e) => {
    const ev = e as { type: string; text?: string };
    if (ev.type === 'log' && ev.text?.startsWith('Module set-up failed')) {
      failed++;
      failedAt.push(c.clock.now());
    }
  });
  const phases = () => s.emitted[role].flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
  const state = () => JSON.stringify(station.getSnapshot().value);
  return { ...c, s, station, failedAt, firmwareQueries: lossy.firmwareQueries, phases, state };
}

describe('module set-up retried with back-off', () => {
  it('the back-off: 5, 10, 20, 40, 60, 60, ... s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(setUpBackOffMs)).toEqual([5000, 10000, 20000, 40000, 60000, 60000, 60000, 60000]);
    expect(SET_UP_BACK_OFF_MS.at(-1)).toBe(60_000);
  });

  it('EVSE: Set Mode unanswered in three set-ups in a row, tried again after 5, 10, 20 s; then the car charges', async () => {
    const r = run('EVSE', 3);
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 900_000, 50)).toBe(true);
    const logs = r.s.logs('EVSE');
    const lines = logs.filter((l) => l.startsWith('Module set-up failed'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^Module set-up failed \(control pilot: ControlPilot\.SetMode: no response within 1000 ms\): trying again in 5 s, at \d\d:\d\d:\d\d UTC \(failure 1 in a row\)$/);
    expect(lines[1]).toMatch(/trying again in 10 s, .*\(failure 2 in a row\)$/);
    expect(lines[2]).toMatch(/trying again in 20 s, .*\(failure 3 in a row\)$/);
    expect(logs).toContain('Module set up after 3 failed attempts');
    // Each try again starts from the firmware check, the back-off after the failure (the unanswered
    // Set Mode is rejected at once here, so a try takes no time on the clock).
    const waits = r.failedAt.map((at) => (r.firmwareQueries.find((q) => q > at) ?? Number.NaN) - at);
    expect(waits).toEqual([5000, 10000, 20000]);
    expect(r.phases().filter((p) => p === 'setUpRetry')).toHaveLength(3);
    expect(r.phases()).not.toContain('error');
    const rec = r.s.records('EVSE')[0];
    expect(rec?.error).toBeUndefined();
    expect(rec?.energyDeliveredWh ?? 0).toBeGreaterThan(0);
  });

  it('EV: the same table (Set Mode unanswered once: tried again after 5 s; the car charges)', async () => {
    const r = run('EV', 1);
    expect(await r.clock.runUntil(() => r.s.records('EV').length > 0, 900_000, 50)).toBe(true);
    expect(r.s.logs('EV').filter((l) => l.startsWith('Module set-up failed'))).toEqual([expect.stringMatching(/trying again in 5 s, .*\(failure 1 in a row\)$/)]);
    expect(r.s.logs('EV')).toContain('Module set up after 1 failed attempt');
    expect(r.s.records('EV')[0]?.error).toBeUndefined();
  });

  it('a module that never takes its set-up: the station keeps trying (output 0) and never stops on its own', async () => {
    const r = run('EVSE', Number.POSITIVE_INFINITY);
    await r.clock.runUntil(() => false, 600_000, 1000);
    expect(r.station.getSnapshot().status).toBe('active');
    expect(r.phases()).not.toContain('error');
    // 10 min: 5 + 10 + 20 + 40 + 60 s, then every 60 s (each try takes a few seconds).
    expect(r.failedAt.length).toBeGreaterThanOrEqual(9);
    const charger = r.s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] };
    expect(commandedOutput(charger.context)).toEqual({ voltageV: 0, currentA: 0 });
  });

  it('a shutdown during the back-off stops the station at once, cleanly, with no further set-up', async () => {
    const r = run('EVSE', Number.POSITIVE_INFINITY);
    expect(await r.clock.runUntil(() => r.state() === '"setUpRetry"', 60_000, 10)).toBe(true);
    const queries = r.firmwareQueries.length;
    const at = r.clock.now();
    r.s.evse.send({ type: 'shutdown' });
    r.s.ev.send({ type: 'shutdown' });
    expect(await r.clock.runUntil(() => r.station.getSnapshot().status === 'done', 60_000, 10)).toBe(true);
    // Done well before the 5 s back-off would have ended, through the usual stop steps.
    expect(r.clock.now() - at).toBeLessThan(5000);
    expect(r.firmwareQueries).toHaveLength(queries);
    expect(r.phases().slice(-3)).toEqual(['setUpRetry', 'shuttingDown', 'stopped']);
    expect(r.s.logs('EVSE')).toEqual(expect.arrayContaining(['Stop listening', 'Stop SLAC', 'Stop the CP service']));
  });

  it('with a limit (`sim`): gives up in `failed` after that many set-ups in a row', async () => {
    const r = run('EVSE', Number.POSITIVE_INFINITY, 3);
    expect(await r.clock.runUntil(() => r.state() === '"failed"', 300_000, 50)).toBe(true);
    expect(r.failedAt).toHaveLength(2);
    expect(r.s.logs('EVSE').at(-1)).toBe('Station stopped: module set-up failed 3 times in a row (last: control pilot: ControlPilot.SetMode: no response within 1000 ms)');
  });
});
