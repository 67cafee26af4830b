/**
 * The MQTT control and telemetry API against a real broker (Debian mosquitto): retained state,
 * commands with replies (also MQTT 5 response topics), external authorization with its fallback,
 * records at QoS 1, idempotent commands, a broker that goes away mid-session, the last will.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Mosquitto, collector, startMosquitto } from '../helpers/mosquitto.js';
import { type ControlRun, phaseOf, startControlRun } from '../helpers/control-run.js';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker.destroy();
});
const runs: ControlRun[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.close();
});

async function start(externalAuth = false): Promise<ControlRun> {
  const run = await startControlRun({ mqtt: broker.url, mqttPrefix: `t${Math.random().toString(36).slice(2, 8)}`, ...(externalAuth ? { externalAuth } : {}) });
  runs.push(run);
  await run.plane.ready();
  return run;
}

describe('MQTT API on mosquitto', () => {
  it('publishes retained online flag and state fields that a late subscriber gets', async () => {
    const run = await start();
    await run.until(() => phaseOf(run, 'EVSE') === 'charging');
    await new Promise((r) => setTimeout(r, 700)); // the sample throttle's trailing publication
    const sub = await broker.client();
    const c = collector(sub);
    const prefix = run.plane.mqttPrefix;
    await sub.subscribeAsync(`${prefix}/evse/#`);
    expect(await c.next(`${prefix}/evse/online`)).toBe('true');
    expect(await c.next(`${prefix}/evse/state/phase`)).toBe('charging');
    const state = JSON.parse(await c.next(`${prefix}/evse/state`)) as { role: string; voltageV: number; available: boolean };
    expect(state).toMatchObject({ role: 'EVSE', available: true });
    expect(state.voltageV).toBeGreaterThan(100);
  });

  it('stops a charging session on cmd/stop and replies; the record arrives at QoS 1', async () => {
    const run = await start();
    const sub = await broker.client();
    const c = collector(sub);
    const prefix = run.plane.mqttPrefix;
    await sub.subscribeAsync(`${prefix}/evse/#`, { qos: 1 });
    await run.until(() => phaseOf(run, 'EVSE') === 'charging');
    const reply = c.next(`${prefix}/evse/reply/stop`);
    await sub.publishAsync(`${prefix}/evse/cmd/stop`, JSON.stringify({ id: 'r1' }), { qos: 1 });
    expect(JSON.parse(await reply)).toEqual({ ok: true, station: 'evse', command: 'stop', message: 'stopping the charging in progress', id: 'r1' });
    const record = c.next(`${prefix}/evse/session`);
    await run.until(() => run.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    expect(JSON.parse(await record)).toMatchObject({ station: 'EVSE', stopReason: 'operatorStop' });
    // Idempotent: a second stop has nothing to do and says so.
    const again = c.next(`${prefix}/evse/reply/stop`);
    await sub.publishAsync(`${prefix}/evse/cmd/stop`, '');
    expect(JSON.parse(await again)).toMatchObject({ ok: true, message: 'no charging in progress' });
  });

  it('answers on an MQTT 5 response topic with the correlation data', async () => {
    const run = await start();
    const prefix = run.plane.mqttPrefix;
    const { connectAsync } = await import('mqtt');
    const v5 = await connectAsync(broker.url, { protocolVersion: 5 });
    try {
      await v5.subscribeAsync('my/replies');
      const got = new Promise<{ text: string; corr?: string }>((resolve) =>
        v5.on('message', (_t, payload, packet) => resolve({ text: payload.toString(), corr: packet.properties?.correlationData?.toString() })),
      );
      await v5.publishAsync(`${prefix}/evse/cmd/disable`, '{}', { properties: { responseTopic: 'my/replies', correlationData: Buffer.from('abc') } });
      const r = await got;
      expect(r.corr).toBe('abc');
      expect(JSON.parse(r.text)).toMatchObject({ ok: true, command: 'disable' });
    } finally {
      await v5.endAsync();
    }
  });

  it('refuses malformed and unknown commands with a reason, and touches nothing', async () => {
    const run = await start();
    const sub = await broker.client();
    const c = collector(sub);
    const prefix = run.plane.mqttPrefix;
    await sub.subscribeAsync(`${prefix}/evse/reply/#`);
    const cases: Array<[string, string, RegExp]> = [
      ['setLimits', '{"maxPowerW": -5}', /maxPowerW/],
      ['setLimits', '{}', /needs maxPowerW/],
      ['launch', '{}', /command/],
      ['stop', 'not json', /payload/],
    ];
    for (const [cmd, body, why] of cases) {
      const reply = c.next(`${prefix}/evse/reply/${cmd}`);
      await sub.publishAsync(`${prefix}/evse/cmd/${cmd}`, body);
      const r = JSON.parse(await reply) as { ok: boolean; message: string };
      expect(r.ok, `${cmd} ${body}`).toBe(false);
      expect(r.message).toMatch(why);
    }
    expect(run.plane.controller.state('evse')?.available).toBe(true);
  });

  it('external authorization: the pending vehicle is published and accepted over MQTT', async () => {
    const run = await start(true);
    const sub = await broker.client();
    const c = collector(sub);
    const prefix = run.plane.mqttPrefix;
    await sub.subscribeAsync(`${prefix}/evse/#`);
    await run.until(() => run.plane.controller.state('evse')?.pendingAuthorization !== undefined);
    const pending = JSON.parse(await c.next(`${prefix}/evse/state/pendingAuthorization`, (t) => t !== '')) as { evccId: string };
    expect(pending.evccId).toMatch(/^[0-9a-f:]+$/i);
    const reply = c.next(`${prefix}/evse/reply/authorize`);
    await sub.publishAsync(`${prefix}/evse/cmd/authorize`, JSON.stringify({ accept: true, evccId: pending.evccId }));
    expect(JSON.parse(await reply)).toMatchObject({ ok: true, message: `accepted ${pending.evccId}` });
    expect(await run.until(() => phaseOf(run, 'EVSE') === 'charging')).toBe(true);
  });

  it('external authorization falls back to the configured policy before the module times out', async () => {
    const run = await start(true);
    await run.until(() => run.plane.controller.state('evse')?.pendingAuthorization !== undefined);
    const asked = run.clock.now();
    const auth = () => run.emitted.EVSE.find((e) => e.type === 'authorization' && e.accepted !== undefined);
    await run.until(() => auth() !== undefined);
    // The default config accepts everyone; the decision came by the fallback, within the module's timeout.
    expect(auth()).toMatchObject({ accepted: true });
    expect(run.clock.now() - asked).toBeGreaterThan(1000);
    expect(await run.until(() => phaseOf(run, 'EVSE') === 'charging')).toBe(true);
  });

  it('charging goes on while the broker is gone, and the bridge reconnects', async () => {
    const run = await start();
    await run.until(() => phaseOf(run, 'EVSE') === 'charging');
    await broker.stop();
    await new Promise((r) => setTimeout(r, 300));
    const done = await run.until(() => run.emitted.EVSE.some((e) => e.type === 'sessionEnded'));
    expect(done).toBe(true);
    const record = run.emitted.EVSE.find((e) => e.type === 'sessionEnded');
    expect(record).toMatchObject({ record: { stopReason: 'evStopped' } });
    expect(run.logs.some((l) => /charging goes on, retrying/.test(l))).toBe(true);
    await broker.start();
    await run.plane.ready(8000);
    const sub = await broker.client();
    const c = collector(sub);
    await sub.subscribeAsync(`${run.plane.mqttPrefix}/evse/online`);
    expect(await c.next(`${run.plane.mqttPrefix}/evse/online`)).toBe('true');
  });
});
