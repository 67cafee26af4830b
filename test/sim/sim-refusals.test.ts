/**
 * Every refusal rule of the simulated modules, one test each: framing errors (10.3.1), unknown
 * module / Sub-ID / command (10.1.5), malformed payloads (0x04), the other role's commands and
 * commands in the wrong state (0x05, SLAC 0x10, V2G 0x11), busy (0x01). Request IDs are echoed.
 */
import { describe, expect, it } from 'vitest';
import { CertificateManager, ControlPilot, Slac, V2g } from '../../codec/catalog.js';
import { bytesToHex, encodeFrame, hexToBytes } from '../../codec/frame.js';
import type { Transport } from '../../transports/transport.js';
import { setup } from '../helpers/sim-helpers.js';

/** Sends raw bytes to a module and returns the frames it answers with, as hex. */
async function rawAnswer(t: ReturnType<typeof setup>, to: Transport, bytes: Uint8Array): Promise<string[]> {
  const got: string[] = [];
  const sub = to.frames$.subscribe((f) => got.push(bytesToHex(f, ' ')));
  await to.send(bytes);
  await t.clock.runUntil(() => got.length > 0, 50);
  sub.unsubscribe();
  return got;
}

const frame = (modId: number, subId: number, reqId: number, ...payload: number[]) => encodeFrame({ modId, subId, reqId, payload: Uint8Array.from(payload) });

describe('framing errors answer with module 0xFF status frames (10.3.1)', () => {
  const t = setup({ cable: { plugInAfterMs: null } });
  it('checksum error -> 0xF2', async () => {
    expect(await rawAnswer(t, t.pair.evseHost, hexToBytes('C0 29 48 08 00 00 12 C1'))).toEqual(['c0 ff f2 ff 00 00 8a c1']);
  });
  it('no start marker -> 0xF1', async () => {
    expect(await rawAnswer(t, t.pair.evseHost, hexToBytes('29 48 08 00 00 00 C1 C1'))).toEqual(['c0 ff f1 ff 00 00 8b c1']);
  });
  it('size field does not match the frame -> 0xF3', async () => {
    expect(await rawAnswer(t, t.pair.evseHost, hexToBytes('C0 29 48 08 00 05 00 C1'))).toEqual(['c0 ff f3 ff 00 00 89 c1']);
  });
  it('unknown module ID -> 0xF4 "module unknown"', async () => {
    expect(await rawAnswer(t, t.pair.evseHost, frame(0x55, 0x40, 3))).toEqual(['c0 ff f4 ff 00 00 88 c1']);
  });
});

describe('result codes of 10.1.5', () => {
  const t = setup({ cable: { plugInAfterMs: null } });
  it('unknown Sub-ID of a known module -> 0x02, request ID echoed', async () => {
    const [answer] = await rawAnswer(t, t.pair.evseHost, frame(0x29, 0x4f, 0x42));
    expect(answer?.slice(0, 17)).toBe('c0 29 4f 42 00 01');
    expect(answer?.slice(18, 20)).toBe('02');
  });
  it('a status Sub-ID sent as a command -> 0x02', async () => {
    const [answer] = await rawAnswer(t, t.pair.evseHost, frame(0x29, 0x81, 0x07, 0x01));
    expect(answer?.slice(0, 20)).toBe('c0 29 81 07 00 01 02');
  });
  it('a module the simulator does not model (GPIO, PLC, firmware update) -> 0x03', async () => {
    const [answer] = await rawAnswer(t, t.pair.evseHost, frame(0x0f, 0x43, 0x09, 0x01));
    expect(answer?.slice(0, 20)).toBe('c0 0f 43 09 00 01 03');
  });
  it('malformed payload -> 0x04 (out of range, too short, trailing bytes)', async () => {
    expect((await t.evse.request(ControlPilot.SetMode, { mode: 1 })).code).toBe(0);
    for (const bad of [frame(0x29, 0x40, 1, 0x07), frame(0x29, 0x44, 2, 0x00), frame(0x29, 0x48, 3, 0x00), frame(0x29, 0x44, 4, 0x03, 0xe9)]) {
      const [answer] = await rawAnswer(t, t.pair.evseHost, bad);
      expect(answer?.slice(18, 20), answer).toBe('04');
    }
  });
});

