/**
 * Issue 12 item 13, fuzz campaign run 2 seeds 567 661 511 552: one frame lost on a host link left
 * a host waiting for ever while the car kept the V2G loop alive (no module timeout fires), so the
 * session never ended and had no record. Each test loses that one frame on purpose (the seeds'
 * random draws changed with later trees, so the seeds alone no longer reach it).
 */
import { describe, expect, it } from 'vitest';
import { commandedOutput } from '../../machines/charger.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { PRE_CHARGE_WATCHDOG_MS, START_CHARGING_FALLBACK_MS } from '../../machines/v2g-ev-session.js';
import { LOST_END_WATCHDOG_MS, PRE_CHARGE_LOST_END_MS } from '../../machines/v2g-evse-session.js';
import { SEQUENCE_TIMEOUT_MS } from '../../sim/services/v2g-evse.js';
import { losingRequests, losingStatuses, type simulatedClients, stationsWith } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

function setUp(clients: (c: ReturnType<typeof simulatedClients>) => { evseClient?: HciClient; evClient?: HciClient }) {
  const c = stationsWith(clients);
  pairs.push(c.pair);
  const { s } = c;
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  };
  const recorded = () => s.records('EVSE').length > 0 && s.records('EV').length > 0;
  return { ...c, s, output, recorded };
}

