/**
 * Every firmware profile, end to end: the simulated module emulates it (reported version, status
 * layouts, V2G status request ID), the host picks the same profile from the version it reads, and
 * the EVSE and EV stations complete a DC session. Plus: checksum 0x00 ("not computed", manual
 * 10.1.4) is accepted by the simulated module, and `--firmware` values reach the right module.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { System, encodeRequest } from '../../codec/catalog.js';
import { parseFrame } from '../../codec/frame.js';
import { FIRMWARE_PROFILES, type FirmwareProfile } from '../../firmware/profiles.js';
import { type HciNotice, createHciClient } from '../../machines/hci-client.js';
import { evseConfig } from '../../machines/index.js';
import { firmwareKey } from '../../sim/firmware-emulation.js';
import { type SimulatedPair, createSimulatedModule, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { quickStations } from '../helpers/stations.js';

const pairs: SimulatedPair[] = [];
const stops: Array<() => void> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  for (const p of pairs.splice(0)) await p.close();
});

async function session(profile: FirmwareProfile) {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({ firmware: { [profile.role === 'EV' ? 'ev' : 'evse']: profile.version } });
  const pair = createSimulatedPair({ clock, scenario });
  pairs.push(pair);
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const notices: HciNotice[] = [];
  evseClient.notices$.subscribe((n) => notices.push(n));
  evClient.notices$.subscribe((n) => notices.push(n));
  /** Request IDs of the V2G status frames the profile's module sent. */
  const v2gStatusReqIds = new Set<number>();
  /** Payload sizes of the EV's Session Started (0xC0) and DC Charge Parameters Changed (0xC1). */
  const evSizes = { c0: new Set<number>(), c1: new Set<number>() };
  (profile.role === 'EV' ? evClient : evseClient).traffic$.subscribe((t) => {
    if (t.dir === 'rx' && t.message?.direction === 'status' && t.message.module === 'V2g') v2gStatusReqIds.add(t.message.reqId);
  });
  evClient.traffic$.subscribe((t) => {
    if (t.dir !== 'rx' || t.bytes[1] !== 0x27) return;
    if (t.bytes[2] === 0xc0) evSizes.c0.add(t.bytes.length - 8);
    if (t.bytes[2] === 0xc1) evSizes.c1.add(t.bytes.length - 8);
  });
  const st = quickStations({ clock, evseClient, evClient });
  stops.push(() => {
    st.evse.stop();
    st.ev.stop();
  });
  const done = await clock.runUntil(() => st.records('EVSE').length >= 1 && st.records('EV').length >= 1, 3_600_000, 100);
  const station = profile.role === 'EV' ? st.ev : st.evse;
  const picked = (station.getSnapshot().context as { firmwareProfile?: FirmwareProfile }).firmwareProfile;
  return { done, st, notices, v2gStatusReqIds, picked, evSizes };
}

describe('firmware profiles end to end', () => {
  const supported = FIRMWARE_PROFILES.filter((p) => p.supported);
  it.each(supported.map((p) => [`${p.role} ${p.version}`, p] as const))('%s: the stations complete a DC session with the profile', async (_, profile) => {
    const r = await session(profile);
    expect(r.done).toBe(true);
    expect(r.picked?.version).toBe(profile.version);
    const [evseRec] = r.st.records('EVSE');
    const [evRec] = r.st.records('EV');
    expect(evseRec?.error).toBeUndefined();
    expect(evRec?.error).toBeUndefined();
    expect(evRec).toMatchObject({ stopReason: 'targetSocReached', energyTransferMode: 'dcCore' });
    expect(r.st.logs(profile.role)).toContain(`WHITE-beet-${profile.role === 'EV' ? 'PI' : 'EI'} firmware version: ${profile.version}`);
    // The module sent this firmware's layouts and request IDs, and the host expected exactly them.
    expect([...r.v2gStatusReqIds]).toEqual([profile.behaviours.statusRequestId.value]);
    expect(r.notices).toEqual([]);
  });

  it('EV V01_00_04: the host reads the padded EVSE ID and the 25-byte DC parameters (no max power)', async () => {
    const profile = FIRMWARE_PROFILES.find((p) => p.version === 'V01_00_04');
    if (!profile) throw new Error('no V01_00_04 profile');
    const r = await session(profile);
    expect(r.done).toBe(true);
    expect([...r.evSizes.c0]).toEqual([50]);
    expect([...r.evSizes.c1]).toEqual([25]);
    // The EVSE's ID (evseConfig default) without the zero padding of the 38-byte field.
    expect(r.st.records('EV')[0]?.evseId).toBe(evseConfig({}).evseId);
  });
});

describe('the simulated module and the host', () => {
  it('accepts a host frame with checksum 0x00 (not computed, manual 10.1.4) and answers it', async () => {
    const clock = new VirtualClock();
    const [host, mod] = createMemoryPair({ clock });
    const m = createSimulatedModule({ role: 'EVSE', clock, transport: mod, firmware: 'V02_01_00' });
    const answers: Uint8Array[] = [];
    host.frames$.subscribe((b) => answers.push(b));
    const frame = encodeRequest(System.GetFirmwareVersion, 7, {}, { checksum: false });
    expect(frame[frame.length - 2]).toBe(0);
    await host.send(frame);
    await flushMicrotasks();
    const p = parseFrame(answers[0] ?? new Uint8Array());
    expect('frame' in p && p.frame.reqId).toBe(7);
    expect('frame' in p && p.frame.payload[0]).toBe(0);
    expect(Buffer.from('frame' in p ? p.frame.payload.subarray(2) : []).toString('latin1')).toBe('V02_01_00');
    await m.close();
  });

  it('an unknown newer version is reported as is and emulated with the newest profile', () => {
    const m = createSimulatedModule({ role: 'EV', clock: new VirtualClock(), firmware: 'V01_00_09' });
    expect(m.firmware).toBe('V01_00_09');
  });

  it('--firmware values go to their module by version', () => {
    expect(firmwareKey(['V02_00_01', 'V01_00_04'])).toEqual({ evse: 'V02_00_01', ev: 'V01_00_04' });
    expect(firmwareKey(['V02_02_00'])).toEqual({ evse: 'V02_02_00' });
    expect(() => firmwareKey(['banana'])).toThrow(/not a WHITE-beet firmware version/);
  });
});
