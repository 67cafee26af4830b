/**
 * An independent check of the OCPP link: a central system built on @voltbras/ts-ocpp (its own
 * OCPP 1.6 JSON implementation and schemas, no code shared with ocpp-rpc) sees a boot, an
 * authorization and a whole simulated session as one transaction with meter values, and stops a
 * second session remotely.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CentralSystem } from '@voltbras/ts-ocpp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ControlRun, phaseOf, startControlRun } from '../helpers/control-run.js';
import { freePort } from '../helpers/mosquitto.js';

type Req = { action: string; ocppVersion: string } & Record<string, unknown>;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe('OCPP charge point against a @voltbras/ts-ocpp central system', { timeout: 90_000 }, () => {
  it('boot, authorize, a session as a transaction with meter values, then a remote stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'freev2g-ocpp2-'));
    const port = await freePort();
    const seen: Req[] = [];
    const cs = new CentralSystem(
      port,
      (req) => {
        const r = req as unknown as Req;
        seen.push(r);
        const base = { action: r.action, ocppVersion: r.ocppVersion };
        const now = new Date().toISOString();
        const answers: Record<string, Record<string, unknown>> = {
          BootNotification: { status: 'Accepted', interval: 300, currentTime: now },
          Heartbeat: { currentTime: now },
          Authorize: { idTagInfo: { status: 'Accepted' } },
          StartTransaction: { transactionId: 77 + seen.filter((s) => s.action === 'StartTransaction').length - 1, idTagInfo: { status: 'Accepted' } },
          StopTransaction: {},
          MeterValues: {},
          StatusNotification: {},
        };
        const answer = answers[r.action];
        if (!answer) throw new Error(`unexpected ${r.action}`);
        return { ...base, ...answer } as never;
      },
      { host: '127.0.0.1', rejectInvalidRequests: true },
    );
    const run: ControlRun = await startControlRun({ ocpp: { url: `ws://127.0.0.1:${port}/ocpp/FREEV2G-1`, queueFile: join(dir, 'q.jsonl') } }, { evBatteryWh: 8000 });
    cleanup.push(async () => {
      await run.close();
      await cs.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const cp = run.plane.ocpp;
    if (!cp) throw new Error('no OCPP');
    await cp.booting();
    const set = await cs.sendRequest({ chargePointId: 'FREEV2G-1', ocppVersion: 'v1.6-json', action: 'ChangeConfiguration', payload: { key: 'MeterValueSampleInterval', value: '20' } });
    expect(set.extract()).toMatchObject({ status: 'Accepted' });

    const meterValues = () => seen.filter((r) => r.action === 'MeterValues' && r.transactionId === 77);
    await run.paced(() => meterValues().length >= 2);
    const stopped = await cs.sendRequest({ chargePointId: 'FREEV2G-1', ocppVersion: 'v1.6-json', action: 'RemoteStopTransaction', payload: { transactionId: 77 } });
    expect(stopped.extract()).toMatchObject({ status: 'Accepted' });
    await run.paced(() => run.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    await run.paced(() => cp.queue.size === 0, 30_000);
    const actions = seen.map((r) => r.action);
    expect(actions[0]).toBe('BootNotification');
    expect(actions.indexOf('Authorize')).toBeLessThan(actions.indexOf('StartTransaction'));
    const start = seen.find((r) => r.action === 'StartTransaction');
    const stop = seen.find((r) => r.action === 'StopTransaction');
    expect(start).toMatchObject({ connectorId: 1, meterStart: 0 });
    expect(stop).toMatchObject({ transactionId: 77, reason: 'Remote' });
    expect(Number(stop?.meterStop)).toBeGreaterThan(10);
    expect(phaseOf(run, 'EVSE')).not.toBe('charging');
  });
});
