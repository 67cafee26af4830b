/** The app's file formats: pcap captures, session records, configuration, decode lines. */
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRequest, CertificateManager, ControlPilot } from '../../codec/catalog.js';
import { hexToBytes, parseFrame } from '../../codec/frame.js';
import { PcapWriter, maskSecrets, parseMac, readPcap, unwrapEthernet, wrapEthernet } from '../../app/capture.js';
import { decodeHexText, decodePcapFile } from '../../app/commands/decode.js';
import { ConfigError, loadStation, loadStations } from '../../app/config.js';
import { appendRecord, readRecords } from '../../app/records.js';
import { policyDecision, promptAuthorization } from '../../app/authorize.js';
import { statusText } from '../../app/output/reporter.js';
import { VirtualClock } from '../../util/clock.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'freev2g-app-'));
const HOST = parseMac('02:00:00:00:00:01');
const MODULE = parseMac('00:01:01:63:77:33');

describe('pcap capture', () => {
  it('writes Ethernet frames with ethertype 0x6003 and the control header, read back in order', () => {
    const file = join(tmp(), 'c.pcap');
    const w = new PcapWriter(file);
    const req = hexToBytes('C0 29 40 00 00 01 01 00 C1');
    const res = hexToBytes('C0 29 40 00 00 01 00 00 C1');
    w.writeHci(1_700_000_000_123.456, HOST, MODULE, req);
    w.writeHci(1_700_000_000_124, MODULE, HOST, res);
    w.close();
    const { linkType, records } = readPcap(file);
    expect(linkType).toBe(1);
    expect(records).toHaveLength(2);
    expect(records[0]?.atMs).toBeCloseTo(1_700_000_000_123.456, 3);
    const eth = unwrapEthernet(records[0]?.data ?? new Uint8Array());
    expect(eth).toMatchObject({ src: '02:00:00:00:00:01', dst: '00:01:01:63:77:33' });
    expect([...(eth?.hci ?? [])]).toEqual([...req]);
    const raw = readFileSync(file);
    expect(raw.readUInt32LE(0)).toBe(0xa1b2c3d4);
    // Ethernet type and control header (9.1.1, 9.1.2) of the first record.
    expect([...raw.subarray(24 + 16 + 12, 24 + 16 + 18)]).toEqual([0x60, 0x03, 0x00, 0x04, 0x00, req.length]);
  });

  it('decode --pcap tells requests from responses and status messages', () => {
    const file = join(tmp(), 'd.pcap');
    const w = new PcapWriter(file);
    w.writeHci(1000, HOST, MODULE, encodeRequest(ControlPilot.SetMode, 3, { mode: 1 }));
    w.writeHci(1001, MODULE, HOST, hexToBytes('C0 29 40 03 00 01 00 00 C1'));
    w.writeHci(1002, MODULE, HOST, hexToBytes('C0 29 81 FF 00 01 01 00 C1'));
    w.close();
    const lines = decodePcapFile(file);
    expect(lines.map((l) => [l.message, l.direction])).toEqual([
      ['SetMode', 'request'],
      ['SetMode', 'response'],
      ['StateChanged', 'status'],
    ]);
    expect(lines[0]).toMatchObject({ modId: 0x29, subId: 0x40, reqId: 3, module: 'ControlPilot', fields: { mode: 1 }, src: '02:00:00:00:00:01' });
  });

  it('masks private key bytes of Add Key and keeps the frame decodable', () => {
    const key = new Uint8Array(40).fill(0xab);
    const frame = encodeRequest(CertificateManager.OwnCertificatesAddKey, 0, { ownCertificateStore: 0, entry: 0, data: key });
    const masked = maskSecrets(frame);
    expect(Buffer.from(masked).includes(Buffer.from(key.subarray(0, 8)))).toBe(false);
    expect(masked.length).toBe(frame.length);
    const parsed = parseFrame(masked);
    expect('frame' in parsed).toBe(true);
    const eth = unwrapEthernet(wrapEthernet(MODULE, HOST, masked));
    expect(eth?.hci.length).toBe(frame.length);
  });
});

