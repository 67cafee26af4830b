/**
 * V2g module in EV mode, module 0x27 (manual 18.3, 18.6, 18.9, 18.11): the commands an EV host
 * sends (0xA0-0xAE) and the status messages it receives (0xC0-0xCD).
 *
 * Physical values are `exponential` (18.1) and carry their unit in the name. Where the manual's
 * table and its example disagree, the table is followed (docs/codec-notes-v2g-ev.md).
 */
import { moduleDefs } from '../../message.js';
import { array, bool, enumU8, exponential, fixedBytes, optional, s16, string, struct, u16, u32, u8, u8Range } from '../../schema.js';
import { NOTIFICATION_TYPES, PAYMENT_METHODS, energyTransferModeType, evErrorCodeType, evseStatusType, isolationLevelType, paymentMethodType, protocolType } from './common.js';

const { command, status } = moduleDefs('V2g', 0x27);

const percent = u8Range(0, 100);

/** 18.9.1: an EV supports EIM only (count "uint8 (1)", method "uint8 (0)"). */
const evPaymentMethod = enumU8([PAYMENT_METHODS[0]]);

/** 18.9.1 / 18.9.2: the session configuration. */
const configuration = {
  /** The specification asks for the EV's MAC address. */
  evId: fixedBytes(6),
  protocols: array(protocolType, 1, 2),
  paymentMethods: array(evPaymentMethod, 1, 1),
  energyTransferModes: array(energyTransferModeType, 1, 6),
  batteryCapacityWh: exponential,
};

/** 18.9.3-18.9.5: the part of the DC parameters that Update DC Charging Parameters also sends. */
const dcLoopParameters = {
  minVoltageV: exponential,
  minCurrentA: exponential,
  minPowerW: exponential,
  maxVoltageV: exponential,
  maxCurrentA: exponential,
  maxPowerW: exponential,
  socPercent: percent,
  /** 0 ready, 1-7 the ISO DC_EVErrorCode (see EV_ERROR_CODES). */
  status: evErrorCodeType,
  targetVoltageV: exponential,
  targetCurrentA: exponential,
};
const dcParameters = {
  ...dcLoopParameters,
  fullSocPercent: percent,
  bulkSocPercent: percent,
  energyRequestWh: exponential,
  departureTimeS: u32,
};

/** 18.9.6-18.9.8: the AC limits; Set and Get add energy request and departure time. */
const acLoopParameters = {
  minVoltageV: exponential,
  minCurrentA: exponential,
  minPowerW: exponential,
  maxVoltageV: exponential,
  maxCurrentA: exponential,
  maxPowerW: exponential,
};
const acParameters = {
  ...acLoopParameters,
  energyRequestWh: exponential,
  departureTimeS: u32,
};

/** 18.9.9 / 18.11.4: one entry of a profile or schedule, times in seconds from now. */
const scheduleEntry = struct({ startS: u32, intervalS: u32, powerW: exponential });

/** 18.11.4: one SAScheduleTuple; the entry count is a uint16 (1-1024). */
const scheduleTuple = struct({ scheduleTupleId: s16, entries: array(scheduleEntry, 1, 1024, 'u16') });

