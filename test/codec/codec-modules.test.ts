/**
 * The non-V2G modules (manual 10.3, 11-14, 17, 19, 20): manual example frames decode to the named
 * message with the printed values and re-encode byte for byte; where the manual prints a frame
 * wrongly (docs/codec-notes.md, "Manual errata"), the corrected frame does. Malformed payloads
 * give typed errors naming the field.
 */
import { describe, expect, it } from 'vitest';
import {
  CertificateManager,
  FirmwareUpdate,
  Framing,
  FramingError,
  Gpio,
  Plc,
  System,
  Time,
  decodeMessage,
  encodeRequest,
  encodeResponseFrame,
  encodeStatusFrame,
  lookup,
  reencode,
  type DecodedMessage,
  type MessageError,
} from '../../codec/catalog.js';
import { bytesToHex, hexToBytes, parseFrame } from '../../codec/frame.js';
import { EncodeError, type ResponseOf, resultCodeName } from '../../codec/message.js';
import { filenameText, paddedFilename } from '../../codec/modules/certificate-manager.js';

type Way = 'toModule' | 'toHost' | 'status';

/** Hex with "quoted text" spliced in as ASCII bytes (the manual prints paths and names as text). */
function bytesOf(hex: string): Uint8Array {
  const expanded = hex.replace(/"([^"]*)"/g, (_, s: string) => [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' '));
  return hexToBytes(expanded);
}

function decode(hex: string, way: Way): { ok: true; message: DecodedMessage } | { ok: false; error: MessageError } {
  const parsed = parseFrame(bytesOf(hex));
  if (!('frame' in parsed)) throw new Error(`not a frame: ${parsed.error.detail}`);
  return decodeMessage(parsed.frame, { direction: way === 'status' ? undefined : way, rawExponentials: true });
}

/** Decodes, checks module/message, re-encodes (checksum kept as printed: 00 = not computed). */
function roundTrip(hex: string, way: Way, module: string, message: string): Record<string, unknown> {
  const bytes = bytesOf(hex);
  const r = decode(hex, way);
  if (!r.ok) throw new Error(`decode failed: ${JSON.stringify(r.error)}`);
  expect(`${r.message.module}.${r.message.message}`).toBe(`${module}.${message}`);
  expect(r.message.direction).toBe(way === 'toModule' ? 'request' : way === 'toHost' ? 'response' : 'status');
  const again = reencode(r.message, { checksum: bytes[bytes.length - 2] !== 0 });
  expect(bytesToHex(again, ' ')).toBe(bytesToHex(bytes, ' '));
  return r.message.fields;
}

function failure(hex: string, way: Way): MessageError {
  const r = decode(hex, way);
  if (r.ok) throw new Error(`expected a decode error, got ${JSON.stringify(r.message.fields)}`);
  return r.error;
}

const b = (hex: string): Uint8Array => hexToBytes(hex);

/** The EncodeError a host-side encode throws (a value that does not fit its field). */
function encodeErrorOf(encode: () => unknown): EncodeError {
  try {
    encode();
  } catch (e) {
    if (e instanceof EncodeError) return e;
    throw e;
  }
  throw new Error('expected an EncodeError');
}

describe('Framing module (10.3)', () => {
  it('Ping carries arbitrary data; PingReply returns it on Sub-ID 0x01 with the ping request ID', () => {
    const ping = encodeRequest(Framing.Ping, 0x21, { data: b('de ad be ef') });
    expect(roundTrip(bytesToHex(ping), 'toModule', 'Framing', 'Ping')).toEqual({ data: b('deadbeef') });
    const reply = encodeStatusFrame(Framing.PingReply, { data: b('de ad be ef') }, 0x21);
    expect(bytesToHex(reply, ' ')).toMatch(/^c0 0e 01 21 00 04 de ad be ef/);
    const r = decode(bytesToHex(reply), 'status');
    expect(r).toMatchObject({ ok: true, message: { message: 'PingReply', reqId: 0x21, fields: { data: b('deadbeef') } } });
  });

  it('an empty ping is valid', () => {
    expect(roundTrip('C0 0E 00 05 00 00 00 C1', 'toModule', 'Framing', 'Ping')).toEqual({ data: new Uint8Array() });
  });

  it('module 0xFF framing error frames decode by Sub-ID (10.3.1), payload kept opaque', () => {
    expect(roundTrip('C0 FF F2 FF 00 00 00 C1', 'status', 'FramingError', 'ChecksumError')).toEqual({ data: new Uint8Array() });
    expect(roundTrip('C0 FF F0 FF 00 00 00 C1', 'status', 'FramingError', 'RxTimeout')).toBeDefined();
    expect(roundTrip('C0 FF F4 FF 00 02 10 99 00 C1', 'status', 'FramingError', 'ModuleUnknown')).toEqual({ data: b('1099') });
    const names = [0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xfd].map((s) => lookup(0xff, s)?.name);
    expect(names).toEqual(['RxTimeout', 'MissingStartOfFrame', 'ChecksumError', 'MissingEndOfFrame', 'ModuleUnknown', 'FrameTooBig', 'ReservedF6', 'ReservedFD']);
    expect(Object.keys(FramingError)).toHaveLength(14);
    expect(lookup(0xff, 0xfe)).toBeUndefined();
  });
});