describe('decode', () => {
  it('decodes manual example frames, several per text, and names errors', () => {
    const lines = decodeHexText('C0 29 40 00 00 01 01 14 C1  c0 29 81 ff 00 01 02 00 c1');
    expect(lines[1]).toMatchObject({ module: 'ControlPilot', message: 'StateChanged', direction: 'status', fields: { state: 2 } });
    expect(lines[0]?.error?.kind).toBe('checksum');
    expect(lines).toHaveLength(2);
  });

  it('--names adds enumeration values and result codes by name', () => {
    const [state, answer] = decodeHexText('C0 29 81 FF 00 01 02 00 C1\nC0 27 AE 01 00 01 11 00 C1', { names: true });
    expect(state).toMatchObject({ fields: { state: 2 }, names: { state: 'C' } });
    expect(answer).toMatchObject({ message: 'EvStopSession', direction: 'response', fields: { code: 0x11 }, names: { code: 'wrongState' } });
  });
});

describe('session records', () => {
  it('appends one JSON line per record and survives a torn last line', () => {
    const file = join(tmp(), 'r.jsonl');
    appendRecord(file, { n: 1 });
    appendFileSync(file, '{"n": 2, "torn'); // a crash in the middle of a write
    appendRecord(file, { n: 3, bytes: new Uint8Array([1, 2]) });
    expect(readRecords(file)).toEqual([{ n: 1 }, { n: 3, bytes: '0102' }]);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('{"n":1}');
  });
});

describe('configuration', () => {
  it('reads the defaults of each role in our units', () => {
    const evse = loadStation(undefined, 'EVSE', { env: {} });
    expect(evse).toMatchObject({ role: 'EVSE', mac: '00:01:01:63:77:33' });
    expect(evse.evse?.charger).toMatchObject({ maxVoltageV: 400, maxPowerW: 25000, deltaVoltageV: 0.5 });
    expect(evse.evse?.schedule[0]?.entries[1]).toEqual({ startS: 1800, intervalS: 1800, powerW: 18750 });
    const ev = loadStation(undefined, 'EV', { env: {} });
    expect(ev.mac).toBe('00:01:01:63:77:33'); // -m default, as the reference
    expect(ev.ev?.battery).toMatchObject({ capacityWh: 50000, targetVoltageV: 200, maxCurrentAcA: 150 });
  });

  it('reads the reference config_evse.json layout, names as strings', () => {
    const dir = tmp();
    const file = join(dir, 'config_evse.json');
    writeFileSync(
      file,
      JSON.stringify({
        mac: '00:01:01:63:77:40',
        interface: { type: 'eth', name: 'eth-wb1-evse' },
        portmirror: true,
        evse: { configuration: { id_din: '+49*1', id_iso: 'DE*1', protocol: ['iso'], payment_method: ['eim', 'pnc'], energy_transfer_mode: ['ac_three_phase'] } },
      }),
    );
    const s = loadStation(file, 'EVSE', { env: {} });
    expect(s).toMatchObject({ mac: '00:01:01:63:77:40', portMirror: true, interface: { name: 'eth-wb1-evse' } });
    expect(s.evse).toMatchObject({ protocols: [1], paymentMethods: [0, 1], energyTransferModes: [5], evseIdIso: 'DE*1' });
  });

  it('holds several modules in one file, one station each', () => {
    const file = join(tmp(), 'two.json');
    writeFileSync(
      file,
      JSON.stringify({
        stations: [
          { mac: '00:01:01:63:77:33', evse: {} },
          { mac: '00:01:01:63:77:31', ev: { target_soc: 90 } },
        ],
      }),
    );
    const list = loadStations(file, { env: {} });
    expect(list.map((s) => [s.role, s.mac])).toEqual([
      ['EVSE', '00:01:01:63:77:33'],
      ['EV', '00:01:01:63:77:31'],
    ]);
    expect(list[1]?.ev?.targetSocPercent).toBe(90);
  });

  it('takes overrides from the environment', () => {
    const s = loadStation(undefined, 'EVSE', {
      env: { FREEV2G_EVSE__CHARGER__MAX_POWER: '11000', FREEV2G_MAC: '00:01:01:63:77:50', FREEV2G_EV__TARGET_SOC: '50', FREEV2G_SOMETHING_ELSE: '1' },
    });
    expect(s.evse?.charger.maxPowerW).toBe(11000);
    expect(s.mac).toBe('00:01:01:63:77:50');
  });

  it('names file, key and expected value in errors', () => {
    const file = join(tmp(), 'bad.json');
    writeFileSync(file, JSON.stringify({ evse: { charger: { max_power: 'lots' } } }));
    expect(() => loadStation(file, 'EVSE', { env: {} })).toThrow(`${file}: evse.charger.max_power: expected number, got "lots"`);
    writeFileSync(file, JSON.stringify({ ev: { configuration: { protocol: ['iso', 'http'] } } }));
    expect(() => loadStation(file, 'EV', { env: {} })).toThrow(/ev\.configuration\.protocol\.1: expected one of/);
    writeFileSync(file, JSON.stringify({ evse: { charger: { max_powr: 1 } } }));
    expect(() => loadStation(file, 'EVSE', { env: {} })).toThrow(/evse\.charger: unknown key "max_powr"/);
    expect(() => loadStation(undefined, 'EVSE', { env: { FREEV2G_EVSE__CHARGER__MAX_VOLTAGE: '-5' } })).toThrow(
      'environment FREEV2G_EVSE__CHARGER__MAX_VOLTAGE: evse.charger.max_voltage: expected > 0, got -5',
    );
    writeFileSync(file, '{ "evse": ');
    expect(() => loadStation(file, 'EVSE', { env: {} })).toThrow(ConfigError);
  });
});

