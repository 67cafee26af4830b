/**
 * The Python reference's own layouts (Sevenstax/FreeV2G config_evse.json / config_ev.json of the
 * certificate era, ev.json of master) load unchanged and mean what they mean there. The fixtures
 * are ours, written in those layouts with values unlike any default, so each mapping shows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeConfig, configErrorOf } from '../helpers/config.js';
import { configOption, loadStation, loadStations } from '../../app/config.js';
import { toEvConfig, toEvseConfig } from '../../app/station-config.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'config');
const fixture = (name: string): string => join(FIXTURES, name);
const env = {};

describe('the reference certificate-era EVSE file (flat evse, charger, schedule, certs_folder)', () => {
  it('is recognised by its shape and maps IDs, lists, charger limits, schedule and certs folder', () => {
    const [s, ...more] = loadStations(fixture('reference-evse-certificate-era.json'), { env });
    expect(more).toHaveLength(0);
    expect(s?.role).toBe('EVSE');
    expect(s?.mac).toBe('00:01:01:63:77:44');
    expect(s?.evse).toMatchObject({
      evseIdDin: '+49*810*000*001',
      evseIdIso: 'DE*FV2*E0001*01',
      protocols: [1],
      paymentMethods: [0, 1],
      energyTransferModes: [4, 5],
      certificateInstallationSupport: true,
      certificateUpdateSupport: false,
      certsFolder: 'pki/evse',
      charger: { minVoltageV: 150, minCurrentA: 1, maxVoltageV: 500, maxCurrentA: 32, maxPowerW: 22000, deltaVoltageV: 1.5, deltaCurrentA: 0.25 },
      scheduleCode: 0,
      schedule: [
        {
          scheduleTupleId: 7,
          entries: [
            { startS: 0, intervalS: 600, powerW: 22000 },
            { startS: 600, intervalS: 3000, powerW: 11000 },
          ],
        },
      ],
    });
    // ...and reaches the station machine's config.
    const c = toEvseConfig(s?.evse ?? expect.fail('no evse'), false);
    expect(c).toMatchObject({ evseId: 'DE*FV2*E0001*01', evseIdDin: '+49*810*000*001', energyTransferModes: [4, 5], charger: { maxPowerW: 22000, voltageRampVPerMs: 1.5 } });
  });

  it('keys the file leaves out keep the defaults, as Evse.load() leaves them', () => {
    const s = loadStation(writeConfig({ charger: { max_power: 11000 } }), 'EVSE', { env });
    expect(s.evse?.charger.maxPowerW).toBe(11000);
    expect(s.evse?.charger.maxVoltageV).toBe(400);
    expect(s.evse?.evseIdDin).toBe('+49*123*456*789');
  });

  it('an error names the file, the reference key and the expected value', () => {
    const file = writeConfig({ evse: { evse_id_DIN: 'x', protocol: [7] } });
    expect(configErrorOf(() => loadStations(file, { env }))).toMatch(new RegExp(`^${file}: evse\\.protocol\\.0: expected <= 1, got 7$`));
    expect(configErrorOf(() => loadStations(writeConfig({ evse: { evse_id_DIN: 'x', colour: 'red' } }), { env }))).toMatch(/: evse: unknown key "colour"$/);
    expect(configErrorOf(() => loadStations(writeConfig({ charger: { max_power: 1e300 } }), { env }))).toMatch(/: charger\.max_power: expected a value the module can encode/);
  });
});

describe('the reference EV files (config_ev.json and ev.json: ev with evid, counts; battery)', () => {
  it('config_ev.json (no counts) maps the EVCC ID, lists and every battery value', () => {
    const s = loadStation(fixture('reference-ev-certificate-era.json'), 'EV', { env });
    expect(s.mac).toBe('00:01:01:63:77:45');
    expect(s.ev).toMatchObject({
      evccId: '02:11:22:33:44:55',
      protocols: [0],
      paymentMethods: [0],
      energyTransferModes: [0, 2],
      targetSocPercent: 90,
      battery: {
        timestepMs: 500,
        capacityWh: 60000,
        levelWh: 30000,
        fullSocPercent: 90,
        bulkSocPercent: 70,
        maxCurrentA: 120,
        maxPowerW: 45000,
        maxVoltageV: 410,
        targetCurrentA: 80,
        targetVoltageV: 380,
        targetVoltageDeltaV: 5,
      },
    });
  });

  it('ev.json (protocol_count...) maps the same way, AC limits included', () => {
    const s = loadStation(fixture('reference-ev.json'), 'EV', { env });
    expect(s.ev).toMatchObject({
      evccId: '02:aa:bb:cc:dd:ee',
      protocols: [0, 1],
      energyTransferModes: [5],
      battery: { timestepMs: 2000, capacityWh: 75000, levelWh: 15000, bulkSocPercent: 85, maxCurrentAcA: 16, maxVoltageAcV: 230, minCurrentAcA: 6 },
    });
    expect(toEvConfig(s.ev ?? expect.fail('no ev')).battery.capacityWh).toBe(75000);
  });

  it('a count that differs from its list is refused as Whitebeet.v2gEvSetConfiguration refuses it', () => {
    const file = writeConfig({ ev: { evid: '02:00:00:00:00:01', protocol_count: 2, protocols: [1] } });
    expect(configErrorOf(() => loadStations(file, { env }))).toBe(`${file}: ev.protocol_count: expected the length of "protocols" (1), got 2`);
  });

  it('battery_capacity sets the capacity; a different battery.capacity beside it is refused', () => {
    expect(loadStation(writeConfig({ ev: { battery_capacity: 42000 } }), 'EV', { env }).ev?.battery.capacityWh).toBe(42000);
    const file = writeConfig({ ev: { battery_capacity: 42000 }, battery: { capacity: 50000 } });
    expect(configErrorOf(() => loadStations(file, { env }))).toMatch(/: ev\.battery_capacity: expected the same value as battery\.capacity \(50000\), got 42000$/);
  });
});

describe('our layout stays the documented one', () => {
  it('a file with "configuration" sections is ours, and reference keys inside it are unknown', () => {
    const file = writeConfig({ evse: { configuration: { id_din: 'x', id_iso: 'y', protocol: ['iso'], payment_method: ['eim'], energy_transfer_mode: ['dc_core'] }, evse_id_DIN: 'z' } });
    expect(configErrorOf(() => loadStations(file, { env }))).toMatch(/: evse: unknown key "evse_id_DIN"$/);
  });
});

describe('-c without a file name (the reference: argparse const "./ev.json", before that "./config.json")', () => {
  it('takes ./ev.json (EV) or ./config.json from the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'freev2g-cwd-'));
    writeFileSync(join(dir, 'config.json'), '{}');
    const notes: string[] = [];
    expect(configOption(true, 'EVSE', (t) => notes.push(t), dir)).toBe(join(dir, 'config.json'));
    expect(configOption(true, 'EV', (t) => notes.push(t), dir)).toBe(join(dir, 'config.json'));
    writeFileSync(join(dir, 'ev.json'), '{}');
    expect(configOption(true, 'EV', (t) => notes.push(t), dir)).toBe(join(dir, 'ev.json'));
    expect(notes).toEqual([]);
  });

  it('without that file says so and uses the defaults, as the reference does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'freev2g-cwd-'));
    const notes: string[] = [];
    expect(configOption(true, 'EV', (t) => notes.push(t), dir)).toBeUndefined();
    expect(notes).toEqual(['Configuration file ./ev.json not found. Use default configuration.']);
    expect(configOption('mine.json', 'EV', (t) => notes.push(t), dir)).toBe('mine.json');
  });
});
