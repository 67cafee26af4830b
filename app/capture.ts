/**
 * HCI captures in the classic pcap format (libpcap 2.4, microsecond timestamps, LINKTYPE_ETHERNET),
 * written by a small writer of our own. Every HCI frame becomes the Ethernet frame the module
 * would see on its host interface (manual 9.1): destination, source, ethertype 0x6003, the
 * control header (version 0x00, message type 0x04, payload size) and the HCI frame. SPI and
 * simulated links get the same wrapping with the configured or simulated MAC addresses, so
 * Wireshark and `freev2g decode --pcap` read every capture alike.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { computeChecksum } from '../codec/frame.js';

export const ETHERTYPE_HCI = 0x6003;
/** Control header (9.1.2): version 0x00, message type 0x04 = framing protocol. */
const CONTROL_VERSION = 0x00;
const CONTROL_TYPE_FRAMING = 0x04;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 65535;

/** A MAC address as 6 bytes, from "00:01:01:63:77:33" (also '-' or no separators). */
export function parseMac(mac: string): Uint8Array {
  const hex = mac.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new SyntaxError(`not a MAC address: "${mac}"`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The Ethernet frame carrying one HCI frame (no padding to 60 bytes: the size field says where it ends). */
export function wrapEthernet(dst: Uint8Array, src: Uint8Array, hci: Uint8Array): Uint8Array {
  const out = new Uint8Array(18 + hci.length);
  out.set(dst, 0);
  out.set(src, 6);
  out[12] = ETHERTYPE_HCI >>> 8;
  out[13] = ETHERTYPE_HCI & 0xff;
  out[14] = CONTROL_VERSION;
  out[15] = CONTROL_TYPE_FRAMING;
  out[16] = hci.length >>> 8;
  out[17] = hci.length & 0xff;
  out.set(hci, 18);
  return out;
}

export interface EthernetHci {
  dst: string;
  src: string;
  hci: Uint8Array;
}

/** The HCI frame inside an Ethernet frame, or undefined for other traffic (the module bridges). */
export function unwrapEthernet(frame: Uint8Array): EthernetHci | undefined {
  if (frame.length < 18) return undefined;
  if ((((frame[12] as number) << 8) | (frame[13] as number)) !== ETHERTYPE_HCI) return undefined;
  if (frame[15] !== CONTROL_TYPE_FRAMING) return undefined;
  const size = ((frame[16] as number) << 8) | (frame[17] as number);
  if (18 + size > frame.length) return undefined;
  return { dst: formatMac(frame.subarray(0, 6)), src: formatMac(frame.subarray(6, 12)), hci: frame.slice(18, 18 + size) };
}

/** Certificate Manager "Own Certificates: Add Key" (20.2.11): module 0x30, Sub-ID 0x65. */
const CM_MOD_ID = 0x30;
const CM_ADD_KEY_SUB_ID = 0x65;

/**
 * A copy of `hci` with secrets blanked: the private key bytes of Add Key (handle, entry and
 * length stay, the key becomes zeros, the checksum is recomputed so the frame still decodes).
 */
export function maskSecrets(hci: Uint8Array): Uint8Array {
  if (hci[1] !== CM_MOD_ID || hci[2] !== CM_ADD_KEY_SUB_ID || hci.length < 8) return hci;
  const size = ((hci[4] as number) << 8) | (hci[5] as number);
  // A response (result code only) carries no key.
  if (size <= 4) return hci;
  const out = hci.slice();
  out.fill(0, 6 + 4, 6 + size);
  if (out[6 + size] !== 0) out[6 + size] = computeChecksum(out, 0, out.length, 6 + size);
  return out;
}

export interface CaptureRecord {
  /** Milliseconds since the Unix epoch (fractions kept to the microsecond). */
  atMs: number;
  data: Uint8Array;
}

function globalHeader(): Uint8Array {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(PCAP_MAGIC_US, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

function recordBytes(rec: CaptureRecord): Uint8Array {
  const us = Math.round(rec.atMs * 1000);
  const b = Buffer.alloc(16 + rec.data.length);
  b.writeUInt32LE(Math.floor(us / 1e6), 0);
  b.writeUInt32LE(us % 1e6, 4);
  b.writeUInt32LE(rec.data.length, 8);
  b.writeUInt32LE(rec.data.length, 12);
  b.set(rec.data, 16);
  return b;
}

/** Buffered bytes written out at once (a whole session is tens of thousands of frames). */
const FLUSH_BYTES = 64 * 1024;

/**
 * Appends records to a pcap file as they come, in 64 KB writes; `close` (also on SIGINT/SIGTERM
 * through the runner) flushes the rest and syncs. A reader ignores a record cut short.
 */
export class PcapWriter {
  private fd: number | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, globalHeader());
  }

  write(rec: CaptureRecord): void {
    if (this.fd === undefined) return;
    const b = recordBytes(rec);
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes one HCI frame as an Ethernet frame from `src` to `dst`, secrets masked. */
  writeHci(atMs: number, src: Uint8Array, dst: Uint8Array, hci: Uint8Array): void {
    this.write({ atMs, data: wrapEthernet(dst, src, maskSecrets(hci)) });
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads every record of a classic pcap file (either byte order, µs or ns timestamps). */
export function readPcap(path: string): { linkType: number; records: CaptureRecord[] } {
  const b = readFileSync(path);
  if (b.length < 24) throw new SyntaxError(`${path}: too short for a pcap file (${b.length} bytes)`);
  const magicLE = b.readUInt32LE(0);
  const magicBE = b.readUInt32BE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) [le, nano] = [true, magicLE === PCAP_MAGIC_NS];
  else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) [le, nano] = [false, magicBE === PCAP_MAGIC_NS];
  else throw new SyntaxError(`${path}: not a pcap file (magic 0x${magicLE.toString(16)}; pcapng is not supported)`);
  const u32 = (at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const linkType = u32(20);
  const records: CaptureRecord[] = [];
  let at = 24;
  while (at + 16 <= b.length) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    if (at + 16 + incl > b.length) break; // a record cut short by a crash: ignore it
    records.push({ atMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), data: new Uint8Array(b.subarray(at + 16, at + 16 + incl)) });
    at += 16 + incl;
  }
  return { linkType, records };
}
