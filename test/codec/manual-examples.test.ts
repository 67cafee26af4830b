/**
 * Every example frame printed in the manual (test/fixtures/manual-examples.json, made by
 * scripts/extract-manual-examples.ts) against the codec: a self-consistent frame must parse,
 * decode to the message of its section, and re-encode byte for byte. Frames the manual prints
 * wrongly are listed in KNOWN_ERRATA with the way they fail, and that failure is asserted, so the
 * list stays true (docs/manual-errata.md explains each one).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, reencode } from '../../codec/catalog.js';
import { bytesToHex, computeChecksum, hexToBytes, parseFrame } from '../../codec/frame.js';
import type { ModuleName } from '../../codec/message.js';
import type { ManualExample } from '../../scripts/extract-manual-examples.js';

const EXAMPLES: ManualExample[] = JSON.parse(readFileSync(new URL('../fixtures/manual-examples.json', import.meta.url), 'utf8'));

/** Manual chapter -> module (chapters 11-20). */
const MODULE_OF_CHAPTER: Record<string, ModuleName> = {
  '11': 'System',
  '12': 'Time',
  '13': 'NetworkConfiguration',
  '14': 'FirmwareUpdate',
  '15': 'ControlPilot',
  '16': 'Slac',
  '17': 'Plc',
  '18': 'V2g',
  '19': 'Gpio',
  '20': 'CertificateManager',
};

/** Sections whose module definitions exist; widened as the module files land. */
const CHECKED_SECTIONS = ['11.', '12.', '13.', '14.', '15.', '16.', '17.', '18.', '19.', '20.'];
const isChecked = (e: ManualExample): boolean => CHECKED_SECTIONS.some((p) => e.section.startsWith(p));

/**
 * Examples printed inside a section but defining a message of another one (a status message
 * shown with the command that triggers it). Key: `section/direction`.
 */
const DEFINED_IN: Record<string, string> = { '13.3.4/status': '13.4.3' };

/** How an example fails: which stage first rejects it. */
type Stage = 'length' | 'checksum' | 'decode' | 'section' | 'reencode';

interface Erratum {
  fails: Stage;
  reason: string;
  /** For 'decode': the field the decoder names (so the failure is the one described). */
  field?: string;
  /** When only the Sub-ID is misprinted: with this one the example must pass everything. */
  subId?: number;
  /** The example repaired as the reason says; the repaired frame must pass everything. */
  fix?: (bytes: number[]) => number[];
}

/** Repairs for `fix`, on the frame's bytes (checksums printed as 00 stay 00: not computed). */
const setSize =
  (n: number) =>
  (b: number[]): number[] => [...b.slice(0, 4), n >> 8, n & 0xff, ...b.slice(6)];
const splice =
  (at: number, remove: number, ...insert: number[]) =>
  (b: number[]): number[] => [...b.slice(0, at), ...insert, ...b.slice(at + remove)];
const both =
  (f: (b: number[]) => number[], g: (b: number[]) => number[]) =>
  (b: number[]): number[] =>
    g(f(b));
const zeroChecksum = (b: number[]): number[] => [...b.slice(0, -2), 0, 0xc1];

