/**
 * Deadlines, scripted errors and injected faults: each ends the session the manual's way on
 * both sides (EVSE: Session Error then Session Stopped, 18.12.14; EV: Session Error 18.11.14
 * then Session Stopped), on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { ControlPilot, Framing, System, V2g } from '../../codec/catalog.js';
import { hexToBytes } from '../../codec/frame.js';
import { builtinScenarioPath, loadScenario } from '../../sim/index.js';
import { runEvseStub, runEvStub } from '../../sim/stub-stations.js';
import { SEQUENCE_TIMEOUT_MS } from '../../sim/services/v2g-evse.js';
import { collapsed, setup } from '../helpers/sim-helpers.js';

type T = ReturnType<typeof setup>;
const ended = (t: T) => () => t.ev.types().includes('V2g.EvSessionStopped') && t.evse.types().includes('V2g.EvseSessionStopped');
const tail = (types: string[], n: number) => types.slice(-n);
const fieldsOf = (t: T, side: 'ev' | 'evse', type: string) => t[side].statuses.find((s) => s.type === type)?.fields;

describe('deadlines in the EVSE status messages are enforced', () => {
  it('authorization not answered within timeoutMs: Session Error 0 and Session Stopped', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, station: { timeouts: { authorizationMs: 2000 } } });
    t.catchErr(runEvseStub(t.evse, t.clock, { answer: { authorization: false } }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    const requested = t.evse.statuses.find((s) => s.type === 'V2g.EvseAuthorizationStatusRequested');
    const error = t.evse.statuses.find((s) => s.type === 'V2g.EvseSessionError');
    expect(requested?.fields).toEqual({ timeoutMs: 2000 });
    expect((error?.at ?? 0) - (requested?.at ?? 0)).toBe(2000);
    expect(error?.fields).toEqual({ errorCode: 0 });
    expect(tail(t.evse.types('V2g.'), 3)).toEqual(['V2g.EvseAuthorizationStatusRequested', 'V2g.EvseSessionError', 'V2g.EvseSessionStopped']);
    expect(tail(t.ev.types('V2g.'), 3)).toEqual(['V2g.EvSessionStarted', 'V2g.EvSessionError', 'V2g.EvSessionStopped']);
    expect(fieldsOf(t, 'ev', 'V2g.EvSessionError')).toEqual({ code: 8 });
    await t.pair.close();
  });

  it('a late answer is refused with wrong state (0x11)', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, station: { timeouts: { authorizationMs: 2000 } } });
    t.catchErr(runEvseStub(t.evse, t.clock, { answer: { authorization: false } }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(ended(t), 60_000);
    expect((await t.evse.request(V2g.EvseSetAuthorizationStatus, { result: 0 })).code).toBe(0x11);
    await t.pair.close();
  });

  it('schedules not set in time end the session', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, station: { timeouts: { schedulesMs: 300 } } });
    t.catchErr(runEvseStub(t.evse, t.clock, { answer: { schedules: false } }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(tail(t.evse.types('V2g.'), 3)).toEqual(['V2g.EvseSchedulesRequested', 'V2g.EvseSessionError', 'V2g.EvseSessionStopped']);
    await t.pair.close();
  });

  it('a refused authorization ends the session on both sides', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.evse.on('V2g.EvseAuthorizationStatusRequested', async () => {
      await t.evse.command(V2g.EvseSetAuthorizationStatus, { result: 1 });
    });
    // runEvseStub would answer "succeeded": configure by hand instead (same commands).
    t.catchErr(runEvseStub(t.evse, t.clock, { answer: { authorization: false } }));
    t.evse.on('V2g.EvseAuthorizationStatusRequested', async () => {
      await t.evse.command(V2g.EvseSetAuthorizationStatus, { result: 1 });
    });
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(tail(t.ev.types('V2g.'), 2)).toEqual(['V2g.EvSessionError', 'V2g.EvSessionStopped']);
    expect(t.ev.types()).not.toContain('V2g.EvScheduleReceived');
    await t.pair.close();
  });

  it('no Update DC Charging Parameters for 500 ms in the charge loop: error 23 "charge parameter timeout reached"', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    await t.clock.runUntil(() => t.evse.types().includes('V2g.EvseStartChargingRequested'), 60_000);
    await t.clock.runUntil(() => false, 1000);
    // The host falls silent: it no longer answers the car's parameters.
    t.evse.on('V2g.EvseDcChargeParametersChanged', () => undefined);
    const silentFrom = t.clock.now();
    expect(await t.clock.runUntil(ended(t), 10_000)).toBe(true);
    const error = t.evse.statuses.find((s) => s.type === 'V2g.EvseSessionError');
    expect(error?.fields).toEqual({ errorCode: 23 });
    expect((error?.at ?? 0) - silentFrom).toBeLessThanOrEqual(500);
    expect(tail(t.evse.types('V2g.'), 2)).toEqual(['V2g.EvseSessionError', 'V2g.EvseSessionStopped']);
    expect(tail(t.ev.types('V2g.'), 2)).toEqual(['V2g.EvSessionError', 'V2g.EvSessionStopped']);
    await t.pair.close();
  });

  it('the missed-deadline scenario (100 ms) trips error 23; Set Session Parameter Timeout (0x76) relaxes it', async () => {
    const scenario = await loadScenario(builtinScenarioPath('missed-deadline'));
    for (const relax of [false, true]) {
      const t = setup({ ...scenario, cable: { plugInAfterMs: 100 } });
      if (relax) {
        await t.evse.command(V2g.SetMode, { mode: 1 });
        await t.evse.command(V2g.EvseSetSessionParameterTimeout, { timeoutMs: 1000 });
      }
      t.catchErr(runEvseStub(t.evse, t.clock));
      t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 3000 }));
      expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
      const error = fieldsOf(t, 'evse', 'V2g.EvseSessionError');
      if (relax) expect(error).toBeUndefined();
      else expect(error).toEqual({ errorCode: 23 });
      await t.pair.close();
    }
  });
});

describe('scripted errors and slow phases (scenarios)', () => {
  it('the station fails the cable check with the scripted codes', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 }, station: { errors: [{ phase: 'cableCheck', evseSessionError: 20, evSessionError: 6 }] } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(fieldsOf(t, 'evse', 'V2g.EvseSessionError')).toEqual({ errorCode: 20 });
    expect(fieldsOf(t, 'ev', 'V2g.EvSessionError')).toEqual({ code: 6 });
    expect(tail(t.ev.types('V2g.'), 3)).toEqual(['V2g.EvCableCheckReady', 'V2g.EvSessionError', 'V2g.EvSessionStopped']);
    await t.pair.close();
  });

  it('the car reports a DC_EVErrorCode from a named phase on', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } }, { evErrors: [{ phase: 'chargeLoop', evErrorCode: 1 }] });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 1000 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    const start = t.evse.statuses.find((s) => s.type === 'V2g.EvseStartChargingRequested')?.at ?? 0;
    const dc = t.evse.statuses.filter((s) => s.type === 'V2g.EvseDcChargeParametersChanged');
    expect(dc.filter((s) => s.at < start).every((s) => s.fields.errorCode === 0 && s.fields.ready === true)).toBe(true);
    expect(dc.filter((s) => s.at > start).every((s) => s.fields.errorCode === 1 && s.fields.ready === false)).toBe(true);
    await t.pair.close();
  });

  it('slow-precharge: cable check takes 4 s, pre-charge 5 s', async () => {
    const scenario = await loadScenario(builtinScenarioPath('slow-precharge'));
    const t = setup({ ...scenario, cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 500 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    const at = (type: string) => [...t.ev.statuses, ...t.evse.statuses].find((s) => s.type === type)?.at ?? NaN;
    expect(at('V2g.EvCableCheckFinished') - at('V2g.EvseCableCheckRequested')).toBeGreaterThanOrEqual(4000);
    expect(at('V2g.EvChargingReady') - at('V2g.EvsePreChargeStarted')).toBeGreaterThanOrEqual(5000);
    expect(t.ev.types()).not.toContain('V2g.EvSessionError');
    await t.pair.close();
  });

  it('a pre-charge that never reaches the target fails with code 7 after the car timeout', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock, { updateParameters: false }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(fieldsOf(t, 'ev', 'V2g.EvSessionError')).toEqual({ code: 7 });
    await t.pair.close();
  });
});

describe('cable and module faults', () => {
  it('unplugging in the charge loop ends the session on both sides; CP goes to A / E', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } }, { unplugIn: 'chargeLoop' });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(tail(t.evse.types('V2g.'), 2)).toEqual(['V2g.EvseSessionError', 'V2g.EvseSessionStopped']);
    expect(tail(t.ev.types('V2g.'), 2)).toEqual(['V2g.EvSessionError', 'V2g.EvSessionStopped']);
    expect(t.evse.statuses.filter((s) => s.type === 'ControlPilot.StateChanged').at(-1)?.fields).toEqual({ state: 0 });
    expect(t.ev.statuses.filter((s) => s.type === 'ControlPilot.StateChanged').at(-1)?.fields).toEqual({ state: 4 });
    expect(t.pair.cable.isPlugged).toBe(false);
    await t.pair.close();
  });

  it('losing the PLC link in pre-charge: the EV module ends its session at once, the EVSE module after its 60 s sequence timeout (Sevenstax/FreeV2G#290)', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } }, { losePlcLinkIn: 'preCharge' });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(() => t.ev.types().includes('V2g.EvSessionStopped'), 60_000)).toBe(true);
    const evEndedAt = t.clock.now();
    expect(t.ev.types()).toContain('V2g.EvSessionError');
    expect(t.evse.types()).not.toContain('V2g.EvseSessionError');
    expect(await t.clock.runUntil(ended(t), 120_000)).toBe(true);
    expect(t.clock.now() - evEndedAt).toBeGreaterThan(SEQUENCE_TIMEOUT_MS - 2_000);
    expect(tail(t.evse.types('V2g.'), 2)).toEqual(['V2g.EvseSessionError', 'V2g.EvseSessionStopped']);
    expect(t.pair.cable.plcLinkUp).toBe(false);
    await t.pair.close();
  });

  it('resetting the EVSE module in authorization: its state is lost, the car gets a session error', async () => {
    const t = setup({ cable: { plugInAfterMs: 100 } }, { modules: { evse: { resetIn: 'authorization' } } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1 }));
    expect(await t.clock.runUntil(() => t.ev.types().includes('V2g.EvSessionStopped'), 60_000)).toBe(true);
    expect(t.ev.types()).toContain('V2g.EvSessionError');
    expect((await t.evse.command(V2g.GetMode, {})).mode).toBe(2);
    expect((await t.evse.command(ControlPilot.GetDutyCycle, {})).dutyCyclePermill).toBe(1000);
    await t.pair.close();
  });

  it('a module that stops answering answers nothing, not even pings', async () => {
    const t = setup({ cable: { plugInAfterMs: null } }, { modules: { ev: { stopAnswering: { afterMs: 1000 } } } });
    // Ping's reply comes on its own Sub-ID (10.3.2), so it is a status message here.
    void t.ev.request(Framing.Ping, { data: Uint8Array.of(1) }, 100).catch(() => undefined);
    await t.clock.runUntil(() => t.ev.types().includes('Framing.PingReply'), 50);
    expect(t.ev.types()).toEqual(['Framing.PingReply']);
    await t.clock.runUntil(() => false, 1000);
    const after = t.ev.request(System.GetFirmwareVersion, {}, 500);
    const settled = after.then(
      () => 'answered',
      () => 'timeout',
    );
    await t.clock.runUntil(() => false, 600);
    expect(await settled).toBe('timeout');
    await t.pair.close();
  });

  it('answers busy with the configured probability, deterministically per seed', async () => {
    const codes = async (seed: number) => {
      const t = setup({ cable: { plugInAfterMs: null } }, { seed, modules: { evse: { busyRate: 0.5 } } });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        const r = t.evse.request(ControlPilot.GetState, {});
        await t.clock.runUntil(() => false, 1);
        out.push((await r).code);
      }
      await t.pair.close();
      return out;
    };
    const a = await codes(7);
    expect(new Set(a)).toEqual(new Set([0x00, 0x01]));
    expect(a.filter((c) => c === 1).length).toBeGreaterThan(10);
    expect(await codes(7)).toEqual(a);
    expect(await codes(8)).not.toEqual(a);
  });

  it('link faults: dropped, corrupted, duplicated and delayed frames', async () => {
    const raw = async (links: NonNullable<Parameters<typeof setup>[1]>['links']) => {
      const t = setup({ cable: { plugInAfterMs: null } }, { links });
      const got: Array<{ at: number; hex: string }> = [];
      t.pair.evseHost.frames$.subscribe((f) => got.push({ at: t.clock.now(), hex: Buffer.from(f).toString('hex') }));
      await t.pair.evseHost.send(hexToBytes('C0 29 48 08 00 00 00 C1')); // Get State, ReqID 8
      await t.clock.runUntil(() => false, 200);
      await t.pair.close();
      return got;
    };
    expect(await raw({ evse: { dropRate: 1, direction: 'toModule' } })).toEqual([]);
    // A flipped bit: the module reports a framing error (module 0xFF) instead of answering.
    const corrupted = await raw({ evse: { corruptRate: 1, direction: 'toModule' } });
    expect(corrupted).toHaveLength(1);
    expect(corrupted[0]?.hex.slice(0, 4)).toMatch(/^c0(ff|29)$/);
    const dup = await raw({ evse: { duplicateRate: 1, direction: 'toHost' } });
    expect(dup.map((d) => d.hex)).toEqual(['c029480800020000', 'c029480800020000'].map((h) => dup[0]?.hex ?? h));
    expect(dup).toHaveLength(2);
    const delayed = await raw({ evse: { delayRate: 1, delayMs: [40, 40], direction: 'toHost' } });
    expect(delayed).toHaveLength(1);
    expect(delayed[0]?.at).toBe(40);
  });

  it('SLAC failing twice before it succeeds (slac-retries scenario)', async () => {
    const scenario = await loadScenario(builtinScenarioPath('slac-retries'));
    const t = setup({ ...scenario, cable: { plugInAfterMs: 100 } });
    t.catchErr(runEvseStub(t.evse, t.clock));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 500 }));
    expect(await t.clock.runUntil(ended(t), 60_000)).toBe(true);
    expect(collapsed(t.ev.types('Slac.'))).toEqual(['Slac.SlacFailed x2', 'Slac.SlacSuccess']);
    expect(t.evse.types('Slac.')).toEqual(['Slac.SlacSuccess']);
    expect(t.ev.types()).not.toContain('V2g.EvSessionError');
    await t.pair.close();
  });
});
