/** Firmware Update module, module 0x11 (manual chapter 14): FWU file upload over HCI. */
import { moduleDefs } from '../message.js';
import { bytesToEnd, enumU8, string, trailing, u16, u32, u8Range } from '../schema.js';

const { command, status } = moduleDefs('FirmwareUpdate', 0x11);

/** 14.4.1: state of the update process. */
export const FWU_STATUSES = ['readyForUpdate', 'updateActive', 'checkingForNewFirmware', 'updateDone', 'updateFailed'] as const;
/** 14.4.2: 0 and 1 use the module's HTTP client (not supported); 2 receives the file over HCI. */
export const FWU_MODES = ['checkHttp', 'updateHttp', 'updateFraming'] as const;
export const FwuMode = { checkHttp: 0, updateHttp: 1, updateFraming: 2 } as const;
/** 14.5.4: the only request type. */
export const FWU_REQUEST_TYPES = ['repeatFrom'] as const;

/** 14.3.1: at most 2000 bytes of FWU file per frame, no length prefix (the example: 12 = 4 + 8). */
export const FWU_MAX_CHUNK = 2000;

export const FirmwareUpdate = {
  /** 14.3.1: a Sub-ID in the data transfer range that still gets a result code back. */
  FwuDataFrame: command({ name: 'FwuDataFrame', subId: 0x04, section: '14.3.1', request: { packetNumber: u32, data: bytesToEnd(FWU_MAX_CHUNK) } }),
  GetStatus: command({ name: 'GetStatus', subId: 0x40, section: '14.4.1', response: { status: enumU8(FWU_STATUSES), progressPercent: u8Range(0, 100) } }),
  /**
   * 14.4.2: the version string is optional and only meaningful for the HTTP modes; the receive
   * buffer size comes back only for mode 2. Both are therefore present only when bytes remain.
   */
  SetMode: command({
    name: 'SetMode',
    subId: 0x41,
    section: '14.4.2',
    request: { mode: enumU8(FWU_MODES), version: trailing(string(0, 255)) },
    response: { rxBufferBytes: trailing(u16) },
  }),
  FirmwareUpdateReady: status({ name: 'FirmwareUpdateReady', subId: 0x80, section: '14.5.1' }),
  /** 14.5.2, titled "Timeout (Update failed)". */
  Timeout: status({ name: 'Timeout', subId: 0x81, section: '14.5.2' }),
  /** 14.5.3, titled "Error (Update failed)". */
  Error: status({ name: 'Error', subId: 0x82, section: '14.5.3' }),
  /** 14.5.4: resend every data frame from `packetNumber` on. */
  RequestPackets: status({ name: 'RequestPackets', subId: 0x83, section: '14.5.4', payload: { requestType: enumU8(FWU_REQUEST_TYPES), packetNumber: u32 } }),
} as const;
