/**
 * Firmware profiles: what each WHITE-beet firmware does differently from the manual (rev 2.14),
 * one entry per firmware, each difference with its source. The host picks the profile from the
 * version it reads at start (System Get Firmware Version); the simulator emulates one. Adding the
 * next firmware is one entry here. Sources: the reference's issues (Sevenstax/FreeV2G#n) and its
 * release tags (the tag whose host works with that firmware).
 *
 * Used by codec-level code (layouts), machines (host behaviours) and sim (emulation), so it lives
 * below all three and imports only the codec.
 */
import { EV_DC_PARAMETERS_SHORT, EV_SESSION_STARTED_PADDED, type LayoutVariant } from '../codec/layouts.js';

export type FirmwareRole = 'EV' | 'EVSE';

/** A value and where it comes from. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

/**
 * Behaviour flags. Consumers live in machines/ and sim/; a new flag is added here with a value
 * for every profile (the type makes a missing one a compile error).
 */
export interface FirmwareBehaviours {
  /** Request ID of the V2G module's status messages: 0x00 on older firmware, 0xFF per 10.1.3. */
  readonly statusRequestId: Sourced<0x00 | 0xff>;
  /** Whether the module sends CP "State Changed" status messages (EVSE side). */
  readonly sendsCpStateChanged: Sourced<boolean>;
  /** The EVSE host must send Update DC Charging Parameters periodically during a DC session. */
  readonly requiresPeriodicDcUpdate: Sourced<boolean>;
  /** The period of that update (ms). */
  readonly dcUpdatePeriodMs: Sourced<number>;
}

export interface FirmwareProfile {
  readonly version: string;
  readonly role: FirmwareRole;
  /** EIM (External Identification Means only) or PNC (Plug and Charge API). */
  readonly swType: 'EIM' | 'PNC';
  /** The reference host release that matches (its README's table). */
  readonly freeV2gTag: string;
  /** False: the API differs from manual rev 2.14; the host refuses the firmware. */
  readonly supported: boolean;
  /** Status message layouts that differ from the manual. */
  readonly layouts: readonly LayoutVariant[];
  readonly behaviours: FirmwareBehaviours;
}

const REQ_ID_00_EVSE: Sourced<0x00> = { value: 0x00, source: 'Sevenstax/FreeV2G#3, Sevenstax/FreeV2G#237 (fixed in V02_01_00); reference tags EVSE_v2.0.x filter 0x00' };
const REQ_ID_00_EV: Sourced<0x00> = { value: 0x00, source: 'Sevenstax/FreeV2G#345 (V01_00_04); reference tags EV_v1.0.4-1.0.6 filter 0x00' };
const REQ_ID_FF: Sourced<0xff> = {
  value: 0xff,
  source: 'Sevenstax/FreeV2G#237: "all modules consistently use 0xFF" from V02_01_00; reference tags EVSE_v2.1.0, EV_v1.0.7 accept 0x00 and 0xFF (PR #152)',
};
const CP_STATE_CHANGED: Sourced<boolean> = { value: true, source: 'manual 14.x CP State Changed' };
const NO_CP_STATE_CHANGED: Sourced<boolean> = { value: false, source: 'Sevenstax/FreeV2G#90 (EVSE V02_00_01 sends no CP State Changed)' };
const NO_PERIODIC_DC: Sourced<boolean> = { value: false, source: 'reference tags before EVSE_v2.1.0' };
const PERIODIC_DC: Sourced<boolean> = { value: true, source: 'EVSE V02_01_00 release: Update DC Charging Parameters periodically (Sevenstax/FreeV2G#54, #348); reference tag EVSE_v2.1.0' };
const DC_PERIOD: Sourced<number> = { value: 500, source: 'EVSE V02_01_00 release notes: default every 500 ms' };
/** EV side: the CP and DC-update flags concern the EVSE host only. */
const EV_SIDE = { sendsCpStateChanged: CP_STATE_CHANGED, requiresPeriodicDcUpdate: NO_PERIODIC_DC, dcUpdatePeriodMs: DC_PERIOD } as const;

