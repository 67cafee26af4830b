/**
 * The OCPP pieces without a network: the persistent transaction queue (what a crash leaves is
 * delivered after the restart, in order; bounded, meter values dropped first) and the charging
 * profile composition (stack levels, purposes, the charge point's maximum, relative profiles),
 * the connector status and the paused transaction's steps (pause.ts).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StationState } from '../../app/control/controller.js';
import { Connector, connectorStatus } from '../../app/ocpp/connector.js';
import { pauseStep } from '../../app/ocpp/pause.js';
import { TransactionQueue } from '../../app/ocpp/queue.js';
import { type ChargingProfile, compositeLimitAt, compositeSchedule } from '../../app/ocpp/smart-charging.js';
import { splitOcppUrl } from '../../app/ocpp/url.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('TransactionQueue', () => {
  it('survives a restart (and a torn last line): the same messages, in order, with the transaction ids', () => {
    dir = mkdtempSync(join(tmpdir(), 'freev2g-q-'));
    const file = join(dir, 'q.jsonl');
    const q1 = new TransactionQueue(file);
    const tx = q1.newLocalTx();
    q1.push('StartTransaction', { connectorId: 1 }, tx);
    q1.push('MeterValues', { connectorId: 1, n: 1 }, tx);
    q1.ack(1);
    q1.setTransactionId(tx, 4711);
    q1.push('StopTransaction', { meterStop: 5 }, tx);
    q1.close();
    appendFileSync(file, '{"op":"push","seq":9,"meth'); // killed mid-write
    const q2 = new TransactionQueue(file);
    expect(q2.size).toBe(2);
    expect(q2.peek()).toMatchObject({ method: 'MeterValues', params: { n: 1 } });
    expect(q2.transactionId(tx)).toBe(4711);
    expect(q2.newLocalTx()).toBeGreaterThan(tx);
    q2.ack(2);
    q2.ack(3);
    q2.close();
    expect(new TransactionQueue(file).size).toBe(0);
  });

  it('knows the transactions a crash left open, with their last queued register, also after a compaction', () => {
    dir = mkdtempSync(join(tmpdir(), 'freev2g-q-'));
    const file = join(dir, 'q.jsonl');
    const meter = (wh: number, at: string) => ({ connectorId: 1, meterValue: [{ timestamp: at, sampledValue: [{ measurand: 'Energy.Active.Import.Register', value: String(wh) }] }] });
    const q1 = new TransactionQueue(file);
    const [done, cut] = [q1.newLocalTx(), q1.newLocalTx()];
    q1.push('StartTransaction', { idTag: 'A', meterStart: 0, timestamp: 't0' }, done);
    q1.push('StopTransaction', { meterStop: 10 }, done);
    q1.push('StartTransaction', { idTag: 'B', meterStart: 10, timestamp: 't1' }, cut);
    q1.push('MeterValues', meter(250, 't2'), cut);
    for (const seq of [1, 2, 3, 4]) q1.ack(seq); // all delivered: only the open state remains
    q1.close();
    const q2 = new TransactionQueue(file); // reads, then compacts
    expect(q2.size).toBe(0);
    expect(q2.interrupted).toEqual([{ localTx: cut, idTag: 'B', meterWh: 250, at: 't2' }]);
    q2.close();
    expect(new TransactionQueue(file).interrupted).toEqual([{ localTx: cut, idTag: 'B', meterWh: 250, at: 't2' }]);
    const q3 = new TransactionQueue(file);
    q3.push('StopTransaction', { meterStop: 250, reason: 'PowerLoss' }, cut);
    q3.close();
    expect(new TransactionQueue(file).interrupted).toEqual([]);
  });

  it('is bounded: when full the oldest meter values go first, and it says so', () => {
    const warnings: string[] = [];
    const q = new TransactionQueue(undefined, 3, (t) => warnings.push(t));
    q.push('StartTransaction', {}, 1);
    q.push('MeterValues', { n: 1 }, 1);
    q.push('MeterValues', { n: 2 }, 1);
    q.push('StopTransaction', {}, 1);
    expect(q.size).toBe(3);
    expect(warnings[0]).toMatch(/queue full \(3 messages\): dropped the oldest meter values/);
    q.ack(1);
    expect(q.peek()).toMatchObject({ params: { n: 2 } });
  });
});

const profile = (p: Partial<ChargingProfile> & { limit: number; unit?: 'A' | 'W' }): ChargingProfile => ({
  chargingProfileId: p.chargingProfileId ?? 1,
  stackLevel: p.stackLevel ?? 0,
  chargingProfilePurpose: p.chargingProfilePurpose ?? 'TxDefaultProfile',
  chargingProfileKind: p.chargingProfileKind ?? 'Absolute',
  ...(p.transactionId !== undefined ? { transactionId: p.transactionId } : {}),
  chargingSchedule: p.chargingSchedule ?? { startSchedule: '2026-01-01T00:00:00Z', chargingRateUnit: p.unit ?? 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: p.limit }] },
});

describe('charging profile composition', () => {
  const t = Date.parse('2026-06-01T12:00:00Z');
  it('the highest stack level wins within a purpose; a TxProfile overrides the default; the maximum caps', () => {
    const defaults = [profile({ limit: 32 }), profile({ chargingProfileId: 2, stackLevel: 3, limit: 16 })];
    expect(compositeLimitAt(defaults, [], t, {})).toEqual({ maxCurrentA: 16 });
    const tx = profile({
      chargingProfileId: 3,
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Relative',
      limit: 25,
      chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 25 }] },
    });
    expect(compositeLimitAt([...defaults, tx], [], t, {})).toEqual({ maxCurrentA: 16 }); // no transaction yet
    expect(compositeLimitAt([...defaults, tx], [], t, { startedAt: t - 1000 })).toEqual({ maxCurrentA: 25 });
    const max = profile({ chargingProfileId: 4, chargingProfilePurpose: 'ChargePointMaxProfile', limit: 20 });
    expect(compositeLimitAt([...defaults, tx], [max], t, { startedAt: t - 1000 })).toEqual({ maxCurrentA: 20 });
    expect(compositeLimitAt([], [profile({ chargingProfilePurpose: 'ChargePointMaxProfile', limit: 7000, unit: 'W' })], t, {})).toEqual({ maxPowerW: 7000 });
  });

  it('a relative schedule steps through its periods from the transaction start; the composite schedule lists them', () => {
    const p = profile({
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Relative',
      limit: 0,
      chargingSchedule: {
        chargingRateUnit: 'A',
        chargingSchedulePeriod: [
          { startPeriod: 0, limit: 30 },
          { startPeriod: 600, limit: 10 },
        ],
        duration: 1200,
      },
    });
    const tx = { startedAt: t };
    expect(compositeLimitAt([p], [], t + 599_000, tx)).toEqual({ maxCurrentA: 30 });
    expect(compositeLimitAt([p], [], t + 600_000, tx)).toEqual({ maxCurrentA: 10 });
    expect(compositeLimitAt([p], [], t + 1_200_000, tx)).toEqual({});
    expect(compositeSchedule([p], [], t, 1800, 'A', tx, 400)?.chargingSchedulePeriod).toEqual([
      { startPeriod: 0, limit: 30 },
      { startPeriod: 600, limit: 10 },
    ]);
  });
});

describe('the --ocpp URL', () => {
  it('splits endpoint and identity and never shows credentials', () => {
    expect(splitOcppUrl('wss://cp1:pw%21@csms.example/ocpp/CP-1')).toEqual({ endpoint: 'wss://csms.example/ocpp', identity: 'CP-1', shown: 'wss://csms.example/ocpp/CP-1', password: 'pw!' });
    expect(() => splitOcppUrl('http://x/ocpp/CP')).toThrow(/ws:\/\//);
    expect(() => splitOcppUrl('ws://x/')).toThrow(/charge point id/);
  });
});

describe('pause and resume: connector status and the paused transaction', () => {
  const state = (over: Partial<StationState>): StationState => ({
    id: 'evse',
    role: 'EVSE',
    online: true,
    available: true,
    voltageV: 0,
    currentA: 0,
    powerW: 0,
    energyWh: 0,
    limits: {},
    sessions: 1,
    ...over,
  });
  const paused = (): Connector => {
    const c = new Connector(1, 'evse');
    c.status = 'Charging';
    c.tx = { localTx: 1, idTag: 'T', startedAt: 0, meterStartWh: 0 };
    return c;
  };

  it('the stopping phases keep the status until the record tells a pause from an end; paused: SuspendedEV until energy flows again', () => {
    const c = paused();
    expect(connectorStatus(c, state({ phase: 'stoppingCharging' }))).toBe('Charging');
    c.sessionOpen = true;
    if (c.tx) c.tx.paused = true;
    for (const phase of ['paused', 'slac', 'v2gSetup', 'authorization', 'preCharge']) expect(connectorStatus(c, state({ phase }))).toBe('SuspendedEV');
    expect(connectorStatus(c, state({ phase: 'error' }))).toBe('Faulted');
    c.tx = undefined;
    // The module set-up failed and is tried again later (machines/setup-retry.ts): no energy meanwhile.
    expect(connectorStatus(new Connector(1, 'evse'), state({ phase: 'setUpRetry' }))).toBe('Faulted');
    expect(connectorStatus(c, state({ phase: 'paused' }))).toBe('Finishing');
  });

  it('resumed on a fresh sample while charging; stopped by an unplug, a disable, an error, a stopped station', () => {
    expect(pauseStep(state({ phase: 'charging', energyWh: 50 }), ['phase'], undefined)).toBeUndefined();
    expect(pauseStep(state({ phase: 'charging', energyWh: 1 }), ['energyWh'], undefined)).toBe('resumed');
    expect(pauseStep(state({ phase: 'slac' }), ['phase'], undefined)).toBeUndefined();
    expect(pauseStep(state({ phase: 'waitingForVehicle' }), ['phase'], undefined)).toEqual({ stopReason: 'EVDisconnected' });
    expect(pauseStep(state({ phase: 'waitingForVehicle', available: false }), ['phase'], undefined)).toEqual({ stopReason: 'Local' });
    expect(pauseStep(state({ phase: 'error' }), ['phase'], undefined)).toEqual({ stopReason: 'Other' });
    expect(pauseStep(state({ phase: 'paused', online: false }), ['online'], undefined)).toEqual({ stopReason: 'Reboot' });
    expect(pauseStep(state({ phase: 'waitingForVehicle' }), ['phase'], 'Remote')).toEqual({ stopReason: 'Remote' });
  });
});
