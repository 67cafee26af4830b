/**
 * ISO 15118-2 / DIN 70121 messages between the simulated modules, at message level (no EXI,
 * no SDP/TCP): each request carries the car's current parameters, each response the station's.
 * Only what the HCI status messages of 18.11/18.12 need travels here.
 */

/** The request/response pairs of a session, in the order a DC session uses them. */
export const V2G_KINDS = [
  'sessionSetup',
  'serviceDiscovery',
  'paymentSelection',
  /** Plug & Charge (payment by contract): optional certificate service, then the contract. */
  'certificateInstallation',
  'certificateUpdate',
  'paymentDetails',
  'authorization',
  'chargeParameterDiscovery',
  'cableCheck',
  'preCharge',
  'powerDelivery',
  'currentDemand',
  'chargingStatus',
  'weldingDetection',
  'sessionStop',
] as const;
export type V2gKind = (typeof V2G_KINDS)[number];

/** The car's limits and energy request, alike for DC and AC (EvSet*ChargingParameters). */
export interface EvLimits {
  minVoltageV: number;
  minCurrentA: number;
  minPowerW: number;
  maxVoltageV: number;
  maxCurrentA: number;
  maxPowerW: number;
  energyRequestWh: number;
  departureTimeS: number;
}

/** The car's side: what EvSetConfiguration / EvSet*ChargingParameters configured, plus live values. */
export interface EvSnapshot {
  evccId: Uint8Array;
  protocols: number[];
  energyTransferModes: number[];
  batteryCapacityWh: number;
  dc?: EvLimits & {
    targetVoltageV: number;
    targetCurrentA: number;
    fullSocPercent: number;
    bulkSocPercent: number;
  };
  ac?: EvLimits;
  socPercent: number;
  /** DC_EVErrorCode, 0 no error. */
  errorCode: number;
  ready: boolean;
  chargingComplete: boolean;
  bulkChargingComplete: boolean;
}

export interface ScheduleTuple {
  scheduleTupleId: number;
  entries: Array<{ startS: number; intervalS: number; powerW: number }>;
}

/** The station's side: what EvseSetConfiguration / EvseSet/Update*ChargingParameters set. */
export interface EvseSnapshot {
  evseId: string;
  protocols: number[];
  paymentMethods: number[];
  energyTransferModes: number[];
  dc?: {
    isolationLevel: number;
    minVoltageV: number;
    minCurrentA: number;
    maxVoltageV: number;
    maxCurrentA: number;
    maxPowerW: number;
    currentRegulationToleranceA?: number;
    peakCurrentRippleA: number;
    presentVoltageV: number;
    presentCurrentA: number;
    status: number;
  };
  ac?: { rcd: boolean; nominalVoltageV: number; maxCurrentA: number };
  schedules: ScheduleTuple[];
  energyToBeDeliveredWh?: number;
}

/** Why a session ends with an error, as each host will be told (18.11.14, 18.12.14). */
export interface SessionFailure {
  evSessionError: number;
  evseSessionError: number;
}

export interface V2gRequest {
  type: 'req';
  kind: V2gKind;
  sessionId: Uint8Array;
  ev: EvSnapshot;
  /** paymentSelection: chosen method; chargeParameterDiscovery: requested mode. */
  paymentMethod?: number;
  energyTransferMode?: number;
  /** sessionSetup: the protocol the car and station agreed (supportedAppProtocol). */
  protocol?: number;
  /** powerDelivery: start (true) or stop; renegotiation; the profile the car follows. */
  chargeProgress?: 'start' | 'stop' | 'renegotiate';
  scheduleTupleId?: number;
  chargingProfile?: Array<{ startS: number; powerW: number }>;
  maxEntries?: number;
  /** certificateInstallation/Update: the EXI request (opaque, V2GTP header included). */
  exiRequest?: Uint8Array;
  /** paymentDetails: the car's contract (18.12.2 fields). */
  contract?: { contractCertificate: Uint8Array; moSubCa2: Uint8Array; moSubCa1: Uint8Array; emaid: string };
  /** The car gave up (its own timeout): the TCP connection closes, no response expected. */
  aborted?: boolean;
  /** sessionStop: ISO 15118-2 ChargingSession, Terminate or Pause (resumable later). */
  chargingSession?: 'terminate' | 'pause';
}

export interface V2gResponse {
  type: 'res';
  kind: V2gKind;
  ok: boolean;
  /** EVSEProcessing: the car repeats the request while ongoing. */
  processing: 'finished' | 'ongoing';
  failure?: SessionFailure;
  sessionId: Uint8Array;
  evse: EvseSnapshot;
  protocol?: number;
  /** An EVSENotification riding on a charge-loop response (18.10.20). */
  notification?: { renegotiation: boolean; maxDelayS: number };
  /** certificateInstallation/Update: the EXI response the station's host gave. */
  exiResponse?: Uint8Array;
  /** The station closed the TCP connection (its sequence timeout): the session is over for the car. */
  closed?: boolean;
}

export type V2gMessage = V2gRequest | V2gResponse;

/** A label for logs and cable events: "CurrentDemandReq". */
export function v2gLabel(m: V2gRequest | V2gResponse): string {
  const k = m.kind === 'paymentSelection' ? 'paymentServiceSelection' : m.kind;
  return `${k[0]?.toUpperCase() ?? ''}${k.slice(1)}${m.type === 'req' ? 'Req' : 'Res'}`;
}
