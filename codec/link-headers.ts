/**
 * Link-layer headers that carry HCI frames (manual chapter 9): the Ethernet control header
 * (9.1.2) and the two SPI transfer frames (9.2.4 size exchange, 9.2.5 data exchange).
 * Pure byte functions; the transports in transports/ do the I/O.
 */

// ---------------------------------------------------------------------------------------------
// Ethernet (9.1)

/** Ethernet type of control frames (9.1.1, table 16). */
export const ETHERTYPE_CONTROL = 0x6003;
/** Control header version, a fixed value (9.1.2, table 17). */
export const CONTROL_VERSION = 0x00;
/** Control header message type for the framing protocol (9.1.2, table 17). */
export const CONTROL_TYPE_FRAMING = 0x04;
export const CONTROL_HEADER_SIZE = 4;
export const ETH_HEADER_SIZE = 14;
/** Smallest Ethernet frame without FCS: shorter frames are padded to this on the wire. */
export const ETH_MIN_FRAME = 60;
/** Ethernet payload limit (MTU 1500) less the control header: the most HCI bytes per frame. */
export const ETH_MAX_CONTROL_PAYLOAD = 1500 - CONTROL_HEADER_SIZE;

export type MacAddress = Uint8Array;

/** "02:00:00:00:00:01" (or with dashes) -> 6 bytes. */
export function parseMac(text: string): MacAddress {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new SyntaxError(`not a MAC address: "${text}"`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The 4-byte control header of 9.1.2: version 0x00, type 0x04, size of the framing payload (BE). */
export function encodeControlHeader(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 0 || size > 0xffff) throw new RangeError(`control header size ${size} out of range`);
  return Uint8Array.of(CONTROL_VERSION, CONTROL_TYPE_FRAMING, size >>> 8, size & 0xff);
}

/** Control header followed by the framing payload (what follows the Ethernet type). */
export function encodeControlFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CONTROL_HEADER_SIZE + payload.length);
  out.set(encodeControlHeader(payload.length));
  out.set(payload, CONTROL_HEADER_SIZE);
  return out;
}

export type ControlDecode = { payload: Uint8Array } | { ignored: string };

/**
 * Reads a control frame (the bytes after the Ethernet type). The size field decides where the
 * framing payload ends: anything after it is Ethernet padding and is dropped.
 */
export function decodeControlFrame(bytes: Uint8Array): ControlDecode {
  if (bytes.length < CONTROL_HEADER_SIZE) return { ignored: `control frame of ${bytes.length} byte(s) is shorter than its header` };
  if (bytes[0] !== CONTROL_VERSION) return { ignored: `control header version 0x${hex2(bytes[0])}, expected 0x00` };
  if (bytes[1] !== CONTROL_TYPE_FRAMING) return { ignored: `control header message type 0x${hex2(bytes[1])}, expected 0x04` };
  const size = ((bytes[2] as number) << 8) | (bytes[3] as number);
  if (CONTROL_HEADER_SIZE + size > bytes.length) {
    return { ignored: `control header announces ${size} byte(s), frame holds ${bytes.length - CONTROL_HEADER_SIZE}` };
  }
  return { payload: bytes.subarray(CONTROL_HEADER_SIZE, CONTROL_HEADER_SIZE + size) };
}

export interface EthernetFrame {
  dst: MacAddress;
  src: MacAddress;
  etherType: number;
  /** Everything after the Ethernet type, padding included. */
  payload: Uint8Array;
}

/** Builds an Ethernet frame (no FCS: the interface adds it), padded to the 60-byte minimum. */
export function encodeEthernetFrame(frame: EthernetFrame): Uint8Array {
  const out = new Uint8Array(Math.max(ETH_MIN_FRAME, ETH_HEADER_SIZE + frame.payload.length));
  out.set(frame.dst.subarray(0, 6), 0);
  out.set(frame.src.subarray(0, 6), 6);
  out[12] = frame.etherType >>> 8;
  out[13] = frame.etherType & 0xff;
  out.set(frame.payload, ETH_HEADER_SIZE);
  return out;
}

/**
 * `encodeEthernetFrame` of a control frame (9.1.2) around `payload`, built in one buffer: the
 * Ethernet transport's send path, on the way of every answer (no control frame and header
 * allocated apart). The same bytes as `encodeEthernetFrame({ ..., payload: encodeControlFrame(payload) })`.
 */
export function encodeEthernetControlFrame(dst: MacAddress, src: MacAddress, payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff) throw new RangeError(`control header size ${payload.length} out of range`);
  const out = new Uint8Array(ethernetControlFrameLength(payload.length));
  writeEthernetControlFrame(out, dst, src, payload);
  return out;
}

/** Bytes of the Ethernet frame that carries `size` framing bytes (minimum 60, no FCS). */
export function ethernetControlFrameLength(size: number): number {
  return Math.max(ETH_MIN_FRAME, ETH_HEADER_SIZE + CONTROL_HEADER_SIZE + size);
}

/**
 * `encodeEthernetControlFrame` into `out` from byte 0 (a buffer the caller reuses; it must hold
 * `ethernetControlFrameLength(payload.length)` bytes); returns that length.
 */