describe('authorization', () => {
  it('applies the policies', () => {
    expect(policyDecision({ policy: 'accept', allow: [] }, 'x')).toBe(true);
    expect(policyDecision({ policy: 'deny', allow: [] }, 'x')).toBe(false);
    expect(policyDecision({ policy: 'allowList', allow: ['00:01:01:63:77:31'] }, '000101637731')).toBe(true);
    expect(policyDecision({ policy: 'allowList', allow: ['00:01:01:63:77:31'] }, '000101637732')).toBe(false);
  });

  it('prompts with a countdown and honours the answer, or says no in time', async () => {
    const clock = new VirtualClock();
    const shown: Array<string | undefined> = [];
    let answer: (s: string) => void = () => undefined;
    const io = {
      show: (t: string | undefined) => shown.push(t),
      readLine: () => ({ answer: new Promise<string>((r) => (answer = r)), cancel: () => undefined }),
      log: () => undefined,
    };
    const yes = promptAuthorization({ evccId: '000101637731', timeoutMs: 60_000, clock, io });
    expect(shown[0]).toBe('Authorize the vehicle 000101637731? yes/no, 59s left: ');
    clock.advance(2000);
    expect(shown.at(-1)).toContain('57s left');
    answer('yes');
    await expect(yes).resolves.toBe(true);
    const late = promptAuthorization({ evccId: 'ab', timeoutMs: 10_000, clock, io });
    clock.advance(9000);
    await expect(late).resolves.toBe(false);
  });
});

describe('status line', () => {
  it('shows phase, V, A, kW, SOC, kWh, elapsed and progress', () => {
    const text = statusText(
      {
        phases: { EVSE: 'charging', EV: 'charging' },
        sample: { type: 'sample', station: 'EV', at: 0, voltageV: 380, currentA: 16, powerW: 6080, socPercent: 92, energyWh: 1230 },
        socStart: 90,
        now: 62_000,
      },
      0,
      95,
    );
    expect(text).toBe('EVSE charging, EV charging | 380.0 V 16.0 A 6.08 kW | SOC 92 % | 1.23 kWh | 01:02 | [#####-------] 40 %');
  });
});
