/**
 * `--power-stage mqtt` against a real broker (Debian mosquitto): the EVSE's charger drives a
 * small fake power supply that answers over MQTT (setpoint in, measurement out). The stations
 * run on the virtual clock, stepped finely with real time between steps so that the supply's
 * answers land before the simulated bounds run out.
 */
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { parseMeasurement } from '../../app/control/power-stage-mqtt.js';
import type { PowerStageSetpoint } from '../../machines/power-stage.js';
import { phaseOf } from '../helpers/control-run.js';
import { mqttDeviceRig, untilReal } from '../helpers/mqtt-device.js';

const rig = mqttDeviceRig();

type SupplyMode = 'ok' | 'ignoreDisable' | 'fault';

/** The fake power supply: answers each setpoint with what it now delivers. */
async function fakeSupply(prefix: string) {
  const client: MqttClient = await rig.broker.client();
  const setpoints: PowerStageSetpoint[] = [];
  const supply = { setpoints, mode: 'ok' as SupplyMode, currentA: 0 };
  await client.subscribeAsync(`${prefix}/evse/power/setpoint`, { qos: 1 });
  client.on('message', (_topic, payload) => {
    const sp = JSON.parse(payload.toString('utf8')) as PowerStageSetpoint;
    setpoints.push(sp);
    const off = !sp.enabled && supply.mode !== 'ignoreDisable';
    if (!off) supply.currentA = sp.enabled ? sp.currentA : supply.currentA;
    else supply.currentA = 0;
    const m = { voltageV: off ? 0 : sp.voltageV, currentA: supply.currentA, isolation: 'valid', ...(supply.mode === 'fault' ? { fault: 'overcurrent' } : {}) };
    client.publish(`${prefix}/evse/power/measured`, JSON.stringify(m), { qos: 1 });
  });
  rig.cleanups.push(async () => void (await client.endAsync()));
  return {
    setpoints,
    client,
    get mode(): SupplyMode {
      return supply.mode;
    },
    set mode(m: SupplyMode) {
      supply.mode = m;
    },
  };
}

async function start() {
  const t = await rig.start('EVSE', { powerStage: 'mqtt' }, fakeSupply, { evBatteryWh: 500 });
  return { ...t, supply: t.device };
}

describe('power stage over MQTT (mosquitto)', () => {
  it('charges on the fake supply: setpoints out, its measurements are the present output', async () => {
    const t = await start();
    expect(await t.fine(() => t.records().length >= 1)).toBe(true);
    const [rec] = t.records();
    expect(rec?.stopReason).toBe('evStopped');
    expect(rec?.energyDeliveredWh).toBeGreaterThan(10);
    expect(t.supply.setpoints.some((s) => s.enabled && s.currentA > 0 && s.voltageV > 0)).toBe(true);
    expect(t.supply.setpoints.at(-1)).toMatchObject({ enabled: false, currentA: 0 });
    // The supply answered each disable with 0 A at once: no fault, the station stays available.
    await t.fine(() => false, 2000);
    expect(t.logs().some((l) => l.startsWith('Power stage fault'))).toBe(false);
  });

  it('a fault reported by the supply ends the session: stop reason recorded, station disabled', async () => {
    const t = await start();
    expect(await t.fine(() => phaseOf(t.run, 'EVSE') === 'charging')).toBe(true);
    t.supply.mode = 'fault';
    // The next setpoint change (the EV's next target) brings the fault back.
    expect(await t.fine(() => t.records().length >= 1, 60_000)).toBe(true);
    expect(t.records()[0]?.stopReason).toBe('powerStageFault');
    expect(t.logs()).toContain('Power stage fault (powerStageFault: overcurrent): output to 0, station disabled until enabled');
  });

  it('a supply that keeps its current after a disable is a fault within the bound', async () => {
    const t = await start();
    expect(await t.fine(() => phaseOf(t.run, 'EVSE') === 'charging')).toBe(true);
    t.supply.mode = 'ignoreDisable';
    expect(await t.fine(() => t.logs().some((l) => l.startsWith('Power stage fault (powerStageNotOff')), 600_000)).toBe(true);
    expect(t.records().length).toBeGreaterThanOrEqual(1);
  });

  it('a measurement that is not one is logged in one line and ignored', async () => {
    const t = await start();
    await t.supply.client.publishAsync(`${t.prefix}/evse/power/measured`, 'not json', { qos: 1 });
    await t.supply.client.publishAsync(`${t.prefix}/evse/power/measured`, '{"voltageV":"400","currentA":0}', { qos: 1 });
    const expected = [
      `Power stage (MQTT): ignoring a measurement on ${t.prefix}/evse/power/measured: not JSON`,
      `Power stage (MQTT): ignoring a measurement on ${t.prefix}/evse/power/measured: voltageV must be a number`,
    ];
    await untilReal(() => expected.every((l) => t.run.logs.includes(l)));
    expect(t.run.logs).toEqual(expect.arrayContaining(expected));
    // The station goes on as before.
    expect(await t.fine(() => phaseOf(t.run, 'EVSE') === 'charging')).toBe(true);
  });

  it('parses measurements strictly', () => {
    expect(parseMeasurement('{"voltageV":400,"currentA":12.5,"isolation":"valid"}')).toEqual({ voltageV: 400, currentA: 12.5, isolation: 'valid' });
    expect(parseMeasurement('{"voltageV":0,"currentA":0,"fault":"overtemperature"}')).toEqual({ voltageV: 0, currentA: 0, fault: 'overtemperature' });
    expect(parseMeasurement('[1,2]')).toBe('not a JSON object');
    expect(parseMeasurement('{"voltageV":1,"currentA":1,"isolation":"ok"}')).toBe('isolation must be one of invalid, valid, warning, fault');
  });
});
