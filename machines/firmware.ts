/**
 * Which module firmware this host speaks to (the FreeV2G README's firmware/API tables). This host
 * implements the API of manual rev 2.14: EVSE firmware V02_00_xx (PnC API) and EV firmware
 * V01_00_xx. EVSE V01_01_xx firmware has the older EIM API (FreeV2G tags EVSE_v1.1.x) whose
 * messages differ (e.g. Set Schedules 2.8, Stop Charging), so it is refused.
 */
import type { StationRole } from './station-events.js';

export interface FirmwareRow {
  version: string;
  swType: 'EIM' | 'PNC';
  freeV2gTag: string;
  supported: boolean;
}

export const FIRMWARE_TABLE: Record<StationRole, FirmwareRow[]> = {
  EVSE: [
    { version: 'V01_01_06', swType: 'EIM', freeV2gTag: 'EVSE_v1.1.6_1', supported: false },
    { version: 'V01_01_07', swType: 'EIM', freeV2gTag: 'EVSE_v1.1.7_1', supported: false },
    { version: 'V02_00_00', swType: 'PNC', freeV2gTag: 'EVSE_v2.0.0_0', supported: true },
    { version: 'V02_00_01', swType: 'PNC', freeV2gTag: 'EVSE_v2.0.1_4', supported: true },
  ],
  EV: [
    { version: 'V01_00_04', swType: 'EIM', freeV2gTag: 'EV_v1.0.4_0', supported: true },
    { version: 'V01_00_05', swType: 'EIM', freeV2gTag: 'EV_v1.0.5_0', supported: true },
    { version: 'V01_00_06', swType: 'EIM', freeV2gTag: 'EV_v1.0.6_1', supported: true },
  ],
};

export type FirmwareVerdict =
  | { kind: 'supported'; row: FirmwareRow }
  | { kind: 'unknown'; text: string }
  | { kind: 'unsupported'; text: string };

/** "V02_00_01", "2.0.1", "v2.0.1.0" -> [2, 0, 1]. */
export function parseVersion(s: string): [number, number, number] | undefined {
  const m = /(\d+)[._](\d+)[._](\d+)/.exec(s);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const canonical = (v: [number, number, number]): string => `V${v.map((n) => String(n).padStart(2, '0')).join('_')}`;

export function checkFirmware(role: StationRole, reported: string): FirmwareVerdict {
  const v = parseVersion(reported);
  if (!v) return { kind: 'unknown', text: `WHITE-beet firmware version "${reported}" is not in the known format; continuing without a compatibility check` };
  const name = canonical(v);
  const row = FIRMWARE_TABLE[role].find((r) => r.version === name);
  if (row?.supported) return { kind: 'supported', row };
  if (row) {
    return {
      kind: 'unsupported',
      text: `${role} firmware ${name} (${row.swType}) uses an older HCI API (FreeV2G tag ${row.freeV2gTag}); this host speaks the API of manual rev 2.14 (EVSE V02_00_xx): update the module firmware`,
    };
  }
  const expectedMajor = role === 'EVSE' ? 2 : 1;
  if (v[0] !== expectedMajor) {
    return { kind: 'unsupported', text: `${role} firmware ${name} is not a known ${role} firmware line (expected V0${expectedMajor}_xx_xx)` };
  }
  return { kind: 'unknown', text: `${role} firmware ${name} is newer than the tested versions (${FIRMWARE_TABLE[role].filter((r) => r.supported).map((r) => r.version).join(', ')}); continuing` };
}
