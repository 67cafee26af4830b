/**
 * Pause and resume (issue 10 item 4): the simulated car pauses mid-charge (SessionStopReq
 * ChargingSession=Pause, so the EVSE host gets Session Stopped closure type 1, 18.12.13) and
 * resumes with the paused Session ID without re-plugging. Both stations on the simulated pair,
 * virtual clock, safety invariant checked at every EVSE frame.
 */
import { describe, expect, it } from 'vitest';
import { PAUSE_WAKE_UP_MS } from '../../machines/station-evse.js';
import { type Run, ended, start } from '../helpers/sim-run.js';

const PAUSE = { afterChargingMs: 5_000, resumeAfterMs: 15_000 };

const phases = (r: Run, station: 'EVSE' | 'EV') => r.emitted[station].flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
const evseOutput = (r: Run) => (r.evse.system.get('charger')?.getSnapshot() as { context: { active: boolean; targetCurrentA?: number } } | undefined)?.context;

describe('pause and resume', () => {
  it('the EVSE records a paused segment and a resumed one with the same session ID; charging goes on to the target', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(ended(r, 2))).toBe(true);
    const [paused, resumed] = r.records('EVSE');
    expect(paused).toMatchObject({ closure: 'pause', stopReason: 'paused' });
    expect(paused?.error).toBeUndefined();
    expect(paused?.energyDeliveredWh).toBeGreaterThan(0);
    expect(resumed).toMatchObject({ closure: 'terminate', stopReason: 'evStopped', resumed: true, sessionId: paused?.sessionId });
    expect(resumed?.energyDeliveredWh).toBeGreaterThan(0);
    expect(paused?.sessionId).toMatch(/^[0-9a-f]{16}$/);
    // The EV host learns of the resume from the Session ID (18.11.1); its first segment just stopped.
    const [evFirst, evSecond] = r.records('EV');
    expect(evFirst).toMatchObject({ stopReason: 'sessionStopped', sessionId: paused?.sessionId });
    expect(evSecond).toMatchObject({ stopReason: 'targetSocReached', resumed: true, sessionId: paused?.sessionId });
    expect(evSecond?.socEndPercent).toBeGreaterThanOrEqual(80);
    expect(r.logs('EVSE')).toContain('Session paused by the EV: output 0, the session can be resumed');
    expect(r.logs('EVSE')).toContain(`Session resumed: the EV came back with the paused session's ID ${paused?.sessionId}`);
    // No unplug in between: the EVSE went to `paused`, never to waiting for an unplug.
    expect(phases(r, 'EVSE')).toContain('paused');
    const logs = r.logs('EVSE');
    const resumedAt = logs.findIndex((l) => l.startsWith('Session resumed'));
    expect(logs.slice(0, resumedAt)).not.toContain('Waiting for the vehicle to leave');
    expect(r.pair.cable.isPlugged).toBe(true);
    expect(r.violations).toEqual([]);
  });

  it('while paused the charger output is 0 and the station sleeps in X1, then offers 5 % again', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(() => r.records('EVSE').length >= 1)).toBe(true);
    const pausedAt = r.clock.now();
    expect(r.evse.getSnapshot().matches({ running: 'paused' })).toBe(true);
    const out = evseOutput(r);
    expect(out?.active).toBe(false);
    // X1 right after the pause (100 %), 5 % again after the wake-up delay.
    await r.until(() => false, PAUSE_WAKE_UP_MS / 2);
    expect(r.pair.cable.evDutyCyclePermill).toBe(1000);
    let outputSeen = false;
    // Until the car resumes (15 s after its pause), the output stays 0 and no energy flows.
    const energyAtPause = r.records('EVSE')[0]?.energyDeliveredWh ?? 0;
    await r.until(() => {
      const c = evseOutput(r);
      if (c?.active) outputSeen = true;
      return r.clock.now() - pausedAt > PAUSE.resumeAfterMs - 1_000;
    });
    expect(outputSeen).toBe(false);
    expect(r.pair.cable.evDutyCyclePermill).toBe(50);
    expect(energyAtPause).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  });

  it('an unplug while paused ends the pause: the next session is a new one', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, pause: PAUSE } } });
    expect(await r.until(() => r.records('EVSE').length >= 1)).toBe(true);
    r.pair.cable.unplug();
    await r.until(() => false, 2_000);
    expect(r.evse.getSnapshot().matches({ running: 'waitingForVehicle' })).toBe(true);
    expect(r.evse.getSnapshot().context.pausedSessionId).toBeUndefined();
    r.pair.cable.plug();
    expect(await r.until(ended(r, 2))).toBe(true);
    const second = r.records('EVSE')[1];
    expect(second?.resumed).toBeUndefined();
    expect(second?.sessionId).not.toBe(r.records('EVSE')[0]?.sessionId);
    expect(r.violations).toEqual([]);
  });
});
