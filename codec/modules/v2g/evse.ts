/**
 * V2g module in EVSE mode, module 0x27 (manual 18.4, 18.7, 18.10, 18.12): the commands an EVSE
 * host sends (0x60-0x76) and the status messages it receives (0x80-0x91).
 *
 * Physical values are `exponential` (18.1) and carry their unit in the name; "type[0-1]" fields
 * are `optional` (presence byte). Where the manual's table and its example disagree the table is
 * followed; where the reference (FreeV2G Whitebeet.py) disagrees with the manual the manual is
 * followed. Both kinds are listed in docs/codec-notes-v2g-evse.md.
 */
import { moduleDefs } from '../../message.js';
import {
  type Infer,
  type Reader,
  SchemaError,
  type Type,
  type Writer,
  array,
  bool,
  bytes,
  enumU8,
  exponential,
  fixedBytes,
  optional,
  s16,
  s8,
  string,
  struct,
  trailing,
  u16,
  u16Range,
  u32,
  u8,
  u8Range,
} from '../../schema.js';
import { CLOSURE_TYPES, energyTransferModeType, evErrorCodeType, evseSessionErrorType, evseStatusType, isolationLevelType, paymentMethodType, protocolType } from './common.js';

const { command, status } = moduleDefs('V2g', 0x27);
const role = 'EVSE' as const;

const percent = u8Range(0, 100);

/** 18.10.12: the host's answer to Authorization Status Requested. */
export const AUTHORIZATION_RESULTS = ['succeeded', 'failed'] as const;
export const AuthorizationResult = { succeeded: 0, failed: 1 } as const;
/** 18.10.13: the host's answer to Schedules Requested. */
export const SCHEDULES_RESULTS = ['ok', 'unableToDeliverSchedules'] as const;
export const SchedulesResult = { ok: 0, unableToDeliverSchedules: 1 } as const;
/** 18.10.14: the host's answer to Cable Check Requested. */
export const CABLE_CHECK_RESULTS = ['succeeded', 'failed'] as const;
export const CableCheckResult = { succeeded: 0, failed: 1 } as const;
/** 18.10.18: outcome of the host's certificate installation/update processing. */
export const CERTIFICATE_RESPONSE_STATUSES = ['success', 'timeout', 'certificateInvalid'] as const;
export const CertificateResponseStatus = { success: 0, timeout: 1, certificateInvalid: 2 } as const;
/** 18.10.13: kind of a sales tariff cost element (ISO 15118-2 costKind). */
export const COST_KINDS = ['relativePricePercentage', 'renewableGenerationPercentage', 'carbonDioxideEmission'] as const;
export const CostKind = { relativePricePercentage: 0, renewableGenerationPercentage: 1, carbonDioxideEmission: 2 } as const;

/**
 * A 64-bit integer as a JS number (meter readings in Wh, Unix timestamps): exact up to 2^53-1;
 * larger values are a typed range error rather than a silently rounded number.
 */
function int64(signed: boolean): Type<number> {
  const min = signed ? Number.MIN_SAFE_INTEGER : 0;
  const max = Number.MAX_SAFE_INTEGER;
  return {
    shape: { t: 'int', min, max },
    wire: { w: 'int', size: 8, signed },
    read(r: Reader) {
      const b = r.take(8);
      const view = new DataView(b.buffer, b.byteOffset, 8);
      const big = signed ? view.getBigInt64(0) : view.getBigUint64(0);
      if (big < BigInt(min) || big > BigInt(max)) throw new SchemaError('range', r.path, `${big} is beyond ${min}..${max}`);
      return Number(big);
    },
    write(w: Writer, v: number) {
      if (!Number.isInteger(v) || v < min || v > max) throw new SchemaError('range', w.path, `${v} is outside ${min}..${max}`);
      const b = new Uint8Array(8);
      const view = new DataView(b.buffer);
      if (signed) view.setBigInt64(0, BigInt(v));
      else view.setBigUint64(0, BigInt(v));
      w.bytes(b);
    },
  };
}
const u64 = int64(false);
const s64 = int64(true);

