/** System module, module 0x10 (manual chapter 11). */
import { MODULE_RESULT_CODES, moduleDefs } from '../message.js';
import { SchemaError, type Type, bytes, enumU8, fixedBytes, string, u32 } from '../schema.js';

const { command } = moduleDefs('System', 0x10);

/** 11.2: the code the System module adds to the generic ones of 10.1.5 (Get File Hash). */
export const SystemResultCode = { fileNotFound: 0x10 } as const;
MODULE_RESULT_CODES.System = { [SystemResultCode.fileNotFound]: 'fileNotFound' };

/** 11.3.8 / 11.3.9. */
export const SAVE_MODES = ['manual', 'automatic'] as const;
export const SaveMode = { manual: 0, automatic: 1 } as const;
const saveMode = enumU8(SAVE_MODES);

const prefixedMac = bytes(6, 6);
const bareMac = fixedBytes(6);
/**
 * 11.3.3: the table says `uint8[6]`, but the example frame (whose size field, 8, counts it) puts
 * a length byte 06 before the address, as the module does for every variable field it sends.
 * We send the example's form and accept both: six bytes alone are read as the table's form.
 */
const macAddress: Type<Uint8Array> = {
  shape: prefixedMac.shape,
  read(r) {
    return r.remaining === 6 ? bareMac.read(r) : prefixedMac.read(r);
  },
  write(w, v) {
    if (v.length !== 6) throw new SchemaError('length', w.path, `must be 6 bytes, got ${v.length}`);
    prefixedMac.write(w, v);
  },
};

export const System = {
  GetVersion: command({ name: 'GetVersion', subId: 0x40, section: '11.3.1', response: { version: string(0, 12) } }),
  /**
   * 11.3.2: result code, then a length-prefixed string. (The Python reference reads code and
   * length as one uint16, which only works when the code is 0.)
   */
  GetFirmwareVersion: command({ name: 'GetFirmwareVersion', subId: 0x41, section: '11.3.2', response: { version: string(0, 32) } }),
  GetMacAddress: command({ name: 'GetMacAddress', subId: 0x45, section: '11.3.3', response: { mac: macAddress } }),
  /** 11.3.4: the serial number can be set only once. */
  SetSerialNumber: command({ name: 'SetSerialNumber', subId: 0x46, section: '11.3.4', request: { serialNumber: string(0, 15) } }),
  /** 11.3.5: the table calls the field "Version"; it is the serial number. */
  GetSerialNumber: command({ name: 'GetSerialNumber', subId: 0x47, section: '11.3.5', response: { serialNumber: string(0, 15) } }),
  RestartSystem: command({ name: 'RestartSystem', subId: 0x48, section: '11.3.6' }),
  FactoryReset: command({ name: 'FactoryReset', subId: 0x49, section: '11.3.7' }),
  SetSaveMode: command({ name: 'SetSaveMode', subId: 0x4a, section: '11.3.8', request: { mode: saveMode } }),
  GetSaveMode: command({ name: 'GetSaveMode', subId: 0x4b, section: '11.3.9', response: { mode: saveMode } }),
  SaveConfiguration: command({ name: 'SaveConfiguration', subId: 0x4c, section: '11.3.10' }),
  GetApiInfo: command({ name: 'GetApiInfo', subId: 0x57, section: '11.3.11', response: { type: string(0, 32), version: string(0, 32) } }),
  GetUptime: command({ name: 'GetUptime', subId: 0x58, section: '11.3.12', response: { uptimeS: u32 } }),
  GetKernelVersion: command({ name: 'GetKernelVersion', subId: 0x59, section: '11.3.13', response: { version: string(0, 12) } }),
  /** 11.3.14: size and SHA-256 of a file in the module's file system; 0x10 when it does not exist. */
  GetFileHash: command({
    name: 'GetFileHash',
    subId: 0x5a,
    section: '11.3.14',
    request: { filename: string(0, 255) },
    response: { fileSizeBytes: u32, sha256: fixedBytes(32) },
  }),
} as const;