describe('role and state rules', () => {
  it('Control Pilot (15.4): other role 0x05, Start twice 0x05, Stop when stopped 0x05, Set Mode while running 0x01', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.ev.request(ControlPilot.SetDutyCycle, { dutyCyclePermill: 50 })).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.SetResistorLevel, { level: 1 })).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.GetResistorLevel, {})).code).toBe(0x05);
    expect((await t.ev.request(ControlPilot.GetCpAdValue, {})).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.SetMode, { mode: 0 })).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.Stop, {})).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.Start, {})).code).toBe(0x00);
    expect((await t.evse.request(ControlPilot.Start, {})).code).toBe(0x05);
    expect((await t.evse.request(ControlPilot.SetMode, { mode: 1 })).code).toBe(0x01);
    await t.pair.close();
  });

  it('SLAC (16.4): wrong state 0x10 for Stop/Start Matching before Start SLAC, other mode 0x05', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.request(Slac.StopSlac, {})).code).toBe(0x10);
    expect((await t.evse.request(Slac.StartMatching, {})).code).toBe(0x10);
    expect((await t.evse.request(Slac.StartSlac, { mode: 0 })).code).toBe(0x05);
    expect((await t.evse.request(Slac.StartSlac, { mode: 1 })).code).toBe(0x00);
    expect((await t.evse.request(Slac.StartSlac, { mode: 1 })).code).toBe(0x10);
    expect((await t.ev.request(Slac.SetAttnRxValues, { attnRx: new Uint8Array(58) })).code).toBe(0x05);
    expect((await t.evse.request(Slac.SetBcbToggleResult, { toggles: 1 })).code).toBe(0x10);
    await t.pair.close();
  });

  it('V2G (18.5): other mode 0x05; role commands before Set Mode, unrequested answers, config while listening 0x11', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.request(V2g.SetMode, { mode: 0 })).code).toBe(0x05);
    expect((await t.evse.request(V2g.EvStartSession, {})).code).toBe(0x05);
    expect((await t.ev.request(V2g.EvseStartListen, {})).code).toBe(0x05);
    expect((await t.evse.request(V2g.EvseStartListen, {})).code).toBe(0x11);
    expect((await t.evse.command(V2g.GetMode, {})).mode).toBe(2);
    await t.evse.command(V2g.SetMode, { mode: 1 });
    expect((await t.evse.request(V2g.EvseStartListen, {})).code).toBe(0x11); // not configured
    expect((await t.evse.request(V2g.EvseSetAuthorizationStatus, { result: 0 })).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseSetSchedules, { result: 0, scheduleTuples: [] })).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseSetCableCheckFinished, { result: 0 })).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseStartCharging, {})).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseStopCharging, {})).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 1 })).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseUpdateDcChargingParameters, { isolationLevel: 1, presentVoltageV: 1, presentCurrentA: 1, status: 0 })).code).toBe(0x11);
    await t.evse.command(V2g.EvseSetConfiguration, {
      evseIdDin: '+49*1',
      evseIdIso: 'DE*1',
      protocols: [1],
      paymentMethods: [0],
      energyTransferModes: [1],
      certificateInstallationSupported: false,
      certificateUpdateSupported: false,
    });
    await t.evse.command(V2g.EvseSetAcChargingParameters, { rcdStatus: false, nominalVoltageV: 230, maxCurrentA: 16 });
    expect((await t.evse.request(V2g.EvseStartListen, {})).code).toBe(0x00);
    expect((await t.evse.request(V2g.EvseStartListen, {})).code).toBe(0x11);
    expect((await t.evse.request(V2g.EvseSetAcChargingParameters, { rcdStatus: false, nominalVoltageV: 230, maxCurrentA: 16 })).code).toBe(0x11);
    await t.pair.close();
  });

  it('V2G EV: Start Session needs configuration, parameters and the PLC link; host steps only when announced', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.ev.command(V2g.SetMode, { mode: 0 });
    expect((await t.ev.request(V2g.EvStartSession, {})).code).toBe(0x11);
    await t.ev.command(V2g.EvSetConfiguration, {
      evId: new Uint8Array(6),
      protocols: [1],
      paymentMethods: [0],
      energyTransferModes: [4],
      batteryCapacityWh: 10_000,
    });
    await t.ev.command(V2g.EvSetAcChargingParameters, {
      minVoltageV: 0,
      minCurrentA: 0,
      minPowerW: 0,
      maxVoltageV: 250,
      maxCurrentA: 16,
      maxPowerW: 11_000,
      energyRequestWh: 1000,
      departureTimeS: 0,
    });
    expect((await t.ev.request(V2g.EvStartSession, {})).code).toBe(0x11); // no PLC link yet
    for (const def of [V2g.EvStartCableCheck, V2g.EvStartPreCharging, V2g.EvStartCharging, V2g.EvStopSession]) {
      expect((await t.ev.request(def, {})).code).toBe(0x11);
    }
    expect((await t.ev.request(V2g.EvStopCharging, { renegotiation: false })).code).toBe(0x11);
    expect(
      (
        await t.ev.request(V2g.EvUpdateDcChargingParameters, {
          minVoltageV: 0,
          minCurrentA: 0,
          minPowerW: 0,
          maxVoltageV: 1,
          maxCurrentA: 1,
          maxPowerW: 1,
          socPercent: 1,
          status: 0,
          targetVoltageV: 1,
          targetCurrentA: 1,
        })
      ).code,
    ).toBe(0x11); // no DC parameters set
    await t.pair.close();
  });

  it('Certificate Manager: a store that was not opened 0x05, busy 0x01 while indexing', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.request(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(1, 2, 3) })).code).toBe(0x05);
    await t.evse.command(CertificateManager.TrustStoreOpen, { path: '/certs/trust' });
    expect((await t.evse.request(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(1, 2, 3) })).code).toBe(0x00);
    expect((await t.evse.request(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(4, 5, 6) })).code).toBe(0x01);
    await t.pair.close();
  });

  it('SLAC: Start Matching while matching or matched 0x10', async () => {
    const t = setup({ cable: { plugInAfterMs: 0 } });
    await t.evse.command(Slac.StartSlac, { mode: 1 });
    await t.clock.runUntil(() => false, 600);
    await t.evse.command(Slac.StartMatching, {});
    expect((await t.evse.request(Slac.StartMatching, {})).code).toBe(0x10);
    await t.ev.command(Slac.StartSlac, { mode: 0 });
    await t.ev.command(Slac.StartMatching, {});
    await t.clock.runUntil(() => t.ev.types().includes('Slac.SlacSuccess'), 10_000);
    expect((await t.ev.request(Slac.StartMatching, {})).code).toBe(0x10);
    expect((await t.evse.request(Slac.StartMatching, {})).code).toBe(0x10);
    await t.pair.close();
  });

  it('V2G: a second Start Session during a session, configuration during a session: 0x11', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    const { runEvseStub, runEvStub } = await import('../../sim/stub-stations.js');
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(() => t.ev.types().includes('V2g.EvSessionStarted'), 60_000);
    expect((await t.ev.request(V2g.EvStartSession, {})).code).toBe(0x11);
    expect(
      (
        await t.ev.request(V2g.EvSetConfiguration, {
          evId: new Uint8Array(6),
          protocols: [1],
          paymentMethods: [0],
          energyTransferModes: [1],
          batteryCapacityWh: 1,
        })
      ).code,
    ).toBe(0x11);
    expect((await t.evse.request(V2g.EvseSetSdpConfig, {})).code).toBe(0x11);
    await t.pair.close();
  });

  it('Certificate Manager: unknown entries are malformed data (0x04)', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.evse.command(CertificateManager.TrustStoreOpen, { path: '/trust' });
    await t.evse.command(CertificateManager.OwnCertificatesOpen, { path: '/own' });
    expect((await t.evse.request(CertificateManager.TrustStoreGetCertificateInfo, { trustStore: 0, entry: 5 })).code).toBe(0x04);
    expect((await t.evse.request(CertificateManager.TrustStoreRemoveCertificate, { trustStore: 0, entry: 5 })).code).toBe(0x04);
    expect((await t.evse.request(CertificateManager.OwnCertificatesAddKey, { ownCertificateStore: 1, entry: 5, data: Uint8Array.of(1) })).code).toBe(0x04);
    expect((await t.evse.request(CertificateManager.OwnCertificatesRemovePrivateKey, { ownCertificateStore: 1, entry: 5 })).code).toBe(0x04);
    await t.pair.close();
  });
});
