/**
 * Framing module, module 0x0E (manual 10.3), and the framing error status frames the module
 * sends with module ID 0xFF (10.1.2, 10.3.1).
 *
 * Ping is not a configuration command: its reply comes back on its own Sub-ID (0x01), carrying
 * the ping's request ID (10.1.3), not as a response on 0x00. So Ping is a command with a request
 * only (no response is ever sent on 0x00) and PingReply is a status message; a client matches
 * the reply to the ping by request ID and data.
 */
import { moduleDefs } from '../message.js';
import { restBytes } from '../schema.js';

const { command, status } = moduleDefs('Framing', 0x0e);

/** 10.3.2: arbitrary data, echoed back unchanged in the reply. */
const data = restBytes;

export const Framing = {
  Ping: command({ name: 'Ping', subId: 0x00, section: '10.3.2', request: { data } }),
  PingReply: status({ name: 'PingReply', subId: 0x01, section: '10.3.2', payload: { data } }),
} as const;

const errors = moduleDefs('FramingError', 0xff);

/**
 * 10.3.1 lists only Sub-IDs and meanings; the manual gives these frames no payload. Whatever
 * bytes a module adds are kept opaque in `data` (empty in every case the manual describes), so
 * an error frame is never itself undecodable.
 */
const framingError = <N extends string>(name: N, subId: number) => errors.status({ name, subId, section: '10.3.1', payload: { data } });

export const FramingError = {
  /** A pause greater than 100 ms occurred while receiving a frame. */
  RxTimeout: framingError('RxTimeout', 0xf0),
  MissingStartOfFrame: framingError('MissingStartOfFrame', 0xf1),
  ChecksumError: framingError('ChecksumError', 0xf2),
  MissingEndOfFrame: framingError('MissingEndOfFrame', 0xf3),
  ModuleUnknown: framingError('ModuleUnknown', 0xf4),
  /** Total frame size exceeds 4096 bytes. */
  FrameTooBig: framingError('FrameTooBig', 0xf5),
  /** 0xF6-0xFD: reserved; the manual says to treat them as synchronization errors. */
  ReservedF6: framingError('ReservedF6', 0xf6),
  ReservedF7: framingError('ReservedF7', 0xf7),
  ReservedF8: framingError('ReservedF8', 0xf8),
  ReservedF9: framingError('ReservedF9', 0xf9),
  ReservedFA: framingError('ReservedFA', 0xfa),
  ReservedFB: framingError('ReservedFB', 0xfb),
  ReservedFC: framingError('ReservedFC', 0xfc),
  ReservedFD: framingError('ReservedFD', 0xfd),
} as const;
