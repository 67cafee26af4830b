/**
 * Pause and resume under OCPP 1.6J (docs/ocpp.md, docs/service.md "Pause and resume"): the
 * simulated car of the `pause-resume` scenario pauses 20 s into charging and resumes 15 s later.
 * The connector shows SuspendedEV over the pause and the transaction stays open (one
 * StartTransaction, one StopTransaction, the meter flat while paused); an unplug, a disable and
 * a RemoteStopTransaction during the pause stop it then. Against the ocpp-rpc CSMS helper.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../machines/station-events.js';
import { type Csms, callsOf, startCsms } from '../helpers/csms.js';
import { type ControlRun, startControlRun } from '../helpers/control-run.js';

let dir = '';
const opened: Array<{ run: ControlRun; csms: Csms }> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'freev2g-ocpp-pause-'));
});
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.run.close();
    await o.csms.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function setUp() {
  const csms = await startCsms();
  const run = await startControlRun({ ocpp: { url: csms.url(), queueFile: join(dir, 'queue.jsonl'), meterValuesIntervalS: 5 } }, { scenario: 'pause-resume' });
  opened.push({ run, csms });
  const cp = run.plane.ocpp;
  if (!cp) throw new Error('no OCPP charge point');
  await cp.booting();
  return { csms, run, cp };
}

const records = (run: ControlRun): SessionRecord[] => run.emitted.EVSE.flatMap((e) => (e.type === 'sessionEnded' ? [e.record] : []));
const statuses = (csms: Csms) =>
  callsOf(csms, 'StatusNotification')
    .filter((p) => p.connectorId === 1)
    .map((p) => p.status);
/** Each MeterValues call's register (Wh) with the status the connector had last reported before it. */
const registers = (csms: Csms) => {
  let status = '';
  return csms.calls.flatMap((c) => {
    if (c.method === 'StatusNotification' && c.params.connectorId === 1) status = String(c.params.status);
    if (c.method !== 'MeterValues') return [];
    const values = (c.params.meterValue as Array<{ sampledValue: Array<{ measurand: string; value: string }> }>)[0]?.sampledValue ?? [];
    return [{ status, wh: Number(values.find((v) => v.measurand === 'Energy.Active.Import.Register')?.value), transactionId: c.params.transactionId }];
  });
};
// Cheap predicates (checked at every clock step): the controller's count, not a scan of the samples.
const sessions = (run: ControlRun) => run.plane.controller.state('evse')?.sessions ?? 0;
const pausedNow = (run: ControlRun) => () => sessions(run) === 1 && run.plane.controller.state('evse')?.phase === 'paused';

