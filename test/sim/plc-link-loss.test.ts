/**
 * The PLC link lost with the car still plugged in (Sevenstax/FreeV2G#290): a real EVSE module
 * keeps its V2G session until a V2G timeout and reports Session Error / Session Stopped late
 * (ISO 15118-2 V2G_SECC_Sequence_Timeout, 60 s after its last response: the issue gives no
 * figure); the simulated one used to end it at the loss. The EVSE host must not depend on that
 * timing: output 0 at once (the car opens S2), a record, and no new session configured on a
 * module still in the old one. Both stations on the simulated pair, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { commandedOutput } from '../../machines/charger.js';
import { createHciClient } from '../../machines/hci-client.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { S2_OPEN_END_MS } from '../../machines/v2g-evse/s2-open.js';
import { type SessionPhase, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { SEQUENCE_TIMEOUT_MS } from '../../sim/services/v2g-evse.js';
import { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/** Both stations, the link lost in `phase`, the car left plugged in; what the EVSE host sent and got, timed. */
function linkLostIn(phase: SessionPhase) {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } }, cable: { plugInAfterMs: 1000, unplugAfterSessionMs: null, replugAfterMs: null } });
  const pair = createSimulatedPair({ clock, scenario, faults: { losePlcLinkIn: phase } });
  pairs.push(pair);
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const s = startStations({
    clock,
    evseClient,
    evClient: createHciClient({ transport: pair.evHost, clock }),
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  const frames: { at: number; dir: 'tx' | 'rx'; name: string }[] = [];
  evseClient.traffic$.subscribe((t) => {
    if (t.message) frames.push({ at: clock.now(), dir: t.dir === 'tx' ? 'tx' : 'rx', name: t.message.message });
  });
  let linkLostAt: number | undefined;
  pair.cable.events$.subscribe((e) => {
    if (e.type === 'plcLink' && !e.up) linkLostAt ??= clock.now();
  });
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  };
  const first = (dir: 'tx' | 'rx', name: string, after = 0) => frames.find((f) => f.dir === dir && f.name === name && f.at >= after)?.at;
  return { clock, s, frames, output, first, linkLostAt: () => linkLostAt };
}

describe('the PLC link lost, the car plugged in (Sevenstax/FreeV2G#290)', () => {
  it('charge loop: the module keeps its session; output 0 at the car opening S2, the host ends on it and its Stop Listen ends the module session', async () => {
    const r = linkLostIn('chargeLoop');
    expect(await r.clock.runUntil(() => r.linkLostAt() !== undefined, 120_000, 10)).toBe(true);
    const lostAt = r.linkLostAt() ?? 0;
    // Output 0 at once: the car's module ends its session and its host opens S2 (CP B).
    await r.clock.runUntil(() => false, 500, 10);
    expect(r.output()).toEqual({ voltageV: 0, currentA: 0 });
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 120_000, 10)).toBe(true);
    expect(r.clock.now() - lostAt).toBeLessThanOrEqual(S2_OPEN_END_MS + 1_000);
    expect(r.s.records('EVSE')[0]).toMatchObject({ stopReason: 'evLeftStateC' });
    await r.clock.runUntil(() => false, 5_000, 100);
    // The module said nothing of the loss: its session ended only at the host's Stop Listen.
    const stopListen = r.first('tx', 'EvseStopListen', lostAt) ?? Number.POSITIVE_INFINITY;
    const moduleEnd = r.first('rx', 'EvseSessionStopped', lostAt);
    expect(r.first('rx', 'EvseSessionError', lostAt)).toBeGreaterThanOrEqual(stopListen);
    expect(moduleEnd).toBeGreaterThanOrEqual(stopListen);
    // Nothing of a new session before the module's old one ended; the car is still plugged in.
    expect(r.first('tx', 'EvseStartListen', lostAt)).toBeUndefined();
    expect(r.first('tx', 'EvseSetConfiguration', lostAt)).toBeUndefined();
    expect(r.output()).toEqual({ voltageV: 0, currentA: 0 });
  }, 60_000);

  it('cable check: nothing on the CP ends it; the module reports Session Error and Session Stopped after its 60 s sequence timeout, the host records that', async () => {
    const r = linkLostIn('cableCheck');
    expect(await r.clock.runUntil(() => r.linkLostAt() !== undefined, 120_000, 10)).toBe(true);
    const lostAt = r.linkLostAt() ?? 0;
    expect(await r.clock.runUntil(() => r.s.records('EVSE').length > 0, 180_000, 100)).toBe(true);
    // 60 s after the module's last response to the car (at most one cable check request before the loss).
    const endAt = r.first('rx', 'EvseSessionError', lostAt) ?? 0;
    expect(endAt - lostAt).toBeGreaterThan(SEQUENCE_TIMEOUT_MS - 2_000);
    expect(endAt - lostAt).toBeLessThanOrEqual(SEQUENCE_TIMEOUT_MS + 1_000);
    expect(r.first('rx', 'EvseSessionStopped', lostAt)).toBeGreaterThanOrEqual(endAt);
    expect(r.s.records('EVSE')[0]?.error).toEqual({ code: 0, name: 'unspecified' });
    expect(r.s.logs('EVSE')).toContain('Session error: 0: unspecified');
    // No output and no new session meanwhile.
    expect(r.frames.some((f) => f.dir === 'tx' && f.at > lostAt && f.at < endAt && (f.name === 'EvseStartListen' || f.name === 'EvseSetConfiguration'))).toBe(false);
    await r.clock.runUntil(() => false, 5_000, 100);
    expect(r.output()).toEqual({ voltageV: 0, currentA: 0 });
  }, 60_000);
});