/** The manual's inconsistent examples, keyed `section/direction` (docs/manual-errata.md). */
const KNOWN_ERRATA: Record<string, Erratum> = {
  '11.3.10/request': {
    fix: setSize(0),
    fails: 'length',
    reason: 'Save Configuration: size field says 1 payload byte, none printed (the command has no parameters)',
  },
  '11.3.14/request': {
    fix: (b) => [...b, 0x00, 0xc1],
    fails: 'length',
    reason: 'Get File Hash: the frame stops after its 62 payload bytes (61-character name + length byte): no checksum, no C1',
  },
  '13.3.2/request': {
    fix: setSize(3),
    fails: 'length',
    reason: 'Get IPv6 Configuration: size field 1, three payload bytes printed (interface + 2-byte index)',
  },
  '13.3.4/status': { fix: setSize(2), fails: 'length', reason: 'Echo Received: size field 1, two payload bytes (RTT 00 2A) printed' },
  '13.3.7/response': {
    fix: splice(32, 1),
    fails: 'length',
    reason: 'Get Interface Info: size 0x1A (26) but 27 payload bytes printed: a stray "01 (Captive mode 1 active)" after the records (the printed checksum 0x31 is right without it)',
  },
  '13.3.6/request': {
    fails: 'decode',
    field: 'index',
    reason: 'Get IPv6 Router Configuration: the index is printed as 1 byte (size 2); the table says uint16',
  },
  '13.3.9/request': {
    fails: 'decode',
    field: 'index',
    reason: 'Get Interface State: no payload printed; the table has a uint8 interface index',
  },
  '13.3.12/request': {
    fails: 'decode',
    field: 'sniffingInterface',
    reason: 'Set Port Mirror Configuration: names printed without their length bytes ("eth0" "eth1"); the table says String[0...32]',
  },
  '13.3.13/response': {
    fails: 'decode',
    field: 'sniffingInterface',
    reason: 'Get Port Mirror Configuration response: names printed without their length bytes; the table says String[0...32]',
  },
  '14.4.2/response': {
    fix: setSize(3),
    fails: 'length',
    reason: 'FWU Set Mode response: size field 1, three bytes printed (code + 2-byte RX buffer space)',
  },
  '14.5.4/status': {
    fix: setSize(5),
    fails: 'length',
    reason: 'Request Packets: size field 0, five payload bytes printed (type + packet number)',
  },
  '16.4.7/request': { fix: setSize(58), fails: 'length', reason: 'Set AttnRx Values: size field 0, 58 payload bytes printed' },
  '16.4.8/response': { fix: setSize(59), fails: 'length', reason: 'Get AttnRx Values response: size field 1, 59 payload bytes printed' },
  '16.4.9/request': { fix: setSize(58), fails: 'length', reason: 'Set AttnTxRef Values: size field 0, 58 payload bytes printed' },
  '18.9.1/request': {
    fix: splice(19, 2, 0x00, 0x32, 0x03),
    fails: 'length',
    reason: 'EV Set Configuration: size 0x10 (16, comment says 18) but 15 payload bytes printed: battery capacity as 2 bytes C3 50, not the exponential 00 32 03',
  },
  '18.9.3/request': {
    fails: 'decode',
    field: 'departureTimeS',
    reason: 'EV Set DC Charging Parameters: departure time printed as 2 bytes (0E 10); the table says uint32',
  },
  '18.9.5/response': {
    fails: 'decode',
    field: 'departureTimeS',
    reason: 'EV Get DC Charging Parameters response: departure time printed as 2 bytes; the table says uint32',
  },
  '18.9.6/request': {
    fails: 'decode',
    field: 'departureTimeS',
    reason: 'EV Set AC Charging Parameters: departure time printed as 2 bytes; the table says uint32',
  },
  '18.9.8/response': {
    fails: 'decode',
    field: 'departureTimeS',
    reason: 'EV Get AC Charging Parameters response: departure time printed as 2 bytes; the table says uint32',
  },
  '18.9.9/request': {
    fails: 'decode',
    field: 'entries',
    reason: 'EV Set Charging Profile: schedule tuple ID printed as 1 byte; the table (and the reference) say sint16',
  },
  '18.9.15/request': {
    fails: 'section',
    reason: 'EV Stop Session: the example is a copy of Stop Charging (Sub-ID 0xAD, renegotiation byte); Stop Session is 0xAE',
  },
  '18.9.15/response': {
    fails: 'section',
    reason: 'EV Stop Session response: printed with Sub-ID 0xAD (Stop Charging); Stop Session is 0xAE',
  },
  '18.10.18/request': {
    fails: 'length',
    reason: 'Set Certificate Installation/Update Response: 4122 bytes of EXI elided ("10 1A 01 ... 01")',
  },
  '18.11.2/status': {
    fix: both(splice(31, 0, 0x00), setSize(37)),
    fails: 'length',
    reason: 'EV DC Charge Parameters Changed: size 0x19 (25) but 36 payload bytes printed, and no presence byte for the uint8[0-1] Isolation Status after Status',
  },
  '18.11.4/status': {
    fails: 'decode',
    field: 'scheduleTuples[0].entries',
    reason: 'EV Schedule Received: tuple ID and entry count printed as 1 byte each (and count 02 captioned "1 schedule tuple"); the table (and the reference) say sint16 and uint16',
  },
  '18.11.14/status': { fix: setSize(1), fails: 'length', reason: 'EV Session Error: size field 3, one payload byte printed' },
  '18.12.2/status': {
    fix: setSize(1),
    fails: 'length',
    reason: 'EVSE Payment Selected: size 0x2B (43, comment says 4), one payload byte printed',
  },
  '18.12.4/status': {
    fails: 'decode',
    field: 'maxVoltageV',
    reason: 'EVSE Energy Transfer Mode Selected: the example is a copy of Authorization Status Requested (a 4-byte timeout)',
  },
  '18.12.6/status': {
    fails: 'decode',
    field: 'ready',
    reason: 'EVSE DC Charge Parameters Changed: max power, full SOC and bulk SOC printed without the presence byte their [0-1] types (and the reference) have',
  },
  '18.12.15/status': { fails: 'length', reason: 'Certificate Installation Requested: 846 bytes of EXI elided ("03 4E 01 ... 48")' },
  '18.12.16/status': { fails: 'length', reason: 'Certificate Update Requested: 3846 bytes of EXI elided ("0F 06 01 ... 48")' },
  '18.12.17/status': {
    fails: 'decode',
    field: 'timeoutMs',
    subId: 0x91,
    reason: 'EVSE Metering Receipt Status: printed with Sub-ID 0x90, which is Certificate Update Requested; the Sub-ID list and the reference use 0x91',
  },
  '19.2.2/request': { fix: setSize(1), fails: 'length', reason: 'Get GPIO Mode: size field 0, one payload byte (pin 21) printed' },
  '19.2.4/request': { fix: setSize(1), fails: 'length', reason: 'Get GPIO State: size field 0, one payload byte (pin 20) printed' },
  '19.2.4/response': {
    fix: setSize(2),
    fails: 'length',
    reason: 'Get GPIO State response: size 0x0A (10, comment says 2), two payload bytes printed',
  },
  '20.2.1/request': { fails: 'length', reason: 'Trust Store Open: the path is printed as text ("fat/testdata/cert/ts"), not as bytes' },
  '20.2.2/response': {
    fails: 'length',
    reason: 'Trust Store Get Certificate Info response: file name printed as a quoted string, not as bytes',
  },
  '20.2.3/response': { fails: 'length', reason: 'Trust Store Get Next Entry response: file name printed as a quoted string, not as bytes' },
  '20.2.4/request': { fails: 'length', reason: 'Trust Store Add Certificate: 587-byte certificate elided ("30 82 02 47 ...")' },
  '20.2.6/request': {
    fails: 'length',
    reason: 'Own Certificates Open: the path is printed as text ("fat/testdata/cert/own"), not as bytes',
  },
  '20.2.6/response': {
    fails: 'section',
    subId: 0x60,
    reason: 'Own Certificates Open response: printed with Sub-ID 0x40 (Trust Store Open); the command is 0x60',
  },
  '20.2.7/response': {
    fails: 'section',
    subId: 0x61,
    reason: 'Own Certificates Get Certificate Info response: printed with Sub-ID 0x62 (Get Next Entry) and request ID 4; the request is 0x61 with ID 0',
  },
  '20.2.8/response': {
    fails: 'decode',
    field: '(end)',
    subId: 0x62,
    reason: 'Own Certificates Get Next Entry response: printed with Sub-ID 0x63 (Add Certificate, a bare result code) and request ID 4; the request is 0x62',
  },
  '20.2.9/request': { fails: 'length', reason: 'Own Certificates Add Certificate: 587-byte certificate elided ("30 82 02 47 ...")' },
  '20.2.9/response': {
    fix: setSize(2),
    fails: 'length',
    reason: 'Own Certificates Add Certificate response: size field 1, two payload bytes printed',
  },
  '20.2.12/response': {
    fix: zeroChecksum,
    fails: 'checksum',
    reason: 'Own Certificates Remove Private Key response: checksum printed 0x08, computed 0xE5',
  },
};