/** 18.10.1 / 18.10.2: the session configuration (the EVSE ID is set here, in both formats). */
const configuration = {
  /** DIN format, e.g. "+49*123*456*789". */
  evseIdDin: string(0, 32),
  /** ISO format, e.g. "DE*A23*E45B*78C". */
  evseIdIso: string(0, 38),
  protocols: array(protocolType, 1, 2),
  /** EIM (0) cannot be omitted (18.10.1); the module checks that, not the codec. */
  paymentMethods: array(paymentMethodType, 1, 2),
  energyTransferModes: array(energyTransferModeType, 1, 6),
  certificateInstallationSupported: bool,
  certificateUpdateSupported: bool,
};

/** 18.10.3 / 18.10.5: the DC limits of the EVSE. */
const dcLimits = {
  isolationLevel: isolationLevelType,
  minVoltageV: exponential,
  minCurrentA: exponential,
  maxVoltageV: exponential,
  maxCurrentA: exponential,
  maxPowerW: exponential,
  currentRegulationToleranceA: optional(exponential),
  peakCurrentRippleA: exponential,
};

/** 18.10.6 / 18.10.8: RCD status true means the RCD detected an error (informational). */
const acParameters = {
  rcdStatus: bool,
  nominalVoltageV: exponential,
  maxCurrentA: exponential,
};

/** 18.10.9 / 18.10.10: an SDP listen port; absent = that kind of connection is not allowed. */
const sdpPort = optional(u16Range(49152, 65535));
const sdpConfig = {
  /** "Allow unsecure" true followed by the port. */
  unsecurePort: sdpPort,
  /** "Allow secure" true followed by the port. */
  securePort: sdpPort,
};

/** 18.10.13: one entry of a schedule tuple (PMaxSchedule entry). */
const scheduleEntry = struct({
  /** Start of the entry, seconds from now. */
  startS: u32,
  intervalS: u32,
  /** Power available in this interval (limited to 32.767 kW with DIN). */
  powerW: exponential,
});

const scheduleTuple = struct({
  scheduleTupleId: s16,
  entries: array(scheduleEntry, 1, 20, 'u16'),
});

const cost = struct({
  kind: enumU8(COST_KINDS),
  /** Cost per kWh: amount x 10^amountMultiplier. */
  amount: u32,
  amountMultiplier: s8Range(-3, 3),
});

const consumptionCost = struct({
  startValue: exponential,
  costs: array(cost, 1, 3),
});

const salesTariffEntry = struct({
  timeIntervalStartS: u32Range(0, 16777214),
  timeIntervalDurationS: u32Range(0, 86400),
  priceLevel: u8,
  consumptionCosts: array(consumptionCost, 0, 3),
});

const salesTariff = struct({
  salesTariffId: u8Range(1, 255),
  salesTariffDescription: string(0, 32),
  numberOfPriceLevels: u8,
  entries: array(salesTariffEntry, 1, 20, 'u16'),
  signatureId: string(1, 254),
  /** SHA-256 of the EXI sales tariff: uint8[32], a fixed-size field (no length byte). */
  digestValue: fixedBytes(32),
});

const salesTariffsValue = struct({
  tariffs: array(salesTariff, 1, 3),
  /** ECDSA signature of the signed info: uint8[64], fixed size. */
  signatureValue: fixedBytes(64),
});
export type SalesTariffs = Infer<typeof salesTariffsValue>;

/**
 * 18.10.13: "Sales tariff tuple count uint8 (0-3)", the tuples, then the signature value, which
 * is omitted when the count is zero. Absent (undefined) is sent as count 0.
 */
const salesTariffs: Type<SalesTariffs | undefined> = {
  shape: { t: 'optional', item: salesTariffsValue.shape },
  read(r) {
    const n = r.u8();
    if (n === 0) return undefined;
    if (n > 3) throw new SchemaError('length', r.path, `count ${n} is outside 0..3`);
    r.pos -= 1;
    const base = r.path;
    r.path = `${base}.tariffs`;
    const tariffs = array(salesTariff, 1, 3).read(r);
    r.path = `${base}.signatureValue`;
    const signatureValue = fixedBytes(64).read(r);
    r.path = base;
    return { tariffs, signatureValue };
  },
  write(w, v) {
    if (v === undefined) w.u8(0);
    else salesTariffsValue.write(w, v);
  },
};

