/**
 * SECC discovery (manual 2.8.4, 21.8.1, 21.9.2): the EV module looks for the SECC with SDP on its
 * own after Start Session and keeps asking (ISO 15118-2: every 250 ms, 50 times) until the EVSE
 * host has started listening. A host that configures and listens only after SLAC success, a
 * moment after the car started its session (the Python reference does), still gets its session.
 */
import { describe, expect, it } from 'vitest';
import { SDP_WINDOW_MS } from '../../sim/services/v2g-evse.js';
import { runEvseStub, runEvStub } from '../../sim/stub-stations.js';
import { setup } from '../helpers/sim-helpers.js';

const stopped = (t: ReturnType<typeof setup>) => () => t.ev.types().includes('V2g.EvSessionStopped') && t.evse.types().includes('V2g.EvseSessionStopped');

describe('SECC discovery before Start Listen', () => {
  it('a car that starts its session before the EVSE listens gets it once the host listens', async () => {
    const t = setup({ cable: { plugInAfterMs: 1000 } });
    t.catchErr(runEvseStub(t.evse, t.clock, { listenAfterMs: 3000 }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 1000 }));
    expect(await t.clock.runUntil(stopped(t), 120_000)).toBe(true);
    expect(t.errors).toEqual([]);
    expect(t.problems).toEqual([]);
    expect(t.ev.types('V2g.EvSessionError')).toEqual([]);
    expect(t.evse.types('V2g.EvseSessionError')).toEqual([]);
    // The session started only once the host listened, 3 s after SLAC success.
    const matched = t.evse.statuses.find((s) => s.type === 'Slac.SlacSuccess');
    const started = t.evse.statuses.find((s) => s.type === 'V2g.EvseSessionStarted');
    expect(started).toBeDefined();
    expect((started?.at ?? 0) - (matched?.at ?? Infinity)).toBeGreaterThanOrEqual(3000);
  });

  it('a car that never finds a listening SECC gives up after the SDP window with Session Error 8', async () => {
    const t = setup({ cable: { plugInAfterMs: 1000 } });
    t.catchErr(runEvseStub(t.evse, t.clock, { listenAfterMs: 10 * 60_000 }));
    t.catchErr(runEvStub(t.ev, t.clock, { energyTransferMode: 1, chargeForMs: 1000 }));
    expect(await t.clock.runUntil(() => t.ev.types().includes('Slac.SlacSuccess'), 60_000)).toBe(true);
    const matchedAt = t.clock.now();
    expect(await t.clock.runUntil(() => t.ev.types().includes('V2g.EvSessionError'), 60_000)).toBe(true);
    const error = t.ev.statuses.find((s) => s.type === 'V2g.EvSessionError');
    expect(error?.fields).toEqual({ code: 8 });
    expect((error?.at ?? 0) - matchedAt).toBeGreaterThanOrEqual(SDP_WINDOW_MS);
    expect((error?.at ?? 0) - matchedAt).toBeLessThan(SDP_WINDOW_MS + 1000);
    expect(t.evse.types('V2g.EvseSession')).toEqual([]);
  });
});
