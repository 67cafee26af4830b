/**
 * The simulated modules one service at a time: Control Pilot states on the virtual cable
 * (IEC 61851-1 via manual 15), SLAC matching windows (16.4.5), System, Framing ping, Time,
 * Network Configuration port mirror, Certificate Manager stores (20, 21.8.12).
 */
import { describe, expect, it } from 'vitest';
import { CertificateManager, ControlPilot, Framing, NetworkConfiguration, Slac, System, Time, V2g } from '../../codec/catalog.js';
import { stripZeroPadding } from '../../codec/schema.js';
import { FIRMWARE_VERSIONS } from '../../sim/index.js';
import { setup } from '../helpers/sim-helpers.js';

const STATE = { A: 0, B: 1, C: 2, D: 3, E: 4, F: 5 } as const;

describe('Control Pilot on the virtual cable', () => {
  it('EVSE sees A unplugged, B plugged, C/D by resistor level, F at 0 % PWM; the EV sees E unplugged', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    const { evse, ev, pair } = t;
    await evse.command(ControlPilot.Start, {});
    await ev.command(ControlPilot.Start, {});
    const state = async (h: typeof evse) => (await h.command(ControlPilot.GetState, {})).state;
    expect(await state(evse)).toBe(STATE.A);
    expect(await state(ev)).toBe(STATE.E);
    expect((await ev.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(0);
    pair.cable.plug();
    expect(await state(evse)).toBe(STATE.B);
    expect(await state(ev)).toBe(STATE.B);
    expect((await ev.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(1000);
    await evse.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 50 });
    expect((await ev.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(50);
    expect((await evse.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(50);
    await ev.command(ControlPilot.SetResistorLevel, { level: 1 });
    expect(await state(evse)).toBe(STATE.C);
    expect((await ev.command(ControlPilot.GetResistorLevel, {})).level).toBe(1);
    await ev.command(ControlPilot.SetResistorLevel, { level: 2 });
    expect(await state(evse)).toBe(STATE.D);
    await evse.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 0 });
    expect(await state(evse)).toBe(STATE.F);
    // 15.4.12: U = AD * 0.007172 - 14.84; state F is -12 V.
    const ad = (await evse.command(ControlPilot.GetCpAdValue, {})).adValue as number;
    expect(ad * 0.007172 - 14.84).toBeCloseTo(-12, 1);
    // A CP-PE short pulls the line to 0 V whatever the PWM: state E.
    pair.cable.setCpFault(true);
    expect(await state(evse)).toBe(STATE.E);
    await evse.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 1000 });
    expect(await state(evse)).toBe(STATE.E);
    await t.clock.runUntil(() => false, 10);
    expect(evse.statuses.filter((s) => s.type === 'ControlPilot.StateChanged').map((s) => s.fields.state)).toEqual([STATE.B, STATE.C, STATE.D, STATE.F, STATE.E]);
    await pair.close();
  });

  it('stores values while stopped and restores defaults on Stop (15.4.3, 15.4.4); no status while stopped', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.evse.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 50 });
    t.pair.cable.plug();
    await t.clock.runUntil(() => false, 10);
    expect(t.evse.statuses).toEqual([]);
    expect((await t.ev.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(1000);
    await t.evse.command(ControlPilot.Start, {});
    expect((await t.ev.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(50);
    await t.evse.command(ControlPilot.Stop, {});
    expect((await t.evse.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(1000);
    await t.pair.close();
  });

  it('the EV reports duty cycle changes beyond its threshold only (15.4.10)', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.ev.command(ControlPilot.Start, {});
    await t.ev.command(ControlPilot.SetDutyCycleNotificationThreshold, { thresholdPermill: 50 });
    expect((await t.ev.command(ControlPilot.GetDutyCycleNotificationThreshold, {})).thresholdPermill).toBe(50);
    await t.evse.command(ControlPilot.Start, {});
    t.pair.cable.plug();
    for (const d of [980, 960, 940, 100, 90, 50]) await t.evse.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: d });
    await t.clock.runUntil(() => false, 10);
    expect(t.ev.statuses.filter((s) => s.type === 'ControlPilot.DutyCycleChanged').map((s) => s.fields.dutyCyclePermill)).toEqual([1000, 940, 100, 50]);
    await t.pair.close();
  });
});

describe('SLAC matching (16.4.5)', () => {
  it('matches when the EV starts inside the EVSE window; Get State follows 1 -> 2 -> 3 -> 4 -> 5', async () => {
    const t = setup({ cable: { plugInAfterMs: 0 } });
    const st = async (h: typeof t.evse) => (await h.command(Slac.GetState, {})).state;
    expect(await st(t.evse)).toBe(1);
    await t.evse.command(Slac.StartSlac, { mode: 1 });
    expect(await st(t.evse)).toBe(2);
    await t.clock.runUntil(() => false, 600);
    expect(await st(t.evse)).toBe(3);
    await t.evse.command(Slac.StartMatching, {});
    expect(await st(t.evse)).toBe(4);
    await t.ev.command(Slac.StartSlac, { mode: 0 });
    await t.ev.command(Slac.StartMatching, {}); // queued until the firmware is up
    await t.clock.runUntil(() => t.ev.types().includes('Slac.SlacSuccess'), 10_000);
    expect(t.evse.types()).toEqual(['Slac.SlacSuccess']);
    expect(await st(t.evse)).toBe(5);
    expect(await st(t.ev)).toBe(5);
    expect((await t.ev.command(NetworkConfiguration.GetLinkStatus, { interface: 0 })).linkStatus).toBe(true);
    await t.pair.close();
  });

  it('the EVSE window closes unmatched after 50 s: SlacFailed', async () => {
    const t = setup({ cable: { plugInAfterMs: 0 } });
    await t.evse.command(Slac.StartSlac, { mode: 1 });
    await t.clock.runUntil(() => false, 600);
    await t.evse.command(Slac.StartMatching, {});
    const at = t.clock.now();
    await t.clock.runUntil(() => t.evse.types().includes('Slac.SlacFailed'), 60_000);
    expect((t.evse.statuses.find((s) => s.type === 'Slac.SlacFailed')?.at ?? 0) - at).toBe(50_000);
    expect((await t.evse.command(Slac.GetState, {})).state).toBe(6);
    await t.pair.close();
  });

  it('an EV attempt fails when no EVSE is matching (unplugged or not started)', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.ev.command(Slac.StartSlac, { mode: 0 });
    await t.clock.runUntil(() => false, 600);
    await t.ev.command(Slac.StartMatching, {});
    await t.clock.runUntil(() => t.ev.types().includes('Slac.SlacFailed'), 10_000);
    expect(t.evse.types()).toEqual([]);
    expect(t.pair.cable.plcLinkUp).toBe(false);
    await t.pair.close();
  });

  it('stores AttnRx / AttnTxRef and the validation configuration', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    const values = Uint8Array.from({ length: 58 }, (_, i) => 0x10 + i);
    await t.evse.command(Slac.SetAttnRxValues, { attnRx: values });
    expect((await t.evse.command(Slac.GetAttnRxValues, {})).attnRx).toEqual(values);
    await t.ev.command(Slac.SetAttnTxRefValues, { attnTxRef: values });
    expect((await t.ev.command(Slac.GetAttnTxRefValues, {})).attnTxRef).toEqual(values);
    await t.ev.command(Slac.SetValidationConfiguration, { enabled: true });
    expect((await t.ev.command(Slac.GetValidationConfiguration, {})).enabled).toBe(true);
    await t.pair.close();
  });
});

