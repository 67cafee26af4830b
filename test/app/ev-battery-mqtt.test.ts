/**
 * `--ev-battery mqtt` against a real broker (Debian mosquitto): the EV station charges a small
 * fake BMS that answers over MQTT (commands in, status out every 20 ms of real time). The
 * stations run on the virtual clock, stepped finely with real time between steps so that the
 * BMS's reports land well inside the simulated silence bound.
 */
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { parseBatteryStatus } from '../../app/control/ev-battery-mqtt.js';
import type { EvBatteryCommand } from '../../machines/ev-battery.js';
import { phaseOf } from '../helpers/control-run.js';
import { mqttDeviceRig, untilReal } from '../helpers/mqtt-device.js';

const rig = mqttDeviceRig();

type BmsMode = 'ok' | 'silent' | 'fault';

/** The fake BMS: 90 % SOC, +0.1 % per report while charging; limits above the EV's configuration. */
async function fakeBms(prefix: string) {
  const client: MqttClient = await rig.broker.client();
  const bms = { commands: [] as EvBatteryCommand[], mode: 'ok' as BmsMode, socPercent: 90, charging: false };
  await client.subscribeAsync(`${prefix}/ev/battery/command`, { qos: 1 });
  client.on('message', (_topic, payload) => {
    const c = JSON.parse(payload.toString('utf8')) as EvBatteryCommand;
    bms.commands.push(c);
    bms.charging = c.charging;
  });
  const timer = setInterval(() => {
    if (bms.mode === 'silent') return;
    if (bms.charging) bms.socPercent = Math.min(100, bms.socPercent + 0.1);
    const status = { socPercent: bms.socPercent, maxVoltageV: 5000, maxCurrentA: 5000, maxPowerW: 5e6, contactorClosed: bms.charging, ...(bms.mode === 'fault' ? { fault: 'cell imbalance' } : {}) };
    client.publish(`${prefix}/ev/battery/status`, JSON.stringify(status), { qos: 0 });
  }, 20);
  rig.cleanups.push(async () => {
    clearInterval(timer);
    await client.endAsync();
  });
  return { bms, client };
}

async function start() {
  const t = await rig.start('EV', { evBattery: 'mqtt' }, fakeBms);
  return { ...t, ...t.device };
}

describe('EV battery over MQTT (mosquitto)', () => {
  it('charges the fake BMS: commands out, its SOC ends the charge, its high limits change nothing', async () => {
    const t = await start();
    const evseRecords = () => t.run.emitted.EVSE.flatMap((e) => (e.type === 'sessionEnded' ? [e.record] : []));
    expect(await t.fine(() => t.records().length >= 1 && evseRecords().length >= 1)).toBe(true);
    const [rec] = t.records();
    expect(rec?.stopReason).toBe('targetSocReached');
    expect(rec?.socEndPercent).toBeGreaterThanOrEqual(95);
    expect(t.bms.commands.some((c) => c.charging && c.voltageV > 0 && c.currentA > 0)).toBe(true);
    // The contactor opens: the last command (through the broker, in real time) says so.
    await untilReal(() => t.bms.commands.at(-1)?.charging === false);
    expect(t.bms.commands.at(-1)).toMatchObject({ charging: false });
    // The BMS's 5000 A changed nothing: the current stayed within the configured 100 A.
    expect(evseRecords()[0]?.peakCurrentA).toBeLessThanOrEqual(100);
    expect(t.logs()).toContain('Battery ok');
  });

  it('a BMS that falls silent while charging stops the session (Stop Charging): batteryNotResponding', async () => {
    const t = await start();
    expect(await t.fine(() => phaseOf(t.run, 'EV') === 'charging')).toBe(true);
    t.bms.mode = 'silent';
    expect(await t.fine(() => t.records().length >= 1, 60_000)).toBe(true);
    expect(t.records()[0]?.stopReason).toBe('batteryNotResponding');
    expect(t.logs().some((l) => l.startsWith('Battery fault (batteryNotResponding'))).toBe(true);
  });

  it('a fault reported by the BMS stops the session: batteryFault', async () => {
    const t = await start();
    expect(await t.fine(() => phaseOf(t.run, 'EV') === 'charging')).toBe(true);
    t.bms.mode = 'fault';
    expect(await t.fine(() => t.records().length >= 1, 60_000)).toBe(true);
    expect(t.records()[0]?.stopReason).toBe('batteryFault');
    expect(t.logs()).toContain('Battery fault (batteryFault: cell imbalance): requesting 0 A, no charging until it reports ok');
  });

  it('a status that is not one is logged in one line and ignored', async () => {
    const t = await start();
    await t.client.publishAsync(`${t.prefix}/ev/battery/status`, 'not json', { qos: 1 });
    await t.client.publishAsync(`${t.prefix}/ev/battery/status`, '{"socPercent":120}', { qos: 1 });
    const expected = [
      `EV battery (MQTT): ignoring a status on ${t.prefix}/ev/battery/status: not JSON`,
      `EV battery (MQTT): ignoring a status on ${t.prefix}/ev/battery/status: socPercent must be a number from 0 to 100`,
    ];
    await untilReal(() => expected.every((l) => t.run.logs.includes(l)));
    expect(t.run.logs).toEqual(expect.arrayContaining(expected));
    expect(await t.fine(() => phaseOf(t.run, 'EV') === 'charging')).toBe(true);
  });

  it('parses status reports strictly', () => {
    expect(parseBatteryStatus('{"socPercent":55.5,"maxCurrentA":120,"contactorClosed":true}')).toEqual({ socPercent: 55.5, maxCurrentA: 120, contactorClosed: true });
    expect(parseBatteryStatus('{"socPercent":10,"fault":"overtemperature"}')).toEqual({ socPercent: 10, fault: 'overtemperature' });
    expect(parseBatteryStatus('[1]')).toBe('not a JSON object');
    expect(parseBatteryStatus('{"socPercent":50,"maxPowerW":"lots"}')).toBe('maxPowerW must be a number');
    expect(parseBatteryStatus('{"socPercent":50,"contactorClosed":"yes"}')).toBe('contactorClosed must be true or false');
  });
});