describe('System module (11)', () => {
  it('11.3.1 Get Version response', () => {
    expect(roundTrip('C0 10 40 01 00 09 00 07 31 2e 31 2e 30 2e 30 00 C1', 'toHost', 'System', 'GetVersion')).toEqual({ code: 0, version: '1.1.0.0' });
  });

  it('11.3.2 Get Firmware Version: result code, then a length-prefixed string', () => {
    expect(roundTrip('C0 10 41 02 00 09 00 07 31 2e 32 2e 30 2e 30 00 C1', 'toHost', 'System', 'GetFirmwareVersion')).toEqual({ code: 0, version: '1.2.0.0' });
    // Reference vector (systemGetVersion sends Sub-ID 0x41 with no payload).
    expect(bytesToHex(encodeRequest(System.GetFirmwareVersion, 5, {}))).toBe('c0104105000027c1');
  });

  it('11.3.3 Get MAC-Address: the example form (length byte 06) round-trips; six bare bytes (table form) also decode', () => {
    expect(roundTrip('C0 10 45 06 00 08 00 06 00 01 02 03 04 05 00 C1', 'toHost', 'System', 'GetMacAddress')).toEqual({ code: 0, mac: b('000102030405') });
    const bare = decode('C0 10 45 06 00 07 00 00 01 02 03 04 05 00 C1', 'toHost');
    expect(bare).toMatchObject({ ok: true, message: { fields: { code: 0, mac: b('000102030405') } } });
  });

  it('11.3.4 Set Serial Number request and 11.3.5 Get Serial Number response', () => {
    expect(roundTrip('C0 10 46 07 00 09 08 53 65 72 30 30 30 30 31 00 C1', 'toModule', 'System', 'SetSerialNumber')).toEqual({ serialNumber: 'Ser00001' });
    expect(roundTrip('C0 10 47 08 00 0A 00 08 53 65 72 30 30 30 30 31 00 C1', 'toHost', 'System', 'GetSerialNumber')).toEqual({ code: 0, serialNumber: 'Ser00001' });
  });

  it('11.3.8/11.3.9 save mode, 11.3.10 Save Configuration (corrected: no payload)', () => {
    expect(roundTrip('C0 10 4A 0B 00 01 01 00 C1', 'toModule', 'System', 'SetSaveMode')).toEqual({ mode: 1 });
    expect(roundTrip('C0 10 4B 0C 00 02 00 01 00 C1', 'toHost', 'System', 'GetSaveMode')).toEqual({ code: 0, mode: 1 });
    expect(roundTrip('C0 10 4C 0D 00 00 00 C1', 'toModule', 'System', 'SaveConfiguration')).toEqual({});
  });

  it('11.3.11 Get API Info, 11.3.12 Get Uptime, 11.3.13 Get Kernel Version (checksum 9D)', () => {
    expect(roundTrip('C0 10 57 18 00 0D 00 05 69 6f 74 2e 31 05 31 2e 30 2e 30 00 C1', 'toHost', 'System', 'GetApiInfo')).toEqual({
      code: 0,
      type: 'iot.1',
      version: '1.0.0',
    });
    expect(roundTrip('C0 10 58 19 00 05 00 00 00 00 0A 00 C1', 'toHost', 'System', 'GetUptime')).toEqual({ code: 0, uptimeS: 10 });
    expect(roundTrip('C0 10 59 1A 00 09 00 07 31 2E 30 2E 30 2E 30 9D C1', 'toHost', 'System', 'GetKernelVersion')).toEqual({ code: 0, version: '1.0.0.0' });
  });

  it('11.3.14 Get File Hash: request (printed without checksum and end marker) and response (checksum BD)', () => {
    const name = 'fs/cert/fwu/prot/9b5af1c195d5118b5da7b193e8a8348c0886289b.der';
    expect(roundTrip(`C0 10 5A FF 00 3E 3D "${name}" 00 C1`, 'toModule', 'System', 'GetFileHash')).toEqual({ filename: name });
    const hash = '32 DB 4C 70 EC 44 E3 2B FA BC 04 8F D4 6C 6E 37 8C BA C1 D2 5E 55 1B F2 F5 DD 97 48 09 D1 01 D2';
    expect(roundTrip(`C0 10 5A FF 00 25 00 00 00 03 EF ${hash} BD C1`, 'toHost', 'System', 'GetFileHash')).toEqual({
      code: 0,
      fileSizeBytes: 1007,
      sha256: b(hash),
    });
  });

  it('11.2 file not found (0x10) is a named module result code with no fields', () => {
    expect(roundTrip('C0 10 5A 03 00 01 10 00 C1', 'toHost', 'System', 'GetFileHash')).toEqual({ code: 0x10 });
    expect(resultCodeName('System', 0x10)).toBe('fileNotFound');
    expect(resultCodeName('System', 0x04)).toBe('malformedData');
  });

  it('malformed: short, extra byte, out-of-range enum, oversize string', () => {
    expect(failure('C0 10 58 19 00 04 00 00 00 0A 00 C1', 'toHost')).toMatchObject({ kind: 'short', message: 'System.GetUptime', field: 'uptimeS' });
    expect(failure('C0 10 4A 0B 00 02 01 00 00 C1', 'toModule')).toMatchObject({ kind: 'extra', message: 'System.SetSaveMode' });
    expect(failure('C0 10 4A 0B 00 01 02 00 C1', 'toModule')).toMatchObject({ kind: 'range', field: 'mode' });
    expect(encodeErrorOf(() => encodeRequest(System.SetSerialNumber, 1, { serialNumber: 'S'.repeat(16) }))).toMatchObject({
      messageName: 'System.SetSerialNumber',
      field: 'serialNumber',
    });
  });
});

