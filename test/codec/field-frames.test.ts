/**
 * Frames quoted from real WHITE-beet modules in the reference's issues (Sevenstax/FreeV2G), each
 * decoded with the profile of the firmware it came from. The bytes are as posted; where an issue
 * posted only the payload, the frame is built around it with the firmware's status request ID.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../codec/catalog.js';
import { encodeFrame, parseFrame } from '../../codec/frame.js';
import { decodeStatusTolerant } from '../../codec/tolerant.js';
import { findProfile } from '../../firmware/profiles.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));

interface FieldFrame {
  source: string;
  firmware: { role: 'EV' | 'EVSE'; version: string };
  bytes: Uint8Array;
  message: string;
  fields: Record<string, unknown>;
}

/** #94 posted the 25-byte payload of a V01_00_04 0xC1; the frame around it is ours. */
const dc94 = encodeFrame({ modId: 0x27, subId: 0xc1, reqId: 0x00, payload: hex('00 00 00 00 00 00 00 00 00 03 b6 00 00 c8 00 03 b6 00 02 ee 00 00 00 00 00') });

const FRAMES: FieldFrame[] = [
  {
    source: 'Sevenstax/FreeV2G#345',
    firmware: { role: 'EV', version: 'V01_00_04' },
    bytes: hex('C0 27 C0 00 00 32 01 0F 52 85 C7 76 99 96 8E 26 44 45 2A 41 32 33 2A 45 34 35 42 2A 37 38 43 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 C1'),
    message: 'V2g.EvSessionStarted',
    fields: { selectedProtocol: 1, sessionId: hex('0F 52 85 C7 76 99 96 8E'), evseId: 'DE*A23*E45B*78C', selectedPaymentMethod: 0, selectedEnergyTransferMode: 0 },
  },
  {
    source: 'Sevenstax/FreeV2G#94 (also #127)',
    firmware: { role: 'EV', version: 'V01_00_04' },
    bytes: dc94,
    message: 'V2g.EvDcChargeParametersChanged',
    fields: { minVoltageV: 0, minCurrentA: 0, minPowerW: 0, maxVoltageV: 950, maxCurrentA: 200, presentVoltageV: 750, presentCurrentA: 0, status: 0 },
  },
  {
    source: 'Sevenstax/FreeV2G#355',
    firmware: { role: 'EVSE', version: 'V02_01_00' },
    bytes: hex('c0 05 81 FF 00 01 00 f5 c1'),
    message: 'NetworkConfiguration.InterfaceUp',
    fields: { interface: 0 },
  },
  {
    source: 'Sevenstax/FreeV2G#294',
    firmware: { role: 'EV', version: 'V01_00_07' },
    bytes: hex('C0 27 A3 0B 00 01 00 A6 C1'),
    message: 'V2g.EvUpdateDcChargingParameters',
    fields: { code: 0 },
  },
  {
    source: 'Sevenstax/FreeV2G#294',
    firmware: { role: 'EV', version: 'V01_00_07' },
    bytes: hex('C0 27 A3 13 00 01 10 8E C1'),
    message: 'V2g.EvUpdateDcChargingParameters',
    fields: { code: 0x10 },
  },
];

/** #71: CP, SLAC and Network Configuration frames from an EVSE module (modules unchanged since). */
const EVSE_71: Array<[string, string, Record<string, unknown>]> = [
  ['C0 29 81 FF 00 01 01 D0 C1', 'ControlPilot.StateChanged', { state: 1 }],
  ['C0 05 80 FF 00 01 00 F6 C1', 'NetworkConfiguration.InterfaceDown', { interface: 0 }],
  ['C0 05 81 FF 00 01 00 F5 C1', 'NetworkConfiguration.InterfaceUp', { interface: 0 }],
  ['C0 28 80 FF 00 00 D4 C1', 'Slac.SlacSuccess', {}],
  ['C0 28 42 BB 00 01 00 56 C1', 'Slac.StartSlac', { code: 0 }],
  ['C0 28 44 BB 00 01 00 54 C1', 'Slac.StartMatching', { code: 0 }],
  ['C0 29 44 BB 00 01 00 53 C1', 'ControlPilot.SetDutyCycle', { code: 0 }],
  ['C0 27 40 BB 00 01 00 59 C1', 'V2g.SetMode', { code: 0 }],
];
for (const [bytes, message, fields] of EVSE_71) {
  FRAMES.push({ source: 'Sevenstax/FreeV2G#71', firmware: { role: 'EVSE', version: 'V02_00_00' }, bytes: hex(bytes), message, fields });
}

/** Decodes as the host does: status messages tolerantly with the profile's layouts. */
function decodeAsHost(f: FieldFrame): { message: string; fields: Record<string, unknown>; exact: boolean } {
  const parsed = parseFrame(f.bytes);
  if ('error' in parsed) throw new Error(`${f.source}: ${parsed.error.detail}`);
  const profile = findProfile(f.firmware.role, f.firmware.version);
  if (!profile) throw new Error(`no profile for ${f.firmware.version}`);
  const st = decodeStatusTolerant(parsed.frame, profile.layouts);
  if (st) return { message: `${st.message.module}.${st.message.message}`, fields: st.message.fields, exact: st.kind === 'exact' };
  const d = decodeMessage(parsed.frame, { direction: 'toHost' });
  if (!d.ok) throw new Error(`${f.source}: ${d.error.detail}`);
  return { message: `${d.message.module}.${d.message.message}`, fields: d.message.fields, exact: true };
}

describe('frames from real modules (field reports)', () => {
  it.each(FRAMES.map((f) => [`${f.source} ${f.firmware.version} ${f.message}`, f] as const))('%s decodes exactly to its message', (_, f) => {
    const got = decodeAsHost(f);
    expect(got.message).toBe(f.message);
    expect(got.exact).toBe(true);
    expect(got.fields).toEqual(f.fields);
  });

  it('#345: the checksum as posted is right and the request ID is 0x00 (V01_00_04)', () => {
    const parsed = parseFrame(FRAMES[0]?.bytes ?? new Uint8Array());
    expect('frame' in parsed && parsed.frame.reqId).toBe(0x00);
  });

  it('#345: the manual layout alone refuses the frame (what the host did before profiles)', () => {
    const parsed = parseFrame(FRAMES[0]?.bytes ?? new Uint8Array());
    if ('error' in parsed) throw new Error(parsed.error.detail);
    const strict = decodeMessage(parsed.frame, { direction: 'toHost' });
    expect(strict.ok).toBe(false);
    expect(!strict.ok && strict.error.detail).toContain('length 38');
  });
});
