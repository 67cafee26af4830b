/** PLC service, module 0x2A (manual chapter 17): HomePlug Green PHY network and PIB file. */
import { moduleDefs } from '../message.js';
import { bytes, bytesToEnd, enumU8, fixedBytes, u16 } from '../schema.js';

const { command, status } = moduleDefs('Plc', 0x2a);

/** 17.3.1. */
export const JOIN_STATUSES = ['failed', 'success'] as const;

/** 17.4.2 / 17.4.3: PIB data area offsets (the area starts 0x3C0 into the PIB file). */
export const PIB_MAX_DATA = 600;

export const Plc = {
  /** 17.4.1: NID (the two top bits of its last byte must be zero, else ignored) and NMK. */
  JoinHpgpNetwork: command({ name: 'JoinHpgpNetwork', subId: 0x40, section: '17.4.1', request: { nid: fixedBytes(7), nmk: fixedBytes(16) } }),
  /** 17.4.2: "Length" is the uint16 length of "Data" (example: 00 06 then six bytes). */
  ChangePibFile: command({ name: 'ChangePibFile', subId: 0x41, section: '17.4.2', request: { offset: u16, data: bytes(1, PIB_MAX_DATA, 'u16') } }),
  /** 17.4.3: the data comes back without a length prefix (example: 33 = 1 + 32). */
  ReadFromPibFile: command({
    name: 'ReadFromPibFile',
    subId: 0x42,
    section: '17.4.3',
    request: { offset: u16, length: u16 },
    response: { data: bytesToEnd(PIB_MAX_DATA) },
  }),
  /** 17.3.1: the outcome of an accepted Join HPGP network. */
  StatusForJoiningHpgpNetwork: status({ name: 'StatusForJoiningHpgpNetwork', subId: 0x80, section: '17.3.1', payload: { status: enumU8(JOIN_STATUSES) } }),
} as const;
