/**
 * `freev2g/codec`: the HCI codec alone — framing (manual ch. 10), the Ethernet control header and
 * SPI frames (9.1/9.2), and every module's messages as typed values. Pure: no Node APIs, no I/O,
 * so it runs in a browser as well (e.g. to decode frames in a web page).
 */
export * from './catalog.js';
export {
  Deframer,
  type DeframeItem,
  type EncodeFrameOptions,
  type Frame,
  type FramingError as FrameError,
  type FramingErrorKind,
  MAX_FRAME_SIZE,
  STATUS_REQ_ID,
  bytesToHex,
  computeChecksum,
  encodeFrame,
  hexToBytes,
  parseFrame,
} from './frame.js';
export * from './link-headers.js';
export type { CommandDef, MessageDef, ModuleName, Role, StatusDef } from './message.js';