function s8Range(min: number, max: number): Type<number> {
  return ranged(s8, min, max);
}
function u32Range(min: number, max: number): Type<number> {
  return ranged(u32, min, max);
}
/** Narrows an integer type to a range, keeping typed errors on both paths. */
function ranged(base: Type<number>, min: number, max: number): Type<number> {
  const check = (path: string, v: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new SchemaError('range', path, `${v} is outside ${min}..${max}`);
  };
  return {
    shape: { t: 'int', min, max },
    ...(base.wire ? { wire: base.wire } : {}),
    read(r) {
      const v = base.read(r);
      check(r.path, v);
      return v;
    },
    write(w, v) {
      check(w.path, v);
      base.write(w, v);
    },
  };
}

/** 18.12.4: the DC_EVChargeParameter part of Energy Transfer Mode Selected. */
const dcEvChargeParameter = struct({
  energyCapacityWh: exponential,
  fullSocPercent: optional(percent),
  bulkSocPercent: optional(percent),
  ready: bool,
  errorCode: evErrorCodeType,
  socPercent: percent,
});

/** 18.12.2: the contract data that follow when the EV selected contract payment (PnC). */
const contractData = struct({
  /** uint8[0-800]: lengths above 255 need a uint16 length (as EXI data in 18.10.18). */
  contractCertificate: bytes(0, 800, 'u16'),
  moSubCa2: bytes(0, 800, 'u16'),
  moSubCa1: bytes(0, 800, 'u16'),
  emaid: string(14, 15),
});

/** 18.12.15 / 18.12.16 / 18.10.18: EXI message with its 8-byte V2GTP header, uint16 length. */
const exiMessage = bytes(0, 6000, 'u16');