describe('Time module (12)', () => {
  it('12.3.1 Set time and 12.3.2 Get time', () => {
    const at = { year: 2018, month: 7, day: 12, hour: 12, minute: 0, seconds: 0 };
    expect(roundTrip('C0 12 40 01 00 08 00 07 E2 07 0C 0C 00 00 00 C1', 'toModule', 'Time', 'SetTime')).toEqual({ type: 0, ...at });
    expect(roundTrip('C0 12 41 02 00 01 00 00 C1', 'toModule', 'Time', 'GetTime')).toEqual({ type: 0 });
    expect(roundTrip('C0 12 41 02 00 08 00 07 E2 07 0C 0C 00 00 00 C1', 'toHost', 'Time', 'GetTime')).toEqual({ code: 0, ...at });
  });

  it('12.2 no valid time (0x10), and calendar ranges', () => {
    expect(roundTrip('C0 12 41 02 00 01 10 00 C1', 'toHost', 'Time', 'GetTime')).toEqual({ code: 0x10 });
    expect(resultCodeName('Time', 0x10)).toBe('noValidTime');
    expect(failure('C0 12 40 01 00 08 00 07 E2 0D 0C 0C 00 00 00 C1', 'toModule')).toMatchObject({ kind: 'range', field: 'month' });
    expect(failure('C0 12 40 01 00 08 02 07 E2 07 0C 0C 00 00 00 C1', 'toModule')).toMatchObject({ kind: 'range', field: 'type' });
    expect(encodeErrorOf(() => encodeRequest(Time.SetTime, 1, { type: 0, year: 2026, month: 11, day: 26, hour: 24, minute: 0, seconds: 0 }))).toMatchObject({ field: 'hour' });
  });
});