const evse = (version: string, tag: string, behaviours: FirmwareBehaviours, extra: Partial<FirmwareProfile> = {}): FirmwareProfile => ({
  version,
  role: 'EVSE',
  swType: 'PNC',
  freeV2gTag: tag,
  supported: true,
  layouts: [],
  behaviours,
  ...extra,
});
const ev = (version: string, tag: string, behaviours: FirmwareBehaviours, layouts: readonly LayoutVariant[] = []): FirmwareProfile => ({
  version,
  role: 'EV',
  swType: 'EIM',
  freeV2gTag: tag,
  supported: true,
  layouts,
  behaviours,
});

const OLD_EVSE = { statusRequestId: REQ_ID_00_EVSE, sendsCpStateChanged: CP_STATE_CHANGED, requiresPeriodicDcUpdate: NO_PERIODIC_DC, dcUpdatePeriodMs: DC_PERIOD };
const EIM_API = { supported: false, swType: 'EIM' as const };

/** Oldest first within a role; the last supported one of a role is its newest. */
export const FIRMWARE_PROFILES: readonly FirmwareProfile[] = [
  evse('V01_01_06', 'EVSE_v1.1.6_1', OLD_EVSE, EIM_API),
  evse('V01_01_07', 'EVSE_v1.1.7_1', OLD_EVSE, EIM_API),
  evse('V02_00_00', 'EVSE_v2.0.0_0', OLD_EVSE),
  evse('V02_00_01', 'EVSE_v2.0.1_4', { ...OLD_EVSE, sendsCpStateChanged: NO_CP_STATE_CHANGED }),
  evse('V02_01_00', 'EVSE_v2.1.0_1', { statusRequestId: REQ_ID_FF, sendsCpStateChanged: CP_STATE_CHANGED, requiresPeriodicDcUpdate: PERIODIC_DC, dcUpdatePeriodMs: DC_PERIOD }),
  ev('V01_00_04', 'EV_v1.0.4_0', { statusRequestId: REQ_ID_00_EV, ...EV_SIDE }, [EV_SESSION_STARTED_PADDED, EV_DC_PARAMETERS_SHORT]),
  ev('V01_00_05', 'EV_v1.0.5_0', { statusRequestId: REQ_ID_00_EV, ...EV_SIDE }),
  ev('V01_00_06', 'EV_v1.0.6_1', { statusRequestId: REQ_ID_00_EV, ...EV_SIDE }),
  ev('V01_00_07', 'EV_v1.0.7_0', { statusRequestId: REQ_ID_FF, ...EV_SIDE }),
];

/** "V02_00_01", "2.0.1", "v2.0.1.0" -> [2, 0, 1]. */
export function parseVersion(s: string): [number, number, number] | undefined {
  const m = /(\d+)[._](\d+)[._](\d+)/.exec(s);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export const canonicalVersion = (v: [number, number, number]): string => `V${v.map((n) => String(n).padStart(2, '0')).join('_')}`;

export const profilesOf = (role: FirmwareRole): FirmwareProfile[] => FIRMWARE_PROFILES.filter((p) => p.role === role);
export const newestProfile = (role: FirmwareRole): FirmwareProfile =>
  profilesOf(role)
    .filter((p) => p.supported)
    .at(-1) as FirmwareProfile;

/** The profile of exactly this version (any spelling), if there is one. */
export function findProfile(role: FirmwareRole, version: string): FirmwareProfile | undefined {
  const v = parseVersion(version);
  return v ? profilesOf(role).find((p) => p.version === canonicalVersion(v)) : undefined;
}

/**
 * The profile a host or simulator runs with: the version's own, else the newest of the role
 * (`fallback` set: an unknown, newer or unparsable version).
 */
export function profileFor(role: FirmwareRole, version: string): { profile: FirmwareProfile; fallback: boolean } {
  const own = findProfile(role, version);
  return own ? { profile: own, fallback: false } : { profile: newestProfile(role), fallback: true };
}