describe('System, Framing, Time, Network Configuration', () => {
  it('firmware versions as in the reference tables; MAC; ping echoes data with its request ID', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.command(System.GetFirmwareVersion, {})).version).toBe(FIRMWARE_VERSIONS.EVSE);
    expect((await t.ev.command(System.GetFirmwareVersion, {})).version).toBe('V01_00_06');
    expect((await t.evse.command(System.GetVersion, {})).version).toBe('V02_00_01');
    expect((await t.evse.command(System.GetMacAddress, {})).mac).toEqual(Uint8Array.of(0xc4, 0x93, 0x00, 0x22, 0x22, 0x22));
    void t.evse.request(Framing.Ping, { data: Uint8Array.of(1, 2, 3) }, 50).catch(() => undefined);
    await t.clock.runUntil(() => t.evse.types().includes('Framing.PingReply'), 20);
    const reply = t.evse.statuses.find((s) => s.type === 'Framing.PingReply');
    expect(reply?.fields).toEqual({ data: Uint8Array.of(1, 2, 3) });
    expect(reply?.reqId).toBe(3); // the ping's request ID (the host's fourth request), not 0xFF
    expect((await t.evse.request(System.GetFileHash, { filename: 'x' })).code).toBe(0x10);
    await t.pair.close();
  });

  it('Restart System: power-on state (V2G mode undefined, CP stopped), serial number kept', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    await t.evse.command(System.SetSerialNumber, { serialNumber: 'SN1' });
    expect((await t.evse.request(System.SetSerialNumber, { serialNumber: 'SN2' })).code).toBe(0x05);
    await t.evse.command(V2g.SetMode, { mode: 1 });
    await t.evse.command(ControlPilot.Start, {});
    await t.evse.command(System.RestartSystem, {});
    await t.clock.runUntil(() => false, 1);
    expect((await t.evse.command(V2g.GetMode, {})).mode).toBe(2);
    expect((await t.evse.request(ControlPilot.Stop, {})).code).toBe(0x05);
    expect((await t.evse.command(System.GetSerialNumber, {})).serialNumber).toBe('SN1');
    await t.pair.close();
  });

  it('Time: no valid time until set (0x10), then it runs with the clock', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.request(Time.GetTime, { type: 0 })).code).toBe(0x10);
    await t.evse.command(Time.SetTime, { type: 0, year: 2026, month: 11, day: 26, hour: 23, minute: 59, seconds: 30 });
    t.clock.advance(45_000);
    expect(await t.evse.command(Time.GetTime, { type: 0 })).toEqual({ year: 2026, month: 11, day: 27, hour: 0, minute: 0, seconds: 15 });
    await t.pair.close();
  });

  it('port mirror state and configuration (13.3.10-13.3.13)', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    expect((await t.evse.command(NetworkConfiguration.GetPortMirrorState, {})).state).toBe(0);
    await t.evse.command(NetworkConfiguration.SetPortMirrorState, { state: 1 });
    expect((await t.evse.command(NetworkConfiguration.GetPortMirrorState, {})).state).toBe(1);
    await t.evse.command(NetworkConfiguration.SetPortMirrorConfiguration, { sniffingInterface: 'plc0', outInterface: 'eth1' });
    expect(await t.evse.command(NetworkConfiguration.GetPortMirrorConfiguration, {})).toEqual({ sniffingInterface: 'plc0', outInterface: 'eth1' });
    await t.pair.close();
  });
});