export const V2gEv = {
  EvSetConfiguration: command({ name: 'EvSetConfiguration', subId: 0xa0, section: '18.9.1', role: 'EV', request: configuration }),
  EvGetConfiguration: command({ name: 'EvGetConfiguration', subId: 0xa1, section: '18.9.2', role: 'EV', response: configuration }),
  EvSetDcChargingParameters: command({
    name: 'EvSetDcChargingParameters',
    subId: 0xa2,
    section: '18.9.3',
    role: 'EV',
    request: dcParameters,
  }),
  EvUpdateDcChargingParameters: command({
    name: 'EvUpdateDcChargingParameters',
    subId: 0xa3,
    section: '18.9.4',
    role: 'EV',
    request: dcLoopParameters,
  }),
  EvGetDcChargingParameters: command({
    name: 'EvGetDcChargingParameters',
    subId: 0xa4,
    section: '18.9.5',
    role: 'EV',
    response: dcParameters,
  }),
  EvSetAcChargingParameters: command({
    name: 'EvSetAcChargingParameters',
    subId: 0xa5,
    section: '18.9.6',
    role: 'EV',
    request: acParameters,
  }),
  EvUpdateAcChargingParameters: command({
    name: 'EvUpdateAcChargingParameters',
    subId: 0xa6,
    section: '18.9.7',
    role: 'EV',
    request: acLoopParameters,
  }),
  EvGetAcChargingParameters: command({
    name: 'EvGetAcChargingParameters',
    subId: 0xa7,
    section: '18.9.8',
    role: 'EV',
    response: acParameters,
  }),
  /** The profile the EV will follow, chosen from a received schedule tuple (1-24 entries). */
  EvSetChargingProfile: command({
    name: 'EvSetChargingProfile',
    subId: 0xa8,
    section: '18.9.9',
    role: 'EV',
    request: { scheduleTupleId: s16, entries: array(scheduleEntry, 1, 24) },
  }),
  EvStartSession: command({ name: 'EvStartSession', subId: 0xa9, section: '18.9.10', role: 'EV' }),
  EvStartCableCheck: command({ name: 'EvStartCableCheck', subId: 0xaa, section: '18.9.11', role: 'EV' }),
  EvStartPreCharging: command({ name: 'EvStartPreCharging', subId: 0xab, section: '18.9.12', role: 'EV' }),
  EvStartCharging: command({ name: 'EvStartCharging', subId: 0xac, section: '18.9.13', role: 'EV' }),
  /** renegotiation true: renegotiate the charge parameters instead of stopping. */
  EvStopCharging: command({ name: 'EvStopCharging', subId: 0xad, section: '18.9.14', role: 'EV', request: { renegotiation: bool } }),
  EvStopSession: command({ name: 'EvStopSession', subId: 0xae, section: '18.9.15', role: 'EV' }),

  EvSessionStarted: status({
    name: 'EvSessionStarted',
    subId: 0xc0,
    section: '18.11.1',
    role: 'EV',
    payload: {
      selectedProtocol: protocolType,
      sessionId: fixedBytes(8),
      evseId: string(0, 37),
      selectedPaymentMethod: paymentMethodType,
      selectedEnergyTransferMode: energyTransferModeType,
    },
  }),
  /** The EVSE's DC limits and present output. */
  EvDcChargeParametersChanged: status({
    name: 'EvDcChargeParametersChanged',
    subId: 0xc1,
    section: '18.11.2',
    role: 'EV',
    payload: {
      minVoltageV: exponential,
      minCurrentA: exponential,
      minPowerW: exponential,
      maxVoltageV: exponential,
      maxCurrentA: exponential,
      maxPowerW: exponential,
      /** Valid only from Start Pre Charging until Session Stopped. */
      presentVoltageV: exponential,
      /** Valid only from Charging Started until Charging Stopped. */
      presentCurrentA: exponential,
      status: evseStatusType,
      isolationStatus: optional(isolationLevelType),
      voltageLimitAchieved: bool,
      currentLimitAchieved: bool,
      powerLimitAchieved: bool,
      peakCurrentRippleA: exponential,
      currentRegulationToleranceA: optional(exponential),
      energyToBeDeliveredWh: optional(exponential),
    },
  }),
  EvAcChargeParametersChanged: status({
    name: 'EvAcChargeParametersChanged',
    subId: 0xc2,
    section: '18.11.3',
    role: 'EV',
    payload: {
      nominalVoltageV: exponential,
      maxCurrentA: exponential,
      /** true: the residual current device has detected an error. */
      rcd: bool,
    },
  }),
  EvScheduleReceived: status({
    name: 'EvScheduleReceived',
    subId: 0xc3,
    section: '18.11.4',
    role: 'EV',
    payload: { scheduleTuples: array(scheduleTuple, 1, 3) },
  }),
  EvCableCheckReady: status({ name: 'EvCableCheckReady', subId: 0xc4, section: '18.11.5', role: 'EV' }),
  EvCableCheckFinished: status({ name: 'EvCableCheckFinished', subId: 0xc5, section: '18.11.6', role: 'EV' }),
  EvPreChargingReady: status({ name: 'EvPreChargingReady', subId: 0xc6, section: '18.11.7', role: 'EV' }),
  EvChargingReady: status({ name: 'EvChargingReady', subId: 0xc7, section: '18.11.8', role: 'EV' }),
  EvChargingStarted: status({ name: 'EvChargingStarted', subId: 0xc8, section: '18.11.9', role: 'EV' }),
  EvChargingStopped: status({ name: 'EvChargingStopped', subId: 0xc9, section: '18.11.10', role: 'EV' }),
  EvPostChargingReady: status({ name: 'EvPostChargingReady', subId: 0xca, section: '18.11.11', role: 'EV' }),
  EvSessionStopped: status({ name: 'EvSessionStopped', subId: 0xcb, section: '18.11.12', role: 'EV' }),
  /** The EVSE asks to stop charging or to renegotiate within maxDelayS seconds. */
  EvNotificationReceived: status({
    name: 'EvNotificationReceived',
    subId: 0xcc,
    section: '18.11.13',
    role: 'EV',
    payload: { type: enumU8(NOTIFICATION_TYPES), maxDelayS: u16 },
  }),
  /** code: see EV_SESSION_ERRORS; the table gives no range, so any byte decodes. */
  EvSessionError: status({ name: 'EvSessionError', subId: 0xcd, section: '18.11.14', role: 'EV', payload: { code: u8 } }),
} as const;
