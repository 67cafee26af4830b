/**
 * Every example frame printed in the manual (test/fixtures/manual-examples.json, made by
 * scripts/extract-manual-examples.ts) against the codec: a self-consistent frame must parse,
 * decode to the message of its section, and re-encode byte for byte. Frames the manual prints
 * wrongly are listed in KNOWN_ERRATA with the way they fail, and that failure is asserted, so the
 * list stays true (docs/manual-errata.md explains each one).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, reencode } from '../codec/catalog.js';
import { bytesToHex, hexToBytes, parseFrame } from '../codec/frame.js';
import type { ModuleName } from '../codec/message.js';

interface ManualExample {
  id: number;
  line: number;
  section: string;
  title: string;
  caption: string;
  direction: 'request' | 'response' | 'status';
  hex: string;
  notes: string[];
}

const EXAMPLES: ManualExample[] = JSON.parse(readFileSync(new URL('./fixtures/manual-examples.json', import.meta.url), 'utf8'));

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
const CHECKED_SECTIONS = ['15.', '18.8.'];
const isChecked = (e: ManualExample): boolean => CHECKED_SECTIONS.some((p) => e.section.startsWith(p));

/**
 * Examples printed inside a section but defining a message of another one (a status message
 * shown with the command that triggers it). Key: `section/direction`.
 */
const DEFINED_IN: Record<string, string> = {};

/** How an example fails: which stage first rejects it. */
type Stage = 'length' | 'checksum' | 'decode' | 'section' | 'reencode';

interface Erratum {
  fails: Stage;
  reason: string;
}

/** The manual's inconsistent examples, keyed `section/direction` (docs/manual-errata.md). */
const KNOWN_ERRATA: Record<string, Erratum> = {
  '11.3.10/request': { fails: 'length', reason: 'Save Configuration: size field says 1 payload byte, none printed (the command has no parameters)' },
  '11.3.14/request': {
    fails: 'length',
    reason: 'Get File Hash: size 0x3E (62) but 60 payload bytes printed and no checksum/C1; the file name is 61 characters plus its length byte',
  },
  '13.3.2/request': { fails: 'length', reason: 'Get IPv6 Configuration: size field 1, three payload bytes printed (interface + 2-byte index)' },
  '13.3.4/status': { fails: 'length', reason: 'Echo Received: size field 1, two payload bytes (RTT 00 2A) printed' },
  '13.3.7/response': { fails: 'length', reason: 'Get Interface Info: size 0x1A (26) but 27 payload bytes printed' },
  '14.4.2/response': { fails: 'length', reason: 'FWU Set Mode response: size field 1, three bytes printed (code + 2-byte RX buffer space)' },
  '14.5.4/status': { fails: 'length', reason: 'Request Packets: size field 0, five payload bytes printed (type + packet number)' },
  '16.4.7/request': { fails: 'length', reason: 'Set AttnRx Values: size field 0, 58 payload bytes printed' },
  '16.4.8/response': { fails: 'length', reason: 'Get AttnRx Values response: size field 1, 59 payload bytes printed' },
  '16.4.9/request': { fails: 'length', reason: 'Set AttnTxRef Values: size field 0, 58 payload bytes printed' },
  '18.9.1/request': { fails: 'length', reason: 'EV Set Configuration: size 0x10 (16, comment says 18) but 15 payload bytes printed' },
  '18.10.18/request': { fails: 'length', reason: 'Set Certificate Installation/Update Response: 4122 bytes of EXI elided ("10 1A 01 ... 01")' },
  '18.11.2/status': { fails: 'length', reason: 'EV DC Charge Parameters Changed: size 0x19 (25) but 36 payload bytes printed' },
  '18.11.14/status': { fails: 'length', reason: 'EV Session Error: size field 3, one payload byte printed' },
  '18.12.2/status': { fails: 'length', reason: 'EVSE Payment Selected: size 0x2B (43, comment says 4), one payload byte printed' },
  '18.12.15/status': { fails: 'length', reason: 'Certificate Installation Requested: 846 bytes of EXI elided ("03 4E 01 ... 48")' },
  '18.12.16/status': { fails: 'length', reason: 'Certificate Update Requested: 3846 bytes of EXI elided ("0F 06 01 ... 48")' },
  '19.2.2/request': { fails: 'length', reason: 'Get GPIO Mode: size field 0, one payload byte (pin 21) printed' },
  '19.2.4/request': { fails: 'length', reason: 'Get GPIO State: size field 0, one payload byte (pin 20) printed' },
  '19.2.4/response': { fails: 'length', reason: 'Get GPIO State response: size 0x0A (10, comment says 2), two payload bytes printed' },
  '20.2.1/request': { fails: 'length', reason: 'Trust Store Open: the path is printed as text ("fat/testdata/cert/ts"), not as bytes' },
  '20.2.2/response': { fails: 'length', reason: 'Trust Store Get Certificate Info response: file name printed as a quoted string, not as bytes' },
  '20.2.3/response': { fails: 'length', reason: 'Trust Store Get Next Entry response: file name printed as a quoted string, not as bytes' },
  '20.2.4/request': { fails: 'length', reason: 'Trust Store Add Certificate: 587-byte certificate elided ("30 82 02 47 ...")' },
  '20.2.6/request': { fails: 'length', reason: 'Own Certificates Open: the path is printed as text ("fat/testdata/cert/own"), not as bytes' },
  '20.2.9/request': { fails: 'length', reason: 'Own Certificates Add Certificate: 587-byte certificate elided ("30 82 02 47 ...")' },
  '20.2.9/response': { fails: 'length', reason: 'Own Certificates Add Certificate response: size field 1, two payload bytes printed' },
  '20.2.12/response': { fails: 'checksum', reason: 'Own Certificates Remove Private Key response: checksum printed 0x08, computed 0xE5' },
};

const keyOf = (e: ManualExample): string => `${e.section}/${e.direction}`;

type Outcome = { ok: true } | { ok: false; stage: Stage; detail: string };

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
  if (!decoded.ok) return { ok: false, stage: 'decode', detail: JSON.stringify(decoded.error) };
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
      });
    } else {
      it(`${label} parses, decodes and re-encodes byte for byte`, () => {
        const o = check(e);
        expect(o.ok ? 'ok' : `${o.stage}: ${o.detail}`).toBe('ok');
      });
    }
  }
});
