/**
 * V2g module, module 0x27 (manual chapter 18): the commands both roles share (18.2, 18.8), the
 * module's extra result codes (18.5) and the enumerations that EV and EVSE messages have in
 * common. ev.ts and evse.ts import the enumerations from here so both sides name values alike.
 */
import { MODULE_RESULT_CODES, moduleDefs } from '../../message.js';
import { enumU8 } from '../../schema.js';

const { command } = moduleDefs('V2g', 0x27);

/** 18.5: codes the V2G module adds to the generic ones of 10.1.5. */
export const V2gResultCode = {
  settingFailed: 0x10,
  wrongState: 0x11,
} as const;
MODULE_RESULT_CODES.V2g = {
  [V2gResultCode.settingFailed]: 'settingFailed',
  [V2gResultCode.wrongState]: 'wrongState',
};

/** 18.8.1 / 18.8.2: module role; Get Mode also answers 2 "undefined" before any Set Mode. */
export const V2gMode = { EV: 0, EVSE: 1 } as const;
export const V2G_MODES = ['EV', 'EVSE', 'undefined'] as const;

/** 18.9.1, 18.10.1, 18.11.1, 18.12.1: 0 DIN 70121:2012, 1 ISO 15118-2:2014. */
export const PROTOCOLS = ['DIN70121', 'ISO15118-2'] as const;
export const Protocol = { DIN70121: 0, ISO15118_2: 1 } as const;

/** 18.10.1, 18.12.2: 0 External Identification Means, 1 Plug and Charge (contract). */
export const PAYMENT_METHODS = ['EIM', 'PnC'] as const;
export const PaymentMethod = { EIM: 0, PnC: 1 } as const;

/** 18.9.1, 18.10.1, 18.11.1, 18.12.4: the ISO 15118 EnergyTransferMode values. */
export const ENERGY_TRANSFER_MODES = ['dcCore', 'dcExtended', 'dcComboCore', 'dcUnique', 'acSinglePhase', 'acThreePhase'] as const;
export const EnergyTransferMode = {
  dcCore: 0,
  dcExtended: 1,
  dcComboCore: 2,
  dcUnique: 3,
  acSinglePhase: 4,
  acThreePhase: 5,
} as const;

/** 18.10.3/18.10.4, 18.11.2: DC EVSE status. */
export const EVSE_STATUSES = ['ready', 'notReady', 'shutdown', 'utilityInterruptEvent', 'isolationMonitoringActive', 'emergencyShutdown', 'malfunction'] as const;
export const EvseStatus = {
  ready: 0,
  notReady: 1,
  shutdown: 2,
  utilityInterruptEvent: 3,
  isolationMonitoringActive: 4,
  emergencyShutdown: 5,
  malfunction: 6,
} as const;

/** 18.10.3/18.10.4, 18.11.2: isolation level (status) of the EVSE's IMD. */
export const ISOLATION_LEVELS = ['invalid', 'valid', 'warning', 'fault', 'noImd'] as const;
export const IsolationLevel = { invalid: 0, valid: 1, warning: 2, fault: 3, noImd: 4 } as const;

/**
 * The ISO 15118 DC_EVErrorCode. 18.12.4/18.12.6 (EVSE side) name them as below; 18.9.3-18.9.5
 * (EV side "Status") use the same numbers with plainer words (0 "Ready", 1 "Temperature too
 * high/low", 2 "Shift position", ...), so both sides share this one map.
 */
export const EV_ERROR_CODES = [
  'noError',
  'ressTemperatureInhibit',
  'evShiftPosition',
  'chargerConnectorLockFault',
  'evRessMalfunction',
  'chargingCurrentDifferential',
  'chargingVoltageOutOfRange',
  'chargingSystemIncompatibility',
] as const;
export const EvErrorCode = {
  noError: 0,
  ressTemperatureInhibit: 1,
  evShiftPosition: 2,
  chargerConnectorLockFault: 3,
  evRessMalfunction: 4,
  chargingCurrentDifferential: 5,
  chargingVoltageOutOfRange: 6,
  chargingSystemIncompatibility: 7,
} as const;

/** 18.11.13 (EV receives) / 18.10.20 (EVSE sends as a boolean "renegotiation"): EVSENotification. */
export const NOTIFICATION_TYPES = ['stopCharging', 'renegotiation'] as const;
export const NotificationType = { stopCharging: 0, renegotiation: 1 } as const;

/** 18.12.13: how the session was closed. */
export const CLOSURE_TYPES = ['terminate', 'pause'] as const;
export const ClosureType = { terminate: 0, pause: 1 } as const;

/**
 * 18.12.14: why an EVSE session stopped. The table says "uint8 (0-22)" but lists 23 as well;
 * the list wins (23 "Charge parameter timeout reached").
 */
export const EVSE_SESSION_ERRORS = [
  'unspecified',
  'sequenceError',
  'serviceIdInvalid',
  'unknownSession',
  'serviceSelectionInvalid',
  'paymentSelectionInvalid',
  'certificateExpired',
  'signatureError',
  'noCertificateAvailable',
  'certificateChainError',
  'challengeInvalid',
  'contractCanceled',
  'wrongChargeParameter',
  'powerDeliveryNotApplied',
  'tariffSelectionInvalid',
  'chargingProfileInvalid',
  'presentVoltageTooLow',
  'meteringSignatureNotValid',
  'noChargeServiceSelected',
  'wrongEnergyTransferType',
  'contactorError',
  'certificateNotAllowedAtThisEvse',
  'certificateRevoked',
  'chargeParameterTimeoutReached',
] as const;
export const EvseSessionError = Object.fromEntries(EVSE_SESSION_ERRORS.map((n, i) => [n, i])) as {
  readonly [K in (typeof EVSE_SESSION_ERRORS)[number]]: number;
};

/**
 * 18.11.14: why an EV session failed. Codes start at 1; 0 has no meaning in the manual and is
 * kept as "unknown" so the list index is the code.
 */
export const EV_SESSION_ERRORS = [
  'unknown',
  'paymentOptionUnavailable',
  'energyTransferModeUnavailable',
  'wrongChargeParameter',
  'powerDeliveryNotApplied',
  'chargingProfileInvalid',
  'contactorError',
  'evsePresentVoltageTooLow',
  'unspecified',
] as const;
export const EvSessionError = Object.fromEntries(EV_SESSION_ERRORS.map((n, i) => [n, i])) as {
  readonly [K in (typeof EV_SESSION_ERRORS)[number]]: number;
};

/** Name of a code in one of the lists above, or `code<n>` for a value the list lacks. */
export function enumName(names: readonly string[], code: number): string {
  return names[code] ?? `code${code}`;
}

/** Field types both roles use. */
export const protocolType = enumU8(PROTOCOLS);
export const paymentMethodType = enumU8(PAYMENT_METHODS);
export const energyTransferModeType = enumU8(ENERGY_TRANSFER_MODES);
export const evseStatusType = enumU8(EVSE_STATUSES);
export const isolationLevelType = enumU8(ISOLATION_LEVELS);
export const evErrorCodeType = enumU8(EV_ERROR_CODES);
export const evseSessionErrorType = enumU8(EVSE_SESSION_ERRORS);

export const V2gCommon = {
  SetMode: command({ name: 'SetMode', subId: 0x40, section: '18.8.1', request: { mode: enumU8(['EV', 'EVSE']) } }),
  GetMode: command({ name: 'GetMode', subId: 0x41, section: '18.8.2', response: { mode: enumU8(V2G_MODES) } }),
} as const;
