/**
 * Which module firmware this host speaks to (the FreeV2G README's firmware/API tables). This host
 * implements the API of manual rev 2.14: EVSE firmware V02_xx_xx (PnC API) and EV firmware
 * V01_00_xx. EVSE V01_01_xx firmware has the older EIM API (FreeV2G tags EVSE_v1.1.x) whose
 * messages differ (e.g. Set Schedules 2.8, Stop Charging), so it is refused. The rows come from
 * the firmware profiles (firmware/profiles.ts), where what each firmware changes is listed.
 */
import { FIRMWARE_PROFILES, type FirmwareProfile, canonicalVersion, parseVersion, profileFor } from '../firmware/profiles.js';
import type { StationRole } from './station-events.js';

export { parseVersion };

export interface FirmwareRow {
  version: string;
  swType: 'EIM' | 'PNC';
  freeV2gTag: string;
  supported: boolean;
}

const rowsOf = (role: StationRole): FirmwareRow[] => FIRMWARE_PROFILES.filter((p) => p.role === role).map(({ version, swType, freeV2gTag, supported }) => ({ version, swType, freeV2gTag, supported }));

export const FIRMWARE_TABLE: Record<StationRole, FirmwareRow[]> = { EVSE: rowsOf('EVSE'), EV: rowsOf('EV') };

export type FirmwareVerdict = { kind: 'supported'; row: FirmwareRow } | { kind: 'unknown'; text: string } | { kind: 'unsupported'; text: string };

export function checkFirmware(role: StationRole, reported: string): FirmwareVerdict {
  const v = parseVersion(reported);
  if (!v) return { kind: 'unknown', text: `WHITE-beet firmware version "${reported}" is not in the known format; continuing with the profile of ${profileFor(role, reported).profile.version}` };
  const name = canonicalVersion(v);
  const row = FIRMWARE_TABLE[role].find((r) => r.version === name);
  if (row?.supported) return { kind: 'supported', row };
  if (row) {
    return {
      kind: 'unsupported',
      text: `${role} firmware ${name} (${row.swType}) uses an older HCI API (FreeV2G tag ${row.freeV2gTag}); this host speaks the API of manual rev 2.14 (EVSE V02_xx_xx): update the module firmware`,
    };
  }
  const expectedMajor = role === 'EVSE' ? 2 : 1;
  if (v[0] !== expectedMajor) {
    return { kind: 'unsupported', text: `${role} firmware ${name} is not a known ${role} firmware line (expected V0${expectedMajor}_xx_xx)` };
  }
  const newest = profileFor(role, reported).profile.version;
  return {
    kind: 'unknown',
    text: `${role} firmware ${name} is newer than the tested versions (${FIRMWARE_TABLE[role]
      .filter((r) => r.supported)
      .map((r) => r.version)
      .join(', ')}); continuing with the profile of ${newest}`,
  };
}

/** The profile the station runs with for the version the module reported. */
export function firmwareProfileFor(role: StationRole, reported: string): FirmwareProfile {
  return profileFor(role, reported).profile;
}