const keyOf = (e: ManualExample): string => `${e.section}/${e.direction}`;

type Outcome = { ok: true } | { ok: false; stage: Stage; detail: string; field?: string };

/** The example with another Sub-ID (checksum recomputed when the manual printed one). */
function withSubId(e: ManualExample, subId: number): ManualExample {
  const bytes = hexToBytes(e.hex);
  bytes[2] = subId;
  const ck = bytes.length - 2;
  if (bytes[ck] !== 0) bytes[ck] = computeChecksum(bytes, 0, bytes.length, ck);
  return { ...e, hex: bytesToHex(bytes, ' ') };
}

/** Runs one example through frame parsing, decoding and re-encoding; the first failure wins. */
function check(e: ManualExample): Outcome {
  const bytes = hexToBytes(e.hex);
  const parsed = parseFrame(bytes);
  if ('error' in parsed) {
    const stage: Stage = parsed.error.kind === 'checksum' ? 'checksum' : 'length';
    return { ok: false, stage, detail: `${parsed.error.kind}: ${parsed.error.detail}` };
  }
  const { frame } = parsed;
  const decoded = decodeMessage(frame, { direction: e.direction === 'request' ? 'toModule' : 'toHost', rawExponentials: true });
  if (!decoded.ok) {
    const field = 'field' in decoded.error ? decoded.error.field : undefined;
    return { ok: false, stage: 'decode', detail: JSON.stringify(decoded.error), ...(field ? { field } : {}) };
  }
  const msg = decoded.message;
  const module = MODULE_OF_CHAPTER[e.section.split('.')[0] ?? ''];
  const section = DEFINED_IN[keyOf(e)] ?? e.section;
  if (msg.module !== module || msg.def.section !== section) {
    return { ok: false, stage: 'section', detail: `decoded as ${msg.module}.${msg.message} (${msg.def.section}), expected a ${module} message of ${section}` };
  }
  const wantDirection = e.direction === 'status' ? 'status' : e.direction;
  if (msg.direction !== wantDirection) {
    return { ok: false, stage: 'section', detail: `decoded as ${msg.direction}, printed as ${e.direction}` };
  }
  let again: Uint8Array;
  try {
    again = reencode(msg, { checksum: frame.checksum !== 0 });
  } catch (err) {
    return { ok: false, stage: 'reencode', detail: String(err) };
  }
  const want = bytesToHex(bytes, ' ');
  const got = bytesToHex(again, ' ');
  return got === want ? { ok: true } : { ok: false, stage: 'reencode', detail: `re-encoded ${got}\n     printed ${want}` };
}