describe('Certificate Manager (20, 21.8.12)', () => {
  it('trust store: add -> status + index synchronised, iterate with Get Next Entry, remove', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    const h = t.evse;
    expect((await h.command(CertificateManager.TrustStoreOpen, { path: '/trust' })).handle).toBe(0);
    await h.command(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(0x30, 1) });
    await t.clock.runUntil(() => h.types().includes('CertificateManager.TrustStoreIndexSynchronized'), 1000);
    await h.command(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(0x30, 2) });
    await t.clock.runUntil(() => h.types().filter((x) => x.endsWith('IndexSynchronized')).length === 2, 1000);
    // The same certificate again: status "duplicate" (8).
    await h.command(CertificateManager.TrustStoreAddCertificate, { trustStore: 0, data: Uint8Array.of(0x30, 2) });
    await t.clock.runUntil(() => h.types().filter((x) => x.endsWith('IndexSynchronized')).length === 3, 1000);
    expect(h.statuses.filter((s) => s.type === 'CertificateManager.TrustStoreCertificateStatus').map((s) => s.fields)).toEqual([
      { trustStore: 0, entry: 0, status: 0 },
      { trustStore: 0, entry: 1, status: 0 },
      { trustStore: 0, entry: 1, status: 8 },
    ]);
    const first = await h.command(CertificateManager.TrustStoreGetNextEntry, { trustStore: 0, entry: 0xff });
    expect(first.entry).toBe(0);
    expect(stripZeroPadding((first.info as { filename: string }).filename)).toBe('cert0');
    expect((await h.command(CertificateManager.TrustStoreGetNextEntry, { trustStore: 0, entry: 0 })).entry).toBe(1);
    expect(await h.command(CertificateManager.TrustStoreGetNextEntry, { trustStore: 0, entry: 1 })).toEqual({ entry: 0xff });
    await h.command(CertificateManager.TrustStoreRemoveCertificate, { trustStore: 0, entry: 0 });
    await t.clock.runUntil(() => false, 200);
    expect((await h.command(CertificateManager.TrustStoreGetNextEntry, { trustStore: 0, entry: 0xff })).entry).toBe(1);
    await t.pair.close();
  });

  it('own certificates: add returns the entry, add key reports "loaded private key"', async () => {
    const t = setup({ cable: { plugInAfterMs: null } });
    const h = t.evse;
    expect((await h.command(CertificateManager.OwnCertificatesOpen, { path: '/own' })).handle).toBe(1);
    expect((await h.command(CertificateManager.OwnCertificatesAddCertificate, { ownCertificateStore: 1, data: Uint8Array.of(0x30, 9) })).entry).toBe(0);
    await t.clock.runUntil(() => false, 200);
    await h.command(CertificateManager.OwnCertificatesAddKey, { ownCertificateStore: 1, entry: 0, data: Uint8Array.of(0x30, 7) });
    await t.clock.runUntil(() => false, 200);
    expect(h.statuses.filter((s) => s.type === 'CertificateManager.OwnCertificatesCertificateStatus').map((s) => s.fields.status)).toEqual([0, 1]);
    const info = await h.command(CertificateManager.OwnCertificatesGetCertificateInfo, { ownCertificateStore: 1, entry: 0 });
    expect((info.info as { flags: number }).flags).toBe(0x0004 | 0x0008);
    await t.pair.close();
  });
});
