import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, parseFrame } from '../../codec/frame.js';
import {
  decodeControlFrame,
  decodeDataExchange,
  decodeEthernetFrame,
  decodeSizeExchange,
  encodeControlFrame,
  encodeControlHeader,
  encodeDataExchange,
  encodeEthernetControlFrame,
  encodeEthernetFrame,
  encodeSizeExchange,
  ETHERTYPE_CONTROL,
  controlPayloadEnd,
  ethernetControlFrameLength,
  formatMac,
  macAt,
  negotiatedSize,
  parseMac,
  writeEthernetControlFrame,
} from '../../codec/link-headers.js';

// Manual 9.2.7, figures 16 and 17: the master sends a 13-byte Ping (module 0x0E, Sub-ID 0x00,
// request 0x01, payload 01..05, checksum 0x00 = not computed); the slave has nothing to send.
const PING = hexToBytes('C0 0E 00 01 00 05 01 02 03 04 05 00 C1');
const FIG16_MOSI = 'aaaa000d';
const FIG16_MISO = 'aaaa0000';
const FIG17_MOSI = '55550000' + 'c00e0001000501020304050' + '0c1';
const FIG17_MISO = `55550000${'00'.repeat(13)}`;

describe('SPI frames (manual 9.2.4, 9.2.5, 9.2.7)', () => {
  it('encodes the size-exchange frame of figure 16', () => {
    expect(bytesToHex(encodeSizeExchange(PING.length))).toBe(FIG16_MOSI);
    expect(bytesToHex(encodeSizeExchange(0))).toBe(FIG16_MISO);
  });

  it('decodes the size-exchange answers of figure 16 and applies the larger-size rule', () => {
    const master = decodeSizeExchange(hexToBytes(FIG16_MOSI));
    const slave = decodeSizeExchange(hexToBytes(FIG16_MISO));
    expect(master).toBe(13);
    expect(slave).toBe(0);
    expect(negotiatedSize(master ?? -1, slave ?? -1)).toBe(13);
    expect(negotiatedSize(2, 0x0102)).toBe(258);
  });

  it('reads the size in network byte order', () => {
    expect(bytesToHex(encodeSizeExchange(0x05dc))).toBe('aaaa05dc');
    expect(decodeSizeExchange(hexToBytes('aaaa0100'))).toBe(256);
  });

  it('flags a size-exchange answer without 0xAA 0xAA as out of sync', () => {
    expect(decodeSizeExchange(hexToBytes('55550000'))).toBeUndefined();
    expect(decodeSizeExchange(hexToBytes('aa00000d'))).toBeUndefined();
    expect(decodeSizeExchange(hexToBytes('aaaa'))).toBeUndefined();
  });

  it('rejects sizes beyond the 1500-byte payload limit of 9.2.1', () => {
    expect(() => encodeSizeExchange(1501)).toThrow(RangeError);
    expect(bytesToHex(encodeSizeExchange(1500))).toBe('aaaa05dc');
  });

  it('encodes and decodes the data-exchange frames of figure 17', () => {
    expect(bytesToHex(encodeDataExchange(PING))).toBe(FIG17_MOSI);
    expect(bytesToHex(encodeDataExchange(new Uint8Array(0), 13))).toBe(FIG17_MISO);
    const data = decodeDataExchange(hexToBytes(FIG17_MOSI));
    expect(data && parseFrame(data)).toMatchObject({ frame: { modId: 0x0e, subId: 0x00, reqId: 0x01 } });
    expect(decodeDataExchange(hexToBytes(FIG17_MISO))).toEqual(new Uint8Array(13));
  });

  it('pads the shorter side with zeros up to the negotiated size', () => {
    expect(bytesToHex(encodeDataExchange(Uint8Array.of(1, 2), 5))).toBe('555500000102000000');
    expect(() => encodeDataExchange(Uint8Array.of(1, 2, 3), 2)).toThrow(RangeError);
  });

  it('flags a data-exchange frame with a wrong identifier', () => {
    expect(decodeDataExchange(hexToBytes('aaaa000d'))).toBeUndefined();
    expect(decodeDataExchange(hexToBytes('555500'))).toBeUndefined();
  });
});