export function writeEthernetControlFrame(out: Uint8Array, dst: MacAddress, src: MacAddress, payload: Uint8Array): number {
  const size = payload.length;
  const at = ETH_HEADER_SIZE + CONTROL_HEADER_SIZE;
  const length = ethernetControlFrameLength(size);
  for (let i = 0; i < 6; i++) {
    out[i] = dst[i] as number;
    out[6 + i] = src[i] as number;
  }
  out[12] = ETHERTYPE_CONTROL >>> 8;
  out[13] = ETHERTYPE_CONTROL & 0xff;
  out[14] = CONTROL_VERSION;
  out[15] = CONTROL_TYPE_FRAMING;
  out[16] = size >>> 8;
  out[17] = size & 0xff;
  out.set(payload, at);
  out.fill(0, at + size, length);
  return length;
}

export function decodeEthernetFrame(bytes: Uint8Array): EthernetFrame | undefined {
  if (bytes.length < ETH_HEADER_SIZE) return undefined;
  return {
    dst: bytes.subarray(0, 6),
    src: bytes.subarray(6, 12),
    etherType: ((bytes[12] as number) << 8) | (bytes[13] as number),
    payload: bytes.subarray(ETH_HEADER_SIZE),
  };
}

/**
 * Where the framing payload of an Ethernet control frame ends in `bytes` (it starts at byte 18),
 * read in place; -1 when `bytes` are no control frame (too short, another Ethernet type, a
 * control header that is not 9.1.2's or announces more than the frame holds). What
 * `decodeEthernetFrame` and `decodeControlFrame` accept, without their objects: a receive path
 * runs it for every captured frame.
 */
export function controlPayloadEnd(bytes: Uint8Array): number {
  const length = bytes.length;
  const at = ETH_HEADER_SIZE + CONTROL_HEADER_SIZE;
  if (length < at || (((bytes[12] as number) << 8) | (bytes[13] as number)) !== ETHERTYPE_CONTROL) return -1;
  if (bytes[14] !== CONTROL_VERSION || bytes[15] !== CONTROL_TYPE_FRAMING) return -1;
  const end = at + (((bytes[16] as number) << 8) | (bytes[17] as number));
  return end <= length ? end : -1;
}

/** Whether the 6 bytes at `at` in `bytes` are `mac`. */
export function macAt(bytes: Uint8Array, at: number, mac: MacAddress): boolean {
  for (let i = 0; i < 6; i++) if (bytes[at + i] !== mac[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// SPI (9.2)

/** Identifier of the size-exchange frame (9.2.4). */
export const SIZE_EXCHANGE_ID = 0xaa;
/** Identifier of the data-exchange frame: 0x55 0x55 0x00 0x00 (9.2.5). */
export const DATA_EXCHANGE_ID = Uint8Array.of(0x55, 0x55, 0x00, 0x00);
export const SIZE_EXCHANGE_LENGTH = 4;
export const DATA_EXCHANGE_HEADER_SIZE = 4;
/** 9.2.1: maximum transfer 1504 bytes, so at most 1500 bytes of framing data per data exchange. */
export const SPI_MAX_PAYLOAD = 1500;

/** 0xAA 0xAA, then the size of the next data exchange's payload in network byte order. */
export function encodeSizeExchange(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 0 || size > SPI_MAX_PAYLOAD) {
    throw new RangeError(`size-exchange size ${size} outside 0..${SPI_MAX_PAYLOAD}`);
  }
  return Uint8Array.of(SIZE_EXCHANGE_ID, SIZE_EXCHANGE_ID, size >>> 8, size & 0xff);
}

/** The other side's size, or undefined when the identifier is not 0xAA 0xAA (out of sync). */
export function decodeSizeExchange(bytes: Uint8Array): number | undefined {
  if (bytes.length < SIZE_EXCHANGE_LENGTH || bytes[0] !== SIZE_EXCHANGE_ID || bytes[1] !== SIZE_EXCHANGE_ID) return undefined;
  return ((bytes[2] as number) << 8) | (bytes[3] as number);
}

/**
 * The data-exchange frame: identifier, then `data` zero-padded to `size` bytes. The transfer size
 * is the larger of both announced sizes (9.2.4), so the side with less to say pads.
 */
export function encodeDataExchange(data: Uint8Array, size = data.length): Uint8Array {
  if (size < data.length) throw new RangeError(`data of ${data.length} bytes does not fit a data exchange of ${size}`);
  const out = new Uint8Array(DATA_EXCHANGE_HEADER_SIZE + size);
  out.set(DATA_EXCHANGE_ID);
  out.set(data, DATA_EXCHANGE_HEADER_SIZE);
  return out;
}

/** The framing bytes after the identifier, or undefined when the identifier is wrong. */
export function decodeDataExchange(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < DATA_EXCHANGE_HEADER_SIZE) return undefined;
  for (let i = 0; i < DATA_EXCHANGE_HEADER_SIZE; i++) if (bytes[i] !== DATA_EXCHANGE_ID[i]) return undefined;
  return bytes.subarray(DATA_EXCHANGE_HEADER_SIZE);
}

/** 9.2.4: the master stores the larger of both sizes as the size of the next transfer. */
export function negotiatedSize(masterSize: number, slaveSize: number): number {
  return Math.max(masterSize, slaveSize);
}

const hex2 = (n: number | undefined): string => (n ?? 0).toString(16).padStart(2, '0');
