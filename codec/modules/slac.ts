/**
 * Slac module, module 0x28 (manual chapter 16): SLAC matching (ISO 15118-3) on the PLC link.
 *
 * JoinNetwork (0x4D) and JoinStatus (0x84) are not in manual rev 2.14; they come from the
 * reference (Whitebeet.py slacJoinNetwork/slacJoined), which talks to real firmware.
 */
import { MODULE_RESULT_CODES, moduleDefs } from '../message.js';
import { bool, enumU8, fixedBytes, u16, u8, u8Range } from '../schema.js';

const { command, status } = moduleDefs('Slac', 0x28);

/** 16.2: the one code SLAC adds to 10.1.5 (Stop SLAC answers it when already stopped). */
export const SlacResultCode = { wrongState: 0x10 } as const;
MODULE_RESULT_CODES.Slac = { [SlacResultCode.wrongState]: 'wrongState' };

/** 16.4.3: the side SLAC runs as. */
export const SlacMode = { EV: 0, EVSE: 1 } as const;
export const SLAC_MODES = ['EV', 'EVSE'] as const;

/** 16.4.6: states reported by Get State. */
export const SLAC_STATES = ['notInitialized', 'idle', 'starting', 'startedNotRunning', 'running', 'ready', 'failure'] as const;
export const SlacState = {
  notInitialized: 0,
  idle: 1,
  starting: 2,
  startedNotRunning: 3,
  running: 4,
  ready: 5,
  failure: 6,
} as const;

/** 16.4.7-16.4.10: one attenuation value per OFDM carrier group. */
export const ATTENUATION_GROUPS = 58;
const attenuation = fixedBytes(ATTENUATION_GROUPS);

/** 16.4.11: 0 no toggles, 1-3 toggles seen; 4-255 are invalid per the manual. */
const toggles = u8Range(0, 3);

/** Reference only: the HomePlug network identifier (7 bytes) and network membership key (16). */
export const NID_SIZE = 7;
export const NMK_SIZE = 16;

export const Slac = {
  SetInterface: command({ name: 'SetInterface', subId: 0x40, section: '16.4.1', request: { index: u8 } }),
  /** The manual marks it "not supported yet"; 0xFF means no interface configured. */
  GetInterface: command({ name: 'GetInterface', subId: 0x41, section: '16.4.2', response: { index: u8 } }),
  StartSlac: command({ name: 'StartSlac', subId: 0x42, section: '16.4.3', request: { mode: enumU8(SLAC_MODES) } }),
  StopSlac: command({ name: 'StopSlac', subId: 0x43, section: '16.4.4' }),
  StartMatching: command({ name: 'StartMatching', subId: 0x44, section: '16.4.5' }),
  GetState: command({ name: 'GetState', subId: 0x45, section: '16.4.6', response: { state: enumU8(SLAC_STATES) } }),
  SetAttnRxValues: command({ name: 'SetAttnRxValues', subId: 0x46, section: '16.4.7', role: 'EVSE', request: { attnRx: attenuation } }),
  GetAttnRxValues: command({ name: 'GetAttnRxValues', subId: 0x47, section: '16.4.8', role: 'EVSE', response: { attnRx: attenuation } }),
  SetAttnTxRefValues: command({
    name: 'SetAttnTxRefValues',
    subId: 0x48,
    section: '16.4.9',
    role: 'EV',
    request: { attnTxRef: attenuation },
  }),
  GetAttnTxRefValues: command({
    name: 'GetAttnTxRefValues',
    subId: 0x49,
    section: '16.4.10',
    role: 'EV',
    response: { attnTxRef: attenuation },
  }),
  SetBcbToggleResult: command({ name: 'SetBcbToggleResult', subId: 0x4a, section: '16.4.11', request: { toggles } }),
  SetValidationConfiguration: command({
    name: 'SetValidationConfiguration',
    subId: 0x4b,
    section: '16.4.12',
    request: { enabled: bool },
  }),
  GetValidationConfiguration: command({
    name: 'GetValidationConfiguration',
    subId: 0x4c,
    section: '16.4.13',
    response: { enabled: bool },
  }),
  /** Joins the network given by NID and NMK without matching (reference: slacJoinNetwork). */
  JoinNetwork: command({
    name: 'JoinNetwork',
    subId: 0x4d,
    section: 'reference',
    request: { nid: fixedBytes(NID_SIZE), nmk: fixedBytes(NMK_SIZE) },
  }),
  SlacSuccess: status({ name: 'SlacSuccess', subId: 0x80, section: '16.3.1' }),
  SlacFailed: status({ name: 'SlacFailed', subId: 0x81, section: '16.3.2' }),
  /** Sent to the EVSE host: count CP state toggles for this window, then Set BCB Toggle Result. */
  BcbTogglingStarted: status({ name: 'BcbTogglingStarted', subId: 0x82, section: '16.3.3', payload: { bcbTimeWindowMs: u16 } }),
  BcbTogglingFinished: status({ name: 'BcbTogglingFinished', subId: 0x83, section: '16.3.4' }),
  /** Result of JoinNetwork (reference: slacJoined): true when the network was joined. */
  JoinStatus: status({ name: 'JoinStatus', subId: 0x84, section: 'reference', payload: { joined: bool } }),
} as const;