describe('Ethernet control header (manual 9.1)', () => {
  it('builds an Ethernet control frame in one buffer, the same bytes as the two encoders', () => {
    const dst = parseMac('02:00:00:00:00:02');
    const src = parseMac('02:00:00:00:00:01');
    for (const payload of [new Uint8Array(0), PING, new Uint8Array(1496).fill(0xc0)]) {
      const twoStep = encodeEthernetFrame({ dst, src, etherType: ETHERTYPE_CONTROL, payload: encodeControlFrame(payload) });
      expect(bytesToHex(encodeEthernetControlFrame(dst, src, payload))).toBe(bytesToHex(twoStep));
    }
  });

  it('encodes version 0x00, type 0x04 and the big-endian payload size', () => {
    expect(bytesToHex(encodeControlHeader(13))).toBe('0004000d');
    expect(bytesToHex(encodeControlHeader(0x0578))).toBe('00040578');
    expect(bytesToHex(encodeControlFrame(PING))).toBe(`0004000d${bytesToHex(PING)}`);
  });

  it('takes the frame end from the size field, dropping Ethernet padding', () => {
    const padded = new Uint8Array(46);
    padded.set(encodeControlFrame(PING));
    const r = decodeControlFrame(padded);
    expect('payload' in r && bytesToHex(r.payload)).toBe(bytesToHex(PING));
  });

  it('ignores frames that are not framing-protocol control frames', () => {
    expect(decodeControlFrame(hexToBytes('0104000d'))).toHaveProperty('ignored');
    expect(decodeControlFrame(hexToBytes('0003000d'))).toHaveProperty('ignored');
    expect(decodeControlFrame(hexToBytes('000400'))).toHaveProperty('ignored');
    // The size field announces more bytes than the frame holds.
    expect(decodeControlFrame(hexToBytes('00040010c00e'))).toHaveProperty('ignored');
  });

  it('builds Ethernet frames padded to 60 bytes and reads them back', () => {
    const dst = parseMac('02:00:00:00:00:02');
    const src = parseMac('02-00-00-00-00-01');
    const eth = encodeEthernetFrame({ dst, src, etherType: ETHERTYPE_CONTROL, payload: encodeControlFrame(PING) });
    expect(eth.length).toBe(60);
    expect(bytesToHex(eth.subarray(0, 16))).toBe('020000000002' + '020000000001' + '6003' + '0004');
    const back = decodeEthernetFrame(eth);
    expect(back && formatMac(back.src)).toBe('02:00:00:00:00:01');
    expect(back?.etherType).toBe(0x6003);
    const big = encodeEthernetFrame({ dst, src, etherType: ETHERTYPE_CONTROL, payload: new Uint8Array(1404) });
    expect(big.length).toBe(14 + 1404);
  });

  it('rejects malformed MAC addresses', () => {
    expect(() => parseMac('02:00:00:00:00')).toThrow(SyntaxError);
    expect(() => parseMac('02:00:00:00:00:zz')).toThrow(SyntaxError);
  });
});

describe("Ethernet control frames in place (the transport's send buffer and receive path)", () => {
  const dst = parseMac('02:f2:00:00:00:0b');
  const src = parseMac('02:f2:00:00:00:0a');

  it('writes into a reused buffer what encodeEthernetControlFrame builds, padding zeroed', () => {
    const out = new Uint8Array(ethernetControlFrameLength(1496)).fill(0xee);
    for (const size of [0, 8, 41, 42, 43, 300, 1496]) {
      const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 1) & 0xff);
      const length = writeEthernetControlFrame(out, dst, src, payload);
      expect(length).toBe(ethernetControlFrameLength(size));
      expect(out.subarray(0, length)).toEqual(encodeEthernetControlFrame(dst, src, payload));
      out.fill(0xee);
    }
  });

  it('finds the framing payload where decodeEthernetFrame and decodeControlFrame do, on any bytes', () => {
    let seed = 12;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const base = encodeEthernetControlFrame(dst, src, Uint8Array.of(0xc0, 0x0e, 0x01, 0x07, 0, 0, 0x67, 0xc1));
    for (let i = 0; i < 5000; i++) {
      const bytes = base.slice(0, Math.floor(rnd() * (base.length + 1)));
      // Change a byte or two of the headers (or none), so that both outcomes occur often.
      for (let k = Math.floor(rnd() * 3); k > 0; k--) bytes[Math.floor(rnd() * 20)] = Math.floor(rnd() * 256) & (rnd() < 0.5 ? 0x0f : 0xff);
      const eth = decodeEthernetFrame(bytes);
      const control = eth && eth.etherType === ETHERTYPE_CONTROL ? decodeControlFrame(eth.payload) : undefined;
      const expected = control && 'payload' in control ? 18 + control.payload.length : -1;
      expect(controlPayloadEnd(bytes)).toBe(expected);
      expect(macAt(bytes, 6, src)).toBe(bytes.length >= 12 && formatMac(bytes.subarray(6, 12)) === formatMac(src));
    }
  });
});