export const V2gEvse = {
  EvseSetConfiguration: command({ name: 'EvseSetConfiguration', subId: 0x60, section: '18.10.1', role, request: configuration }),
  EvseGetConfiguration: command({ name: 'EvseGetConfiguration', subId: 0x61, section: '18.10.2', role, response: configuration }),
  EvseSetDcChargingParameters: command({
    name: 'EvseSetDcChargingParameters',
    subId: 0x62,
    section: '18.10.3',
    role,
    request: { ...dcLimits, status: evseStatusType },
  }),
  EvseUpdateDcChargingParameters: command({
    name: 'EvseUpdateDcChargingParameters',
    subId: 0x63,
    section: '18.10.4',
    role,
    request: {
      isolationLevel: isolationLevelType,
      presentVoltageV: exponential,
      presentCurrentA: exponential,
      maxVoltageV: optional(exponential),
      maxCurrentA: optional(exponential),
      maxPowerW: optional(exponential),
      status: evseStatusType,
    },
  }),
  EvseGetDcChargingParameters: command({
    name: 'EvseGetDcChargingParameters',
    subId: 0x64,
    section: '18.10.5',
    role,
    response: { ...dcLimits, presentVoltageV: optional(exponential), presentCurrentA: optional(exponential), status: evseStatusType },
  }),
  EvseSetAcChargingParameters: command({ name: 'EvseSetAcChargingParameters', subId: 0x65, section: '18.10.6', role, request: acParameters }),
  EvseUpdateAcChargingParameters: command({
    name: 'EvseUpdateAcChargingParameters',
    subId: 0x66,
    section: '18.10.7',
    role,
    request: { rcdStatus: bool, maxCurrentA: optional(exponential) },
  }),
  EvseGetAcChargingParameters: command({ name: 'EvseGetAcChargingParameters', subId: 0x67, section: '18.10.8', role, response: acParameters }),
  EvseSetSdpConfig: command({ name: 'EvseSetSdpConfig', subId: 0x68, section: '18.10.9', role, request: sdpConfig }),
  EvseGetSdpConfig: command({ name: 'EvseGetSdpConfig', subId: 0x69, section: '18.10.10', role, response: sdpConfig }),
  EvseStartListen: command({ name: 'EvseStartListen', subId: 0x6a, section: '18.10.11', role }),
  EvseSetAuthorizationStatus: command({
    name: 'EvseSetAuthorizationStatus',
    subId: 0x6b,
    section: '18.10.12',
    role,
    request: { result: enumU8(AUTHORIZATION_RESULTS) },
  }),
  EvseSetSchedules: command({
    name: 'EvseSetSchedules',
    subId: 0x6c,
    section: '18.10.13',
    role,
    request: {
      result: enumU8(SCHEDULES_RESULTS),
      /** The manual says 1-3; with "unable to deliver" the reference sends 0 tuples. */
      scheduleTuples: array(scheduleTuple, 0, 3),
      energyToBeDeliveredWh: optional(exponential),
      salesTariffs,
    },
  }),
  EvseSetCableCheckFinished: command({
    name: 'EvseSetCableCheckFinished',
    subId: 0x6d,
    section: '18.10.14',
    role,
    request: { result: enumU8(CABLE_CHECK_RESULTS) },
  }),
  EvseStartCharging: command({ name: 'EvseStartCharging', subId: 0x6e, section: '18.10.15', role }),
  EvseStopCharging: command({ name: 'EvseStopCharging', subId: 0x6f, section: '18.10.16', role }),
  EvseStopListen: command({ name: 'EvseStopListen', subId: 0x70, section: '18.10.17', role }),
  EvseSetCertificateInstallationOrUpdateResponse: command({
    name: 'EvseSetCertificateInstallationOrUpdateResponse',
    subId: 0x73,
    section: '18.10.18',
    role,
    request: { status: enumU8(CERTIFICATE_RESPONSE_STATUSES), exiResponse: exiMessage },
  }),
  EvseSetMeterReceiptRequest: command({
    name: 'EvseSetMeterReceiptRequest',
    subId: 0x74,
    section: '18.10.19',
    role,
    request: {
      meterId: string(0, 32),
      meterReadingWh: optional(u64),
      /** uint8[0-64], length-prefixed; empty = no signature. */
      meterReadingSignature: bytes(0, 64),
      meterStatus: optional(s16),
      /** Unix time, seconds. */
      meterTimestampS: optional(s64),
    },
  }),
  EvseSendNotification: command({
    name: 'EvseSendNotification',
    subId: 0x75,
    section: '18.10.20',
    role,
    /** renegotiation false: the EV is asked to stop charging. */
    request: { renegotiation: bool, timeoutS: u16 },
  }),
  /** Not in manual rev 2.14; FreeV2G's v2gEvseSetSessionParameterTimeout (uint16 ms). */
  EvseSetSessionParameterTimeout: command({
    name: 'EvseSetSessionParameterTimeout',
    subId: 0x76,
    section: 'FreeV2G',
    role,
    request: { timeoutMs: u16 },
  }),

  EvseSessionStarted: status({
    name: 'EvseSessionStarted',
    subId: 0x80,
    section: '18.12.1',
    role,
    payload: { protocol: protocolType, sessionId: fixedBytes(8), evccId: bytes(0, 20) },
  }),
  EvsePaymentSelected: status({
    name: 'EvsePaymentSelected',
    subId: 0x81,
    section: '18.12.2',
    role,
    payload: { selectedPaymentMethod: paymentMethodType, contract: trailing(contractData) },
  }),
  EvseAuthorizationStatusRequested: status({
    name: 'EvseAuthorizationStatusRequested',
    subId: 0x82,
    section: '18.12.3',
    role,
    payload: { timeoutMs: u32 },
  }),
  EvseEnergyTransferModeSelected: status({
    name: 'EvseEnergyTransferModeSelected',
    subId: 0x83,
    section: '18.12.4',
    role,
    payload: {
      /** Offset from now when the EV intends to finish charging. */
      departureTimeS: optional(u32),
      energyRequestWh: optional(exponential),
      maxVoltageV: exponential,
      minCurrentA: optional(exponential),
      maxCurrentA: exponential,
      maxPowerW: optional(exponential),
      selectedEnergyTransferMode: energyTransferModeType,
      /**
       * Present with the DC modes. The table lists these fields unconditionally; the reference
       * reads them only for modes 0-3, so an AC frame may end here (see the notes).
       */
      dcParameters: trailing(dcEvChargeParameter),
    },
  }),
  EvseSchedulesRequested: status({
    name: 'EvseSchedulesRequested',
    subId: 0x84,
    section: '18.12.5',
    role,
    payload: { timeoutMs: u32, maxEntries: u16 },
  }),
  EvseDcChargeParametersChanged: status({
    name: 'EvseDcChargeParametersChanged',
    subId: 0x85,
    section: '18.12.6',
    role,
    payload: {
      maxVoltageV: exponential,
      maxCurrentA: exponential,
      maxPowerW: optional(exponential),
      ready: bool,
      errorCode: evErrorCodeType,
      socPercent: percent,
      /** Valid only in the charge loop, from PreCharge Started until Stop Charging. */
      targetVoltageV: exponential,
      targetCurrentA: exponential,
      fullSocPercent: optional(percent),
      bulkSocPercent: optional(percent),
      chargingComplete: bool,
      bulkChargingComplete: optional(bool),
      remainingTimeToFullSocS: optional(exponential),
      remainingTimeToBulkSocS: optional(exponential),
    },
  }),
  EvseAcChargeParametersChanged: status({
    name: 'EvseAcChargeParametersChanged',
    subId: 0x86,
    section: '18.12.7',
    role,
    payload: { maxVoltageV: exponential, minCurrentA: exponential, maxCurrentA: exponential, energyAmountWh: exponential },
  }),
  EvseCableCheckRequested: status({ name: 'EvseCableCheckRequested', subId: 0x87, section: '18.12.8', role, payload: { timeoutMs: u32 } }),
  EvsePreChargeStarted: status({ name: 'EvsePreChargeStarted', subId: 0x88, section: '18.12.9', role }),
  EvseStartChargingRequested: status({
    name: 'EvseStartChargingRequested',
    subId: 0x89,
    section: '18.12.10',
    role,
    payload: {
      timeoutMs: u32,
      scheduleTupleId: s16,
      /** The EV power profile. */
      chargingProfile: array(struct({ startS: u32, powerW: exponential }), 1, 24),
    },
  }),
  EvseStopChargingRequested: status({
    name: 'EvseStopChargingRequested',
    subId: 0x8a,
    section: '18.12.11',
    role,
    payload: { timeoutMs: u32, renegotiation: bool },
  }),
  EvseWeldingDetectionStarted: status({ name: 'EvseWeldingDetectionStarted', subId: 0x8b, section: '18.12.12', role }),
  EvseSessionStopped: status({
    name: 'EvseSessionStopped',
    subId: 0x8c,
    section: '18.12.13',
    role,
    payload: { closureType: enumU8(CLOSURE_TYPES) },
  }),
  EvseSessionError: status({
    name: 'EvseSessionError',
    subId: 0x8e,
    section: '18.12.14',
    role,
    payload: { errorCode: evseSessionErrorType },
  }),
  EvseCertificateInstallationRequested: status({
    name: 'EvseCertificateInstallationRequested',
    subId: 0x8f,
    section: '18.12.15',
    role,
    payload: { timeoutMs: u32, exiRequest: exiMessage },
  }),
  EvseCertificateUpdateRequested: status({
    name: 'EvseCertificateUpdateRequested',
    subId: 0x90,
    section: '18.12.16',
    role,
    payload: { timeoutMs: u32, exiRequest: exiMessage },
  }),
  /** The table says Sub-ID 0x90 (taken by 18.12.16); the list in 18.7 and the reference say 0x91. */
  EvseMeteringReceiptStatus: status({
    name: 'EvseMeteringReceiptStatus',
    subId: 0x91,
    section: '18.12.17',
    role,
    payload: { status: bool },
  }),
} as const;