describe('manual example frames', () => {
  it('the fixture holds every example of the manual', () => {
    // 267 frames from rev 2.14; a change means the extractor or the manual text changed.
    expect(EXAMPLES.length).toBe(267);
    expect(new Set(EXAMPLES.map((e) => e.id)).size).toBe(EXAMPLES.length);
  });

  it('every erratum names an extracted example (the list cannot rot)', () => {
    const keys = new Set(EXAMPLES.map(keyOf));
    for (const k of Object.keys(KNOWN_ERRATA)) expect(keys, `erratum ${k}`).toContain(k);
  });

  it('every inconsistent frame (length or checksum) is a known erratum', () => {
    for (const e of EXAMPLES) {
      const o = check(e);
      if (!o.ok && (o.stage === 'length' || o.stage === 'checksum')) {
        expect(KNOWN_ERRATA[keyOf(e)]?.fails, `${keyOf(e)} line ${e.line}: ${o.detail}`).toBe(o.stage);
      }
    }
  });

  for (const e of EXAMPLES) {
    const erratum = KNOWN_ERRATA[keyOf(e)];
    const frameLevel = erratum?.fails === 'length' || erratum?.fails === 'checksum';
    if (!frameLevel && !isChecked(e)) continue;
    const label = `${e.section} ${e.title} (${e.direction}, line ${e.line})`;
    if (erratum) {
      it(`${label} fails at ${erratum.fails}: ${erratum.reason}`, () => {
        const o = check(e);
        expect(o.ok ? 'ok' : o.stage, o.ok ? '' : o.detail).toBe(erratum.fails);
        if (erratum.field !== undefined && !o.ok) expect(o.field, o.detail).toBe(erratum.field);
      });
      const { fix } = erratum;
      if (fix !== undefined) {
        it(`${label} repaired as described parses, decodes and re-encodes byte for byte`, () => {
          const repaired = bytesToHex(Uint8Array.from(fix([...hexToBytes(e.hex)])), ' ');
          const o = check({ ...e, hex: repaired });
          expect(o.ok ? 'ok' : `${o.stage}: ${o.detail}`).toBe('ok');
        });
      }
      const { subId } = erratum;
      if (subId !== undefined) {
        it(`${label} with Sub-ID 0x${subId.toString(16)} parses, decodes and re-encodes byte for byte`, () => {
          const o = check(withSubId(e, subId));
          expect(o.ok ? 'ok' : `${o.stage}: ${o.detail}`).toBe('ok');
        });
      }
    } else {
      it(`${label} parses, decodes and re-encodes byte for byte`, () => {
        const o = check(e);
        expect(o.ok ? 'ok' : `${o.stage}: ${o.detail}`).toBe('ok');
      });
    }
  }
});
