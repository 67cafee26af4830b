/**
 * The OCPP 1.6J charge point against a central system on ocpp-rpc's server (strict schema
 * validation both ways): boot, authorization, a whole simulated session as a transaction with
 * meter values, remote start and stop, configuration, a charging profile that lowers the limit,
 * a CSMS restart mid-session with the queued messages delivered in order, and offline behaviour.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Csms, callsOf, startCsms } from '../helpers/csms.js';
import { type ControlRun, phaseOf, startControlRun } from '../helpers/control-run.js';
import { makeServerTls } from '../helpers/tls.js';

let dir = '';
const opened: Array<{ run?: ControlRun; csms?: Csms }> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'freev2g-ocpp-'));
});
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.run?.close();
    await o.csms?.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function setUp(opts: { csms?: Csms; password?: string; url?: string; caFile?: string } = {}) {
  const csms = opts.csms ?? (await startCsms());
  const run = await startControlRun(
    { ocpp: { url: opts.url ?? csms.url(), queueFile: join(dir, 'queue.jsonl'), ...(opts.password ? { password: opts.password } : {}), ...(opts.caFile ? { caFile: opts.caFile } : {}) } },
    { evBatteryWh: 8000 },
  );
  opened.push({ run, csms });
  const cp = run.plane.ocpp;
  if (!cp) throw new Error('no OCPP charge point');
  return { csms, run, cp };
}

const sessionEnded = (run: ControlRun) => () => run.emitted.EVSE.some((e) => e.type === 'sessionEnded');
const statuses = (csms: Csms, connectorId: number) =>
  callsOf(csms, 'StatusNotification')
    .filter((p) => p.connectorId === connectorId)
    .map((p) => p.status);

describe('OCPP 1.6J charge point (ocpp-rpc CSMS)', { timeout: 90_000 }, () => {
  it('runs a whole session as a transaction: boot, authorize, start, meter values, stop, statuses', async () => {
    const { csms, run, cp } = await setUp();
    await cp.booting();
    expect(await csms.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '20' })).toEqual({ status: 'Accepted' });
    await run.paced(sessionEnded(run));
    // Finishing goes out when the record closes the transaction (a pause keeps it open, app/ocpp/pause.ts),
    // beside the queued StopTransaction: either may reach the CSMS first.
    await run.paced(() => cp.queue.size === 0 && callsOf(csms, 'StopTransaction').length === 1 && statuses(csms, 1).includes('Finishing'), 60_000);

    const order = csms.calls.map((c) => c.method).filter((m) => m !== 'StatusNotification' && m !== 'Heartbeat');
    expect(order[0]).toBe('BootNotification');
    expect(order.slice(1, 3)).toEqual(['Authorize', 'StartTransaction']);
    expect(order.at(-1)).toBe('StopTransaction');
    const [auth] = callsOf(csms, 'Authorize');
    const [start] = callsOf(csms, 'StartTransaction');
    const [stop] = callsOf(csms, 'StopTransaction');
    expect(start).toMatchObject({ connectorId: 1, idTag: auth?.idTag, meterStart: 0 });
    const record = run.emitted.EVSE.find((e) => e.type === 'sessionEnded');
    const energyWh = record?.type === 'sessionEnded' ? record.record.energyDeliveredWh : 0;
    expect(stop).toMatchObject({ transactionId: 42, idTag: auth?.idTag, reason: 'Local' });
    expect(Math.abs(Number(stop?.meterStop) - energyWh)).toBeLessThanOrEqual(1);
    const meters = callsOf(csms, 'MeterValues');
    expect(meters.length).toBeGreaterThanOrEqual(2);
    const registers = meters.map((m) =>
      Number((m.meterValue as Array<{ sampledValue: Array<{ measurand: string; value: string }> }>)[0]?.sampledValue.find((v) => v.measurand === 'Energy.Active.Import.Register')?.value),
    );
    expect(registers).toEqual([...registers].sort((a, b) => a - b));
    expect(meters.every((m) => m.transactionId === 42 && m.connectorId === 1)).toBe(true);
    const seq = statuses(csms, 1);
    // The simulated car is plugged in from the start: the first status may already be Preparing.
    expect(['Available', 'Preparing']).toContain(seq[0]);
    expect(seq).toContain('Preparing');
    expect(seq.indexOf('Charging')).toBeGreaterThan(seq.indexOf('Preparing'));
    expect(seq.indexOf('Finishing')).toBeGreaterThan(seq.indexOf('Charging'));
  });

  it('RemoteStopTransaction stops through the safe path; the stop reason is Remote', async () => {
    const { csms, run, cp } = await setUp();
    await cp.booting();
    await run.paced(() => phaseOf(run, 'EVSE') === 'charging' && cp.transactionIdOf(cp.connectors[0] as never) === 42);
    expect(await csms.call('RemoteStopTransaction', { transactionId: 7 })).toEqual({ status: 'Rejected' });
    expect(await csms.call('RemoteStopTransaction', { transactionId: 42 })).toEqual({ status: 'Accepted' });
    await run.paced(sessionEnded(run));
    await run.paced(() => callsOf(csms, 'StopTransaction').length === 1, 30_000);
    expect(callsOf(csms, 'StopTransaction')[0]).toMatchObject({ transactionId: 42, reason: 'Remote' });
    expect(run.plane.controller.state('evse')).toMatchObject({ powerW: 0 });
  });

  it('an unknown id tag waits for RemoteStartTransaction, which authorizes the waiting vehicle', async () => {
    const { csms, run, cp } = await setUp();
    csms.handlers.Authorize = () => ({ idTagInfo: { status: 'Invalid' } });
    await cp.booting();
    await run.paced(() => callsOf(csms, 'Authorize').length === 1);
    await run.paced(() => cp.connectors[0]?.waiting !== undefined, 60_000);
    expect(await csms.call('RemoteStartTransaction', { connectorId: 1, idTag: 'APP-USER-1' })).toEqual({ status: 'Accepted' });
    await run.paced(() => callsOf(csms, 'StartTransaction').length === 1, 60_000);
    expect(callsOf(csms, 'StartTransaction')[0]).toMatchObject({ idTag: 'APP-USER-1' });
  });

  it('a TxProfile lowers the limit the station applies; ClearChargingProfile restores it; composite schedule', async () => {
    const { csms, run, cp } = await setUp();
    await cp.booting();
    await run.paced(() => phaseOf(run, 'EVSE') === 'charging' && cp.transactionIdOf(cp.connectors[0] as never) === 42);
    const profile = {
      chargingProfileId: 5,
      transactionId: 42,
      stackLevel: 1,
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Relative',
      chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] },
    };
    expect(await csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: profile })).toEqual({ status: 'Accepted' });
    expect(run.plane.controller.state('evse')?.limits).toEqual({ maxCurrentA: 10 });
    // The car's current follows the profile within a few update intervals.
    const at = run.clock.now();
    await run.paced(() => run.clock.now() - at > 10_000);
    expect(run.plane.controller.state('evse')?.currentA).toBeLessThanOrEqual(10.01);
    const composite = await csms.call('GetCompositeSchedule', { connectorId: 1, duration: 600, chargingRateUnit: 'A' });
    expect(composite).toMatchObject({ status: 'Accepted', connectorId: 1, chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } });
    // A TxProfile for another transaction is refused.
    expect(await csms.call('SetChargingProfile', { connectorId: 1, csChargingProfiles: { ...profile, chargingProfileId: 6, transactionId: 99 } })).toEqual({ status: 'Rejected' });
    expect(await csms.call('ClearChargingProfile', { id: 5 })).toEqual({ status: 'Accepted' });
    expect(run.plane.controller.state('evse')?.limits).toEqual({});
    const cleared = run.clock.now();
    await run.paced(() => run.clock.now() - cleared > 10_000 || phaseOf(run, 'EVSE') !== 'charging');
    if (phaseOf(run, 'EVSE') === 'charging') expect(run.plane.controller.state('evse')?.currentA).toBeGreaterThan(10.5);
    expect(await csms.call('ClearChargingProfile', { id: 5 })).toEqual({ status: 'Unknown' });
  });

  it('CSMS restart mid-session: charging goes on, queued messages are delivered in order on reconnect', async () => {
    const { csms, run, cp } = await setUp();
    await cp.booting();
    await csms.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '15' });
    await run.paced(() => phaseOf(run, 'EVSE') === 'charging' && cp.transactionIdOf(cp.connectors[0] as never) === 42);
    const before = csms.calls.length;
    await csms.stop();
    await run.paced(sessionEnded(run));
    expect(cp.queue.size).toBeGreaterThanOrEqual(2); // meter values and the stop wait
    const queued = cp.queue.size;
    await csms.start();
    // The reconnect happens in real time (ocpp-rpc's backoff), not on the simulated clock.
    for (let i = 0; i < 200 && cp.queue.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const after = csms.calls
      .slice(before)
      .map((c) => c.method)
      .filter((m) => m === 'MeterValues' || m === 'StopTransaction');
    expect(after.length).toBe(queued);
    expect(after.at(-1)).toBe('StopTransaction');
    expect(callsOf(csms, 'StopTransaction')[0]).toMatchObject({ transactionId: 42 });
  }, 60_000);

  it('configuration: known, unknown and read-only keys; ChangeAvailability waits for the transaction', async () => {
    const { csms, run, cp } = await setUp();
    await cp.booting();
    const conf = await csms.call('GetConfiguration', { key: ['HeartbeatInterval', 'NumberOfConnectors', 'NoSuchKey'] });
    expect(conf).toEqual({
      configurationKey: [
        { key: 'HeartbeatInterval', readonly: false, value: '300' },
        { key: 'NumberOfConnectors', readonly: true, value: '1' },
      ],
      unknownKey: ['NoSuchKey'],
    });
    expect(await csms.call('ChangeConfiguration', { key: 'NumberOfConnectors', value: '3' })).toEqual({ status: 'Rejected' });
    expect(await csms.call('ChangeConfiguration', { key: 'HeartbeatInterval', value: 'soon' })).toEqual({ status: 'Rejected' });
    expect(await csms.call('ChangeConfiguration', { key: 'Foo', value: '1' })).toEqual({ status: 'NotSupported' });
    await run.paced(() => phaseOf(run, 'EVSE') === 'charging');
    expect(await csms.call('ChangeAvailability', { connectorId: 1, type: 'Inoperative' })).toEqual({ status: 'Scheduled' });
    await run.paced(sessionEnded(run));
    await run.paced(() => statuses(csms, 1).at(-1) === 'Unavailable', 60_000);
    expect(run.plane.controller.state('evse')?.available).toBe(false);
    expect(await csms.call('ChangeAvailability', { connectorId: 0, type: 'Operative' })).toEqual({ status: 'Accepted' });
    expect(await csms.call('UnlockConnector', { connectorId: 1 })).toEqual({ status: 'NotSupported' });
  });

  it('boot Pending is retried at the given interval; security profile 1 sends the password', async () => {
    const csms = await startCsms();
    let boots = 0;
    csms.handlers.BootNotification = () => ({ status: ++boots < 2 ? 'Pending' : 'Accepted', interval: 30, currentTime: new Date().toISOString() });
    const { run, cp } = await setUp({ csms, password: 's3cret-pass' });
    await run.paced(() => boots >= 1, 5000);
    await run.paced(() => cp.isOnline, 120_000);
    expect(boots).toBe(2);
    expect(csms.passwords).toContain('s3cret-pass');
    expect(run.logs.join('\n')).not.toContain('s3cret-pass');
  });

  it('security profile 2: wss:// with the CA given; a wrong password is refused by the CSMS and never logged', async () => {
    const tls = makeServerTls();
    const csms = await startCsms({ tls, password: 'right-password-0123' });
    const wrong = await startControlRun({ ocpp: { url: csms.url(), caFile: tls.caFile, password: 'wrong-password-0123' } });
    opened.push({ run: wrong });
    for (let i = 0; i < 100 && !wrong.logs.some((l) => /cannot reach/.test(l)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(wrong.plane.ocpp?.isOnline).toBe(false);
    expect(wrong.logs.find((l) => /cannot reach/.test(l))).toMatch(/\(Unauthorized\)/);
    expect(csms.passwords).toContain('wrong-password-0123');
    const { cp, run } = await setUp({ csms, url: csms.url(), password: 'right-password-0123', caFile: tls.caFile });
    await cp.booting();
    expect(callsOf(csms, 'BootNotification')).toHaveLength(1);
    expect([...wrong.logs, ...run.logs].join('\n')).not.toMatch(/password-0123/);
  });

  it('without a reachable CSMS the local policy authorizes and the transaction waits in the journal', async () => {
    const csms = await startCsms();
    const url = csms.url();
    await csms.stop();
    const { run, cp } = await setUp({ csms, url });
    await run.paced(sessionEnded(run));
    expect(run.emitted.EVSE.find((e) => e.type === 'authorization' && e.accepted !== undefined)).toMatchObject({ accepted: true });
    expect(cp.queue.size).toBeGreaterThanOrEqual(2);
    expect(cp.queue.peek()?.method).toBe('StartTransaction');
    expect(run.logs.some((l) => /cannot reach .*charging goes on by the local policy/.test(l))).toBe(true);
  });
});