describe('a lost EvStopSession after the pre-charge watchdog (fuzz seed 567)', () => {
  it('the stop is sent again: both sides record, output 0', async () => {
    let loseNext = false;
    let lost = 0;
    let sent = 0;
    const { clock, s, output, recorded } = setUp(({ clock, evClient }) => {
      const lossy = losingRequests(clock, losingStatuses(evClient, 'EvChargingReady'), 'EvStartCharging');
      const request: HciClient['request'] = (def, fields, options) => {
        if (def.name === 'EvStopSession' && loseNext) {
          sent++;
          if (lost === 0) {
            lost++;
            return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', 'V2g.EvStopSession', 'V2g.EvStopSession: no response within 1000 ms')), 1000));
          }
        }
        return lossy.request(def, fields, options);
      };
      return { evClient: Object.assign(Object.create(lossy) as HciClient, { request }) };
    });
    expect(await clock.runUntil(() => s.logs('EV').includes('"Pre Charging Ready" received'), 120_000, 10)).toBe(true);
    loseNext = true;
    const preChargeAt = clock.now();
    expect(await clock.runUntil(recorded, 10 * PRE_CHARGE_WATCHDOG_MS, 100)).toBe(true);
    expect(clock.now() - preChargeAt).toBeLessThanOrEqual(PRE_CHARGE_WATCHDOG_MS + 3000);
    expect(lost).toBe(1);
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(s.records('EV')[0]?.stopReason).toBe('preChargeTimeout');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost Charging Started (fuzz seed 661)', () => {
  it('the EV host goes on into the charge loop after its fallback and stops at the target SOC: both sides record, output 0', async () => {
    const { clock, s, output, recorded } = setUp(({ evClient }) => ({ evClient: losingStatuses(evClient, 'EvChargingStarted') }));
    expect(await clock.runUntil(() => s.logs('EV').includes('Start charging: EVSE output within the battery limits'), 120_000, 10)).toBe(true);
    const startAt = clock.now();
    let fallbackAt = Number.NaN;
    s.ev.on('*', (e) => {
      const x = e as { type: string; text?: string };
      if (x.type === 'log' && x.text?.startsWith('No Charging Started') && Number.isNaN(fallbackAt)) fallbackAt = clock.now();
    });
    // A normal session of this battery takes ~100 s from Start Charging.
    expect(await clock.runUntil(recorded, 300_000, 100)).toBe(true);
    expect(fallbackAt - startAt).toBeGreaterThanOrEqual(START_CHARGING_FALLBACK_MS - 100);
    expect(fallbackAt - startAt).toBeLessThanOrEqual(START_CHARGING_FALLBACK_MS + 100);
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost Session Stopped on the EVSE side (fuzz seeds 511, 552)', () => {
  it('the EVSE host ends the session after its post-charge watchdog: recorded, output 0', async () => {
    const { clock, s, output, recorded } = setUp(({ evseClient }) => ({ evseClient: losingStatuses(evseClient, 'EvseSessionStopped') }));
    expect(await clock.runUntil(() => s.records('EV').length > 0, 3_600_000, 100)).toBe(true);
    expect(s.logs('EVSE')).toContain('"Request Stop Charging" received');
    const evEndedAt = clock.now();
    expect(await clock.runUntil(recorded, 10 * LOST_END_WATCHDOG_MS, 100)).toBe(true);
    expect(clock.now() - evEndedAt).toBeLessThanOrEqual(LOST_END_WATCHDOG_MS + 2000);
    expect(s.logs('EVSE').some((l) => l.startsWith('No Session Stopped'))).toBe(true);
    expect(s.logs('EVSE')).not.toContain('"Session stopped" received');
    expect(s.records('EVSE')[0]?.stopReason).toBe('evStopped');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost end of session in charge parameter discovery (fuzz seed 602)', () => {
  it('the module ends a quiet car session (sequence timeout) but its Session Error and Session Stopped are lost: the EVSE host ends it after its watchdog, recorded, output 0', async () => {
    const { clock, s, output } = setUp(({ clock, evseClient, evClient }) => ({
      evseClient: losingStatuses(evseClient, 'EvseSessionStopped', 'EvseSessionError'),
      evClient: losingRequests(clock, losingStatuses(evClient, 'EvCableCheckReady'), 'EvStartCableCheck'),
    }));
    expect(await clock.runUntil(() => s.logs('EVSE').includes('"Request Schedules" received'), 120_000, 10)).toBe(true);
    const schedulesAt = clock.now();
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 10 * LOST_END_WATCHDOG_MS, 100)).toBe(true);
    expect(clock.now() - schedulesAt).toBeGreaterThanOrEqual(LOST_END_WATCHDOG_MS - 1000);
    expect(clock.now() - schedulesAt).toBeLessThanOrEqual(SEQUENCE_TIMEOUT_MS + LOST_END_WATCHDOG_MS);
    expect(s.logs('EVSE').some((l) => l.startsWith('No Session Stopped'))).toBe(true);
    expect(s.records('EVSE')[0]?.stopReason).toBe('sessionEndLost');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost Session Stopped after the car stopped in pre-charge (fuzz seed 116055)', () => {
  it('the EVSE host ends its pre-charge after its bound: recorded, output 0', async () => {
    // The EV host never hears Charging Ready, so it stops the session 10 s into pre-charge (its
    // watchdog); the EVSE module's one Session Stopped is lost, and it goes on answering the
    // host's updates 0: nothing else would ever move the EVSE host out of pre-charge.
    const { clock, s, output, recorded } = setUp(({ clock, evseClient, evClient }) => ({
      evseClient: losingStatuses(evseClient, 'EvseSessionStopped'),
      evClient: losingRequests(clock, losingStatuses(evClient, 'EvChargingReady'), 'EvStartCharging'),
    }));
    expect(await clock.runUntil(() => s.logs('EVSE').includes('"Pre Charge Started" received'), 120_000, 10)).toBe(true);
    const preChargeAt = clock.now();
    expect(await clock.runUntil(() => s.records('EV').length > 0, 10 * PRE_CHARGE_WATCHDOG_MS, 100)).toBe(true);
    expect(s.records('EV')[0]?.stopReason).toBe('preChargeTimeout');
    expect(await clock.runUntil(recorded, 10 * PRE_CHARGE_LOST_END_MS, 100)).toBe(true);
    expect(clock.now() - preChargeAt).toBeGreaterThanOrEqual(PRE_CHARGE_LOST_END_MS - 100);
    expect(clock.now() - preChargeAt).toBeLessThanOrEqual(PRE_CHARGE_LOST_END_MS + 1000);
    expect(s.logs('EVSE').some((l) => l.startsWith('Still in pre-charge'))).toBe(true);
    expect(s.records('EVSE')[0]?.stopReason).toBe('sessionEndLost');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});