describe('Network Configuration module (13)', () => {
  const ip = '52 60 2A BD B2 21 BC C9 DB 83 47 F2 69 93 42 4D';

  it('13.3.1 Set IPv6 Configuration (response checksum 35) and 13.3.2 Get IPv6 Configuration (request size corrected to 3)', () => {
    expect(roundTrip(`C0 05 42 00 00 12 01 01 ${ip} 00 C1`, 'toModule', 'NetworkConfiguration', 'SetIpv6Configuration')).toEqual({
      interface: 1,
      command: 1,
      ipAddress: b(ip),
    });
    expect(roundTrip('C0 05 42 00 00 01 00 35 C1', 'toHost', 'NetworkConfiguration', 'SetIpv6Configuration')).toEqual({ code: 0 });
    expect(roundTrip('C0 05 43 00 00 03 01 00 01 00 C1', 'toModule', 'NetworkConfiguration', 'GetIpv6Configuration')).toEqual({ interface: 1, index: 1 });
    expect(roundTrip(`C0 05 43 00 00 11 00 ${ip} 09 C1`, 'toHost', 'NetworkConfiguration', 'GetIpv6Configuration')).toEqual({ code: 0, ipv6Address: b(ip) });
  });

  it('13.3.3 Get Link Status, 13.3.4 Ping and 13.4.3 Echo Received (size corrected to 2, request ID of the ping)', () => {
    expect(roundTrip('C0 05 4A 0B 00 02 00 01 00 C1', 'toHost', 'NetworkConfiguration', 'GetLinkStatus')).toEqual({ code: 0, linkStatus: true });
    expect(roundTrip('C0 05 4B 0C 00 05 01 C0 A8 64 17 00 C1', 'toModule', 'NetworkConfiguration', 'Ping')).toEqual({ interface: 1, ipAddress: b('c0a86417') });
    expect(roundTrip('C0 05 82 0C 00 02 00 2A 00 C1', 'status', 'NetworkConfiguration', 'EchoReceived')).toEqual({ rttMs: 42 });
    expect(roundTrip('C0 05 83 0C 00 00 00 C1', 'status', 'NetworkConfiguration', 'PingFailed')).toEqual({});
  });

  it('13.3.7 Get Interface Info: records repeat to the end; checksum 31 holds once the stray "captive mode" byte is dropped', () => {
    const hex = 'C0 05 50 00 00 1A 00 00 01 04 65 74 68 30 00 01 01 04 65 74 68 31 00 02 01 05 77 6C 61 6E 30 00 31 C1';
    expect(roundTrip(hex, 'toHost', 'NetworkConfiguration', 'GetInterfaceInfo')).toEqual({
      code: 0,
      interfaces: [
        { index: 0, type: 1, name: 'eth0', mode: 0 },
        { index: 1, type: 1, name: 'eth1', mode: 0 },
        { index: 2, type: 1, name: 'wlan0', mode: 0 },
      ],
    });
  });

  it('13.3.9 Get Interface State response (checksum 23) and 13.3.8 Set Interface State', () => {
    expect(roundTrip('C0 05 52 00 00 02 00 01 23 C1', 'toHost', 'NetworkConfiguration', 'GetInterfaceState')).toEqual({ code: 0, state: 1 });
    expect(roundTrip('C0 05 51 00 00 02 01 01 00 C1', 'toModule', 'NetworkConfiguration', 'SetInterfaceState')).toEqual({ index: 1, state: 1 });
  });

  it('13.3.12 port mirror names are length-prefixed (the printed example, without length bytes, is rejected)', () => {
    expect(roundTrip('C0 05 57 00 00 0A 04 "eth0" 04 "eth1" 00 C1', 'toModule', 'NetworkConfiguration', 'SetPortMirrorConfiguration')).toEqual({
      sniffingInterface: 'eth0',
      outInterface: 'eth1',
    });
    expect(failure('C0 05 57 00 00 08 65 74 68 30 65 74 68 31 00 C1', 'toModule')).toMatchObject({ kind: 'length', field: 'sniffingInterface' });
  });

  it('malformed: truncated IPv6 address, interface out of range', () => {
    expect(failure('C0 05 42 00 00 11 01 01 52 60 2A BD B2 21 BC C9 DB 83 47 F2 69 93 42 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'ipAddress' });
    expect(failure('C0 05 4A 0B 00 01 02 00 C1', 'toModule')).toMatchObject({ kind: 'range', field: 'interface' });
  });
});

describe('Firmware Update module (14)', () => {
  it('14.3.1 FWU Data Frame, 14.4.1 Get Status, 14.4.2 Set Mode (response size corrected to 3)', () => {
    expect(roundTrip('C0 11 04 00 00 0C 00 00 00 00 30 31 32 33 34 35 36 37 00 C1', 'toModule', 'FirmwareUpdate', 'FwuDataFrame')).toEqual({
      packetNumber: 0,
      data: b('3031323334353637'),
    });
    expect(roundTrip('C0 11 40 01 00 03 00 01 62 00 C1', 'toHost', 'FirmwareUpdate', 'GetStatus')).toEqual({ code: 0, status: 1, progressPercent: 98 });
    expect(roundTrip('C0 11 41 02 00 01 02 00 C1', 'toModule', 'FirmwareUpdate', 'SetMode')).toEqual({ mode: 2 });
    expect(roundTrip('C0 11 41 02 00 03 00 09 CF 00 C1', 'toHost', 'FirmwareUpdate', 'SetMode')).toEqual({ code: 0, rxBufferBytes: 0x09cf });
    expect(roundTrip('C0 11 41 02 00 01 00 00 C1', 'toHost', 'FirmwareUpdate', 'SetMode')).toEqual({ code: 0 });
  });

  it('14.5 status messages (Request Packets size corrected to 5)', () => {
    expect(roundTrip('C0 11 80 FF 00 00 00 C1', 'status', 'FirmwareUpdate', 'FirmwareUpdateReady')).toEqual({});
    expect(roundTrip('C0 11 81 FF 00 00 00 C1', 'status', 'FirmwareUpdate', 'Timeout')).toEqual({});
    expect(roundTrip('C0 11 82 FF 00 00 00 C1', 'status', 'FirmwareUpdate', 'Error')).toEqual({});
    expect(roundTrip('C0 11 83 FF 00 05 00 00 00 00 10 00 C1', 'status', 'FirmwareUpdate', 'RequestPackets')).toEqual({ requestType: 0, packetNumber: 16 });
  });

  it('malformed: progress over 100 %, a chunk over 2000 bytes', () => {
    expect(failure('C0 11 40 01 00 03 00 01 65 00 C1', 'toHost')).toMatchObject({ kind: 'range', field: 'progressPercent' });
    expect(encodeErrorOf(() => encodeRequest(FirmwareUpdate.FwuDataFrame, 1, { packetNumber: 1, data: new Uint8Array(2001) }))).toMatchObject({ field: 'data' });
  });
});

describe('PLC module (17)', () => {
  it('17.4.1 Join HPGP network, 17.4.2 Change PIB file, 17.4.3 Read from PIB file, 17.3.1 status', () => {
    const nmk = '00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F';
    expect(roundTrip(`C0 2A 40 00 00 17 01 02 03 04 05 06 07 ${nmk} 00 C1`, 'toModule', 'Plc', 'JoinHpgpNetwork')).toEqual({ nid: b('01020304050607'), nmk: b(nmk) });
    expect(roundTrip('C0 2A 41 01 00 0A 00 0C 00 06 C4 93 00 00 00 01 00 C1', 'toModule', 'Plc', 'ChangePibFile')).toEqual({ offset: 12, data: b('c49300000001') });
    expect(roundTrip('C0 2A 42 02 00 04 00 00 00 20 00 C1', 'toModule', 'Plc', 'ReadFromPibFile')).toEqual({ offset: 0, length: 32 });
    const pib = '00 00 00 00 00 00 00 00 00 00 00 00 C4 93 00 00 00 01 FF FF FF FF FF FF FF FF FF FF FF FF FF FF';
    expect(roundTrip(`C0 2A 42 02 00 21 00 ${pib} 00 C1`, 'toHost', 'Plc', 'ReadFromPibFile')).toEqual({ code: 0, data: b(pib) });
    expect(roundTrip('C0 2A 80 FF 00 01 01 00 C1', 'status', 'Plc', 'StatusForJoiningHpgpNetwork')).toEqual({ status: 1 });
  });

  it('malformed: short NMK, PIB length not matching its data, bad join status; a 6-byte NID is refused on encode', () => {
    expect(failure('C0 2A 40 00 00 16 01 02 03 04 05 06 07 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'nmk' });
    expect(failure('C0 2A 41 01 00 0A 00 0C 00 07 C4 93 00 00 00 01 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'data' });
    expect(failure('C0 2A 80 FF 00 01 02 00 C1', 'status')).toMatchObject({ kind: 'range', field: 'status' });
    expect(encodeErrorOf(() => encodeRequest(Plc.JoinHpgpNetwork, 1, { nid: new Uint8Array(6), nmk: new Uint8Array(16) }))).toMatchObject({ field: 'nid' });
  });
});

describe('GPIO module (19)', () => {
  it('19.2.1-19.2.4 (Get Mode/Get State sizes corrected)', () => {
    expect(roundTrip('C0 0F 40 01 00 02 14 00 00 C1', 'toModule', 'Gpio', 'SetMode')).toEqual({ gpio: 20, mode: 0 });
    expect(roundTrip('C0 0F 41 02 00 01 15 00 C1', 'toModule', 'Gpio', 'GetMode')).toEqual({ gpio: 21 });
    expect(roundTrip('C0 0F 41 02 00 02 00 01 00 C1', 'toHost', 'Gpio', 'GetMode')).toEqual({ code: 0, mode: 1 });
    expect(roundTrip('C0 0F 42 03 00 02 14 01 00 C1', 'toModule', 'Gpio', 'SetState')).toEqual({ gpio: 20, state: 1 });
    expect(roundTrip('C0 0F 43 04 00 01 14 00 C1', 'toModule', 'Gpio', 'GetState')).toEqual({ gpio: 20 });
    expect(roundTrip('C0 0F 43 04 00 02 00 01 00 C1', 'toHost', 'Gpio', 'GetState')).toEqual({ code: 0, state: 1 });
  });

  it('malformed: missing pin, mode 2', () => {
    expect(failure('C0 0F 41 02 00 00 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'gpio' });
    expect(failure('C0 0F 40 01 00 02 14 02 00 C1', 'toModule')).toMatchObject({ kind: 'range', field: 'mode' });
    expect(encodeErrorOf(() => encodeRequest(Gpio.SetState, 1, { gpio: 256, state: 0 }))).toMatchObject({ field: 'gpio' });
  });
});

describe('Certificate Manager module (20)', () => {
  const trustEntry =
    '"33ac881eaded537dc70bd2c8144187470c5ef72b" 80 04 33 AC 88 1E AD ED 53 7D C7 0B D2 C8 14 41 87 47 0C 5E F7 2B E3 E6 7A 03 B9 75 BC E3 01 00 00 00 ' +
    '00 00 00 00 5B 7A 9D 15 00 00 00 00 F6 67 8A 7F AB 98';
  const ownFilename = `30${' 00'.repeat(39)}`;
  const ownRest =
    '84 04 E0 A2 86 ED 99 9A F6 C2 92 16 08 B9 33 B5 5C C3 FF 31 E1 F2 F9 42 98 5C 81 84 39 97 B4 84 96 BE F5 13 13 6C 66 05 D2 D5' +
    ' 1C 12 3C DE 08 D2 9D 8E 23 2A B7 2D 85 91 F9 FF D9 E9 52 8D 82 38 7A F5 1C 12 3C DE 79 36 4F FE 00 00 00 11 03 01 00 00 07 00 00 00' +
    ' 00 00 00 00 61 E9 6E 73 00 00 00 00 62 38 88 73 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 27';
  const ownEntry = `${ownFilename} ${ownRest}`;

  it('20.2.1 Trust Store: Open (uint16-prefixed path; response checksum 0B)', () => {
    expect(roundTrip('C0 30 40 00 00 16 00 14 "fat/testdata/cert/ts" 00 C1', 'toModule', 'CertificateManager', 'TrustStoreOpen')).toEqual({ path: 'fat/testdata/cert/ts' });
    expect(roundTrip('C0 30 40 00 00 02 00 00 0B C1', 'toHost', 'CertificateManager', 'TrustStoreOpen')).toEqual({ code: 0, handle: 0 });
  });

  it('20.2.2 Trust Store: Get Certificate Info response (94 bytes)', () => {
    const f = roundTrip(`C0 30 41 00 00 5E 00 00 ${trustEntry} 00 C1`, 'toHost', 'CertificateManager', 'TrustStoreGetCertificateInfo');
    expect(f).toMatchObject({
      code: 0,
      entry: 0,
      info: {
        filename: '33ac881eaded537dc70bd2c8144187470c5ef72b',
        flags: 0x8004,
        certificateHash: b('33ac881eaded537dc70bd2c8144187470c5ef72b'),
        publicKeyAlgorithm: 1,
        notValidBefore: Date.parse('2018-08-20T10:51:01Z') / 1000,
        notValidAfter: Date.parse('2100-12-31T23:59:59Z') / 1000,
        checksum: 0xab98,
      },
    });
  });

  it('20.2.3 Get Next Entry: first entry, and the end of the index (entry 255 alone)', () => {
    expect(roundTrip('C0 30 42 00 00 02 00 FF 00 C1', 'toModule', 'CertificateManager', 'TrustStoreGetNextEntry')).toEqual({ trustStore: 0, entry: 255 });
    expect(roundTrip(`C0 30 42 00 00 5E 00 00 ${trustEntry} 00 C1`, 'toHost', 'CertificateManager', 'TrustStoreGetNextEntry')).toMatchObject({ entry: 0 });
    expect(roundTrip('C0 30 42 00 00 02 00 FF 00 C1', 'toHost', 'CertificateManager', 'TrustStoreGetNextEntry')).toEqual({ code: 0, entry: 255 });
  });

  it('20.2.4/20.2.5 add and remove a trust store certificate (checksums 09, 08)', () => {
    expect(roundTrip('C0 30 43 00 00 07 00 00 04 30 82 02 47 00 C1', 'toModule', 'CertificateManager', 'TrustStoreAddCertificate')).toEqual({
      trustStore: 0,
      data: b('30820247'),
    });
    expect(roundTrip('C0 30 43 00 00 01 00 09 C1', 'toHost', 'CertificateManager', 'TrustStoreAddCertificate')).toEqual({ code: 0 });
    expect(roundTrip('C0 30 44 00 00 02 00 01 00 C1', 'toModule', 'CertificateManager', 'TrustStoreRemoveCertificate')).toEqual({ trustStore: 0, entry: 1 });
    expect(roundTrip('C0 30 44 00 00 01 00 08 C1', 'toHost', 'CertificateManager', 'TrustStoreRemoveCertificate')).toEqual({ code: 0 });
  });

  it('20.2.6 Own Certificates: Open (size corrected: the 21-character path needs 00 15)', () => {
    expect(roundTrip('C0 30 60 00 00 17 00 15 "fat/testdata/cert/own" 00 C1', 'toModule', 'CertificateManager', 'OwnCertificatesOpen')).toEqual({
      path: 'fat/testdata/cert/own',
    });
  });

  it('20.2.7 Own Certificates: Get Certificate Info response (162 bytes, on its own Sub-ID 0x61)', () => {
    const f = roundTrip(`C0 30 61 00 00 A2 00 00 ${ownEntry} 00 C1`, 'toHost', 'CertificateManager', 'OwnCertificatesGetCertificateInfo');
    expect(f).toMatchObject({
      code: 0,
      entry: 0,
      info: {
        filename: paddedFilename('0'),
        flags: 0x8404,
        permittedKeyUsage: 0x11,
        publicKeyAlgorithm: 3,
        publicKeyParameters: b('010000'),
        signatureAlgorithm: 7,
        notValidBefore: Date.parse('2022-01-20T14:15:15Z') / 1000,
        notValidAfter: Date.parse('2022-03-21T14:15:15Z') / 1000,
        ocspThisUpdate: 0,
        ocspNextUpdate: 0,
        checksum: 0x0427,
      },
    });
    expect(filenameText((f.info as { filename: string }).filename)).toBe('0');
  });

  it('20.2.9-20.2.13 own certificate, key and OCSP commands (Add Certificate response size corrected to 2)', () => {
    expect(roundTrip('C0 30 63 00 00 02 00 00 00 C1', 'toHost', 'CertificateManager', 'OwnCertificatesAddCertificate')).toEqual({ code: 0, entry: 0 });
    expect(roundTrip('c0 30 65 00 00 08 00 00 00 04 30 77 02 01 00 C1', 'toModule', 'CertificateManager', 'OwnCertificatesAddKey')).toEqual({
      ownCertificateStore: 0,
      entry: 0,
      data: b('30770201'),
    });
    expect(roundTrip('C0 30 66 00 00 02 00 01 00 C1', 'toModule', 'CertificateManager', 'OwnCertificatesRemovePrivateKey')).toEqual({ ownCertificateStore: 0, entry: 1 });
    expect(roundTrip('C0 30 66 00 00 01 00 E5 C1', 'toHost', 'CertificateManager', 'OwnCertificatesRemovePrivateKey')).toEqual({ code: 0 });
    expect(roundTrip('c0 30 67 0b 00 08 00 00 00 04 30 82 03 79 00 C1', 'toModule', 'CertificateManager', 'OwnCertificatesAddOcspResponse')).toMatchObject({
      data: b('30820379'),
    });
  });

  it('20.3 status messages', () => {
    expect(roundTrip('C0 30 80 FF 00 01 00 00 C1', 'status', 'CertificateManager', 'TrustStoreIndexSynchronized')).toEqual({ trustStore: 0 });
    expect(roundTrip('C0 30 81 FF 00 03 00 02 08 00 C1', 'status', 'CertificateManager', 'TrustStoreCertificateStatus')).toEqual({ trustStore: 0, entry: 2, status: 8 });
    expect(roundTrip('C0 30 A0 FF 00 01 01 00 C1', 'status', 'CertificateManager', 'OwnCertificatesIndexSynchronized')).toEqual({ ownCertificateStore: 1 });
    expect(roundTrip('C0 30 A1 FF 00 03 00 00 01 00 C1', 'status', 'CertificateManager', 'OwnCertificatesCertificateStatus')).toEqual({
      ownCertificateStore: 0,
      entry: 0,
      status: 1,
    });
  });

  it('malformed: unknown certificate status, truncated entry, extra byte, empty DER data, unpadded file name', () => {
    expect(failure('C0 30 81 FF 00 03 00 02 09 00 C1', 'status')).toMatchObject({ kind: 'range', field: 'status' });
    expect(failure(`C0 30 61 00 00 A1 00 00 ${ownEntry.slice(0, -3)} 00 C1`, 'toHost')).toMatchObject({ kind: 'short', field: 'info.checksum' });
    expect(failure(`C0 30 61 00 00 A3 00 00 ${ownEntry} 00 00 C1`, 'toHost')).toMatchObject({ kind: 'extra' });
    expect(failure('C0 30 41 00 00 04 00 00 30 30 00 C1', 'toHost')).toMatchObject({ kind: 'short', field: 'info.filename' });
    expect(failure('C0 30 43 00 00 03 00 00 00 00 C1', 'toModule')).toMatchObject({ kind: 'length', field: 'data' });
    expect(encodeErrorOf(() => encodeRequest(CertificateManager.TrustStoreOpen, 0, { path: '' }))).toMatchObject({ field: 'path' });
    const def = CertificateManager.TrustStoreGetCertificateInfo;
    const good = roundTrip(`C0 30 41 00 00 5E 00 00 ${trustEntry} 00 C1`, 'toHost', 'CertificateManager', def.name) as ResponseOf<typeof def>;
    const unpadded = { entry: good.entry, info: { ...good.info, filename: '33ac' } };
    expect(encodeErrorOf(() => encodeResponseFrame(def, 0, 0, unpadded))).toMatchObject({ field: 'info.filename' });
    expect(bytesToHex(encodeResponseFrame(def, 0, 0, { ...unpadded, info: { ...good.info, filename: paddedFilename('33ac') } })).length).toBe(2 * (8 + 94));
  });
});

describe('manual frames printed wrongly fail the documented way (docs/codec-notes.md)', () => {
  const parses = (hex: string): string => {
    const p = parseFrame(bytesOf(hex));
    return 'frame' in p ? 'frame' : p.error.kind;
  };

  it('size fields that do not count the printed payload', () => {
    expect(parses('C0 10 4C 0D 00 01 00 C1')).toBe('lengthMismatch'); // 11.3.10
    expect(parses('C0 11 83 FF 00 00 00 00 00 00 10 00 C1')).toBe('lengthMismatch'); // 14.5.4
    // 13.3.7 with the stray "captive mode" byte: the size says 26, and its checksum only fits 26.
    expect(parses('C0 05 50 00 00 1A 00 00 01 04 65 74 68 30 00 01 01 04 65 74 68 31 00 02 01 05 77 6C 61 6E 30 00 01 31 C1')).toBe('lengthMismatch');
    expect(parses('C0 05 50 00 00 1B 00 00 01 04 65 74 68 30 00 01 01 04 65 74 68 31 00 02 01 05 77 6C 61 6E 30 00 01 31 C1')).toBe('checksum');
  });

  it('checksums copied from 20.2.5 into 20.2.12 and 20.2.13', () => {
    expect(parses('C0 30 66 00 00 01 00 08 C1')).toBe('checksum');
    expect(parses('c0 30 67 0b 00 01 00 08 C1')).toBe('checksum');
    expect(parses('c0 30 67 0b 00 01 00 D9 C1')).toBe('frame');
  });

  it('13.3.6 one-byte index, 13.3.9 missing index', () => {
    expect(failure('C0 05 4D 00 00 02 01 01 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'index' });
    expect(failure('C0 05 52 00 00 00 00 C1', 'toModule')).toMatchObject({ kind: 'short', field: 'index' });
  });

  it('20.2.6-20.2.8 responses printed with the wrong Sub-ID', () => {
    expect(decode('C0 30 40 00 00 02 00 00 00 C1', 'toHost')).toMatchObject({ ok: true, message: { message: 'TrustStoreOpen' } });
    const entry = `00 00 30${' 00'.repeat(39)}${' 00'.repeat(120)}`;
    expect(decode(`C0 30 62 04 00 A2 ${entry} 00 C1`, 'toHost')).toMatchObject({ ok: true, message: { message: 'OwnCertificatesGetNextEntry' } });
    expect(failure(`C0 30 63 04 00 A2 ${entry} 00 C1`, 'toHost')).toMatchObject({ kind: 'extra', message: 'CertificateManager.OwnCertificatesAddCertificate' });
  });
});
