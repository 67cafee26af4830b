/**
 * A small pcapng reader (the format Wireshark and newer tcpdump write by default): section
 * header, interface descriptions (link type and timestamp resolution per interface), enhanced
 * and simple packet blocks; every other block is skipped by its length. Either byte order, as the
 * section header's byte-order magic says. `readCapture` takes a pcap or a pcapng file alike.
 */
import { readFileSync } from 'node:fs';
import { type CaptureRecord, readPcap } from './capture.js';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_IF_TSRESOL = 9;

interface Interface {
  linkType: number;
  /** Timestamp units per second (default 10^6). */
  unitsPerSecond: number;
}

export interface Capture {
  /** Link type of the (first) interface. */
  linkType: number;
  records: CaptureRecord[];
}

/** Whether the bytes begin a pcapng section (the block type reads alike in both byte orders). */
export function isPcapng(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a;
}

/** if_tsresol: high bit clear = 10^-n s, set = 2^-n s. */
function tsResolution(b: Buffer, at: number, end: number, le: boolean): number {
  while (at + 4 <= end) {
    const code = le ? b.readUInt16LE(at) : b.readUInt16BE(at);
    const len = le ? b.readUInt16LE(at + 2) : b.readUInt16BE(at + 2);
    if (code === 0) break;
    if (code === OPT_IF_TSRESOL && len >= 1) {
      const v = b[at + 4] as number;
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    at += 4 + Math.ceil(len / 4) * 4;
  }
  return 1e6;
}

export function parsePcapng(b: Buffer, name = 'capture'): Capture {
  const records: CaptureRecord[] = [];
  let interfaces: Interface[] = [];
  let le = true;
  let at = 0;
  while (at + 12 <= b.length) {
    const typeLE = b.readUInt32LE(at);
    if (typeLE === SHB) {
      const magic = b.readUInt32LE(at + 8);
      if (magic === BYTE_ORDER_MAGIC) le = true;
      else if (b.readUInt32BE(at + 8) === BYTE_ORDER_MAGIC) le = false;
      else throw new SyntaxError(`${name}: pcapng section header with an unknown byte-order magic`);
      interfaces = []; // interface numbers restart in every section
    }
    const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || len % 4 !== 0 || at + len > b.length) break; // cut short: keep what was read
    if (type === IDB) {
      const linkType = le ? b.readUInt16LE(at + 8) : b.readUInt16BE(at + 8);
      interfaces.push({ linkType, unitsPerSecond: tsResolution(b, at + 16, at + len - 4, le) });
    } else if (type === EPB) {
      const iface = interfaces[u32(at + 8)] ?? { linkType: 1, unitsPerSecond: 1e6 };
      const ts = u32(at + 12) * 2 ** 32 + u32(at + 16);
      const captured = u32(at + 20);
      records.push({ atMs: (ts / iface.unitsPerSecond) * 1000, data: new Uint8Array(b.subarray(at + 28, at + 28 + captured)) });
    } else if (type === SPB) {
      // No timestamp: it keeps the previous record's time.
      const captured = Math.min(u32(at + 8), len - 16);
      records.push({ atMs: records.at(-1)?.atMs ?? 0, data: new Uint8Array(b.subarray(at + 12, at + 12 + captured)) });
    }
    at += len;
  }
  return { linkType: interfaces[0]?.linkType ?? 1, records };
}

/** Every record of a pcap or pcapng file. */
export function readCapture(path: string): Capture {
  const b = readFileSync(path);
  return isPcapng(b) ? parsePcapng(b, path) : readPcap(path);
}
