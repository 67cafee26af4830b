/**
 * The simulated module emulates one firmware (firmware/profiles.ts): it reports that version,
 * sends the status layouts that firmware really sends and its status request ID. Behaviours of a
 * profile (missing notifications, busy answers) hook in here too, reading the same profile, so
 * `module-sim --firmware V02_00_01` and a scenario's `firmware` key exercise a host the way that
 * module would.
 */
import { encodeStatusFrame } from '../codec/catalog.js';
import { STATUS_REQ_ID, encodeFrame } from '../codec/frame.js';
import { variantType } from '../codec/layouts.js';
import { type StatusDef, encodeWith } from '../codec/message.js';
import { FIRMWARE_PROFILES, type FirmwareProfile, type FirmwareRole, canonicalVersion, parseVersion, profileFor } from '../firmware/profiles.js';

/** What the simulator reported before profiles existed; still the default. */
export const DEFAULT_FIRMWARE: Record<FirmwareRole, string> = { EVSE: 'V02_00_01', EV: 'V01_00_06' };

export interface FirmwareEmulation {
  /** The version string the module reports (Get Firmware Version, Get API Info). */
  readonly reported: string;
  /** The profile emulated: the version's own, or the newest of the role for unknown versions. */
  readonly profile: FirmwareProfile;
  /** True when `reported` has no profile of its own. */
  readonly fallback: boolean;
}

export function firmwareEmulation(role: FirmwareRole, reported: string = DEFAULT_FIRMWARE[role]): FirmwareEmulation {
  const { profile, fallback } = profileFor(role, reported);
  return { reported, profile, fallback };
}

/**
 * A status frame as the emulated firmware sends it: the profile's layout for the message when it
 * has one, and for V2G status messages not answering a request its status request ID (0x00 on
 * older firmware, Sevenstax/FreeV2G#3, #237, #345). Throws EncodeError like encodeStatusFrame.
 */
export function encodeStatusAs(em: FirmwareEmulation, def: StatusDef, fields: Record<string, unknown>, reqId = STATUS_REQ_ID): Uint8Array {
  const id = reqId === STATUS_REQ_ID && def.module === 'V2g' ? em.profile.behaviours.statusRequestId.value : reqId;
  const variant = em.profile.layouts.find((v) => v.modId === def.modId && v.subId === def.subId);
  if (!variant) return encodeStatusFrame(def, fields, id);
  const payload = encodeWith(variantType(variant), `${def.module}.${def.name}`, fields);
  return encodeFrame({ modId: def.modId, subId: def.subId, reqId: id, payload });
}

/** Which module a firmware version belongs to: its profile's role, else by major (V02 EVSE, V01 EV). */
export function roleOfFirmware(version: string): FirmwareRole | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  const known = FIRMWARE_PROFILES.find((p) => p.version === canonicalVersion(v));
  if (known) return known.role;
  return v[0] === 2 ? 'EVSE' : v[0] === 1 ? 'EV' : undefined;
}

/** The scenario's `firmware` key for `--firmware` values (each given to its module by role). */
export function firmwareKey(versions: readonly string[], only?: FirmwareRole): { evse?: string; ev?: string } {
  const out: { evse?: string; ev?: string } = {};
  for (const v of versions) {
    const role = only ?? roleOfFirmware(v);
    if (!role) throw new Error(`--firmware ${v}: not a WHITE-beet firmware version (e.g. V02_00_01 for the EVSE, V01_00_04 for the EV)`);
    out[role === 'EV' ? 'ev' : 'evse'] = v;
  }
  return out;
}