describe('OCPP pause and resume (pause-resume scenario, ocpp-rpc CSMS)', { timeout: 120_000 }, () => {
  it('the transaction stays open over the pause: SuspendedEV, flat meter, one Start and one Stop with the energy of both segments', async () => {
    const { csms, run } = await setUp();
    // 50 % to 80 % of 10 kWh at 12 kW: about 15 simulated minutes.
    expect(await run.paced(() => sessions(run) >= 2, 1_500_000)).toBe(true);
    expect(await run.paced(() => callsOf(csms, 'StopTransaction').length >= 1, 60_000)).toBe(true);
    // The scenario unplugs and plugs the car in again after the session: later sessions are new
    // transactions (their own Start and Stop); only the first Start and Stop are this session's.
    const [paused, resumed] = records(run);
    expect(paused).toMatchObject({ closure: 'pause' });
    expect(resumed).toMatchObject({ resumed: true, sessionId: paused?.sessionId });

    const stopAt = csms.calls.findIndex((c) => c.method === 'StopTransaction');
    const before = csms.calls.slice(0, stopAt);
    expect(before.filter((c) => c.method === 'StartTransaction')).toHaveLength(1);
    const stops = callsOf(csms, 'StopTransaction');
    const totalWh = (paused?.energyDeliveredWh ?? 0) + (resumed?.energyDeliveredWh ?? 0);
    expect(stops[0]).toMatchObject({ transactionId: 42, reason: 'Local' });
    expect(Math.abs(Number(stops[0]?.meterStop) - totalWh)).toBeLessThanOrEqual(1);
    // The resume needs no new authorization: its transaction was authorized at its start.
    expect(before.filter((c) => c.method === 'Authorize')).toHaveLength(1);

    const seq = statuses({ ...csms, calls: before });
    const suspended = seq.indexOf('SuspendedEV');
    expect(suspended).toBeGreaterThan(seq.indexOf('Charging'));
    // Charging, then SuspendedEV over the pause, then Charging again; Finishing only at the end.
    expect(seq.slice(suspended)).toContain('Charging');
    expect(seq.slice(0, seq.lastIndexOf('Charging'))).not.toContain('Finishing');
    expect(seq.slice(seq.indexOf('Charging'), seq.lastIndexOf('Charging'))).not.toContain('Preparing');

    const meters = registers({ ...csms, calls: before });
    expect(meters.every((m) => m.transactionId === 42)).toBe(true);
    expect(meters.map((m) => m.wh)).toEqual(meters.map((m) => m.wh).sort((a, b) => a - b));
    // 15 s paused, a sample every 5 s: several readings, all the first segment's energy.
    const flat = meters.filter((m) => m.status === 'SuspendedEV').map((m) => m.wh);
    expect(flat.length).toBeGreaterThanOrEqual(2);
    expect(new Set(flat).size).toBe(1);
    expect(Math.abs((flat[0] ?? 0) - (paused?.energyDeliveredWh ?? 0))).toBeLessThanOrEqual(1);
    expect(Math.max(...meters.map((m) => m.wh))).toBeGreaterThan(flat[0] ?? 0);
  });

  it('an unplug while paused stops the transaction then (EVDisconnected, the first segment only)', async () => {
    const { csms, run, cp } = await setUp();
    await run.paced(pausedNow(run), 600_000);
    await run.paced(() => statuses(csms).at(-1) === 'SuspendedEV', 10_000);
    expect(callsOf(csms, 'StopTransaction')).toHaveLength(0);
    run.cable.unplug();
    await run.paced(() => cp.queue.size === 0 && callsOf(csms, 'StopTransaction').length === 1, 30_000);
    const [paused] = records(run);
    const [stop] = callsOf(csms, 'StopTransaction');
    expect(stop).toMatchObject({ transactionId: 42, reason: 'EVDisconnected' });
    expect(Math.abs(Number(stop?.meterStop) - (paused?.energyDeliveredWh ?? 0))).toBeLessThanOrEqual(1);
    await run.paced(() => statuses(csms).at(-1) === 'Available', 10_000);
    expect(cp.connectors[0]?.tx).toBeUndefined();
  });

  it('the station disabled while paused: the pause ends at its next wake-up and the transaction stops (Local), Unavailable', async () => {
    const { csms, run, cp } = await setUp();
    await run.paced(pausedNow(run), 600_000);
    expect(run.plane.controller.execute('evse', { command: 'disable' }).ok).toBe(true);
    await run.paced(() => cp.queue.size === 0 && callsOf(csms, 'StopTransaction').length === 1, 30_000);
    expect(callsOf(csms, 'StopTransaction')[0]).toMatchObject({ transactionId: 42, reason: 'Local' });
    await run.paced(() => statuses(csms).at(-1) === 'Unavailable', 10_000);
    expect(statuses(csms).at(-1)).toBe('Unavailable');
    expect(callsOf(csms, 'StartTransaction')).toHaveLength(1);
  });

  it('RemoteStopTransaction while paused stops at once (Remote); the car is not let resume', async () => {
    const { csms, run, cp } = await setUp();
    await run.paced(pausedNow(run), 600_000);
    expect(await csms.call('RemoteStopTransaction', { transactionId: 42 })).toEqual({ status: 'Accepted' });
    await run.paced(() => cp.queue.size === 0 && callsOf(csms, 'StopTransaction').length === 1, 10_000);
    expect(callsOf(csms, 'StopTransaction')[0]).toMatchObject({ transactionId: 42, reason: 'Remote' });
    // The car comes back with the paused session's ID and is refused; nothing more is charged.
    await run.paced(() => sessions(run) >= 2, 120_000);
    expect(records(run)[1]).toMatchObject({ resumed: true, energyDeliveredWh: 0 });
    expect(callsOf(csms, 'StartTransaction')).toHaveLength(1);
    expect(statuses(csms).slice(statuses(csms).indexOf('SuspendedEV') + 1)).not.toContain('Charging');
  });
});
