/**
 * Issue 12 item 13, ninth round (docs/reliability.md): a Start Charging Requested (18.12.10) lost
 * on the EVSE's HCI link after pre-charge. Fuzz seed 300249 and 14 more of seeds 300,001-302,000
 * on main: the host held the pre-charge voltage, the module ended the session at its 5 s timeout
 * (Session Error 0), the car never charged. The host offers Start Charging once the car's
 * pre-charge requests stop (machines/v2g-evse/start-charging-probe.ts); on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { NO_PACE_MS, paceWait } from '../../machines/v2g-evse/start-charging-probe.js';
import { PROBE_FIRST_MS } from '../../machines/lost-status-probe.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import type { VirtualClock } from '../../util/clock.js';
import { losingStatuses, lostFrameStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/** Every frame the host sent, by message name, in order. */
function sentBy(client: { traffic$: { subscribe(fn: (t: { dir: string; message?: { message: string } }) => void): unknown } }): string[] {
  const sent: string[] = [];
  client.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message) sent.push(t.message.message);
  });
  return sent;
}

const LOST = '"Start Charging Requested" lost';

describe('a lost Start Charging Requested (fuzz seed 300249: dropped on the EVSE link after pre-charge)', () => {
  it('the EVSE host offers Start Charging when the pre-charge requests stop, the module takes it, the car charges to its target', async () => {
    let sent: string[] = [];
    const { clock, s, setUpAgain } = lostFrameStations(pairs, ({ evseClient }) => {
      sent = sentBy(evseClient);
      return { evseClient: losingStatuses(evseClient, 'EvseStartChargingRequested') };
    });
    expect(await clock.runUntil(() => s.logs('EV').includes('"Charging Ready" received'), 60_000, 1)).toBe(true);
    const readyAt = clock.now();
    // Before: nothing until the module's 5 s timeout ended the session with Session Error.
    expect(await clock.runUntil(() => s.logs('EVSE').some((l) => l.startsWith(LOST)), 10_000, 1)).toBe(true);
    // 200 ms plus twice the car's pace (its pre-charge requests every 220 ms), well inside the module's 5 s.
    expect(clock.now() - readyAt).toBeLessThanOrEqual(1_000);
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    const evse = s.records('EVSE')[0];
    expect(evse?.error).toBeUndefined();
    expect(evse?.energyDeliveredWh).toBeGreaterThan(0);
    // Taken at the first offer: no refused one before it.
    expect(sent.filter((m) => m === 'EvseStartCharging')).toHaveLength(1);
    expect(s.logs('EVSE').some((l) => l.includes('EvseStartCharging failed'))).toBe(false);
    expect(setUpAgain()).toBe(false);
  }, 60_000);

  it('a session that lost nothing sends one Start Charging, after the module asked', async () => {
    let sent: string[] = [];
    const { clock, s } = lostFrameStations(pairs, ({ evseClient }) => {
      sent = sentBy(evseClient);
      return {};
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 600_000, 100)).toBe(true);
    expect(sent.filter((m) => m === 'EvseStartCharging')).toHaveLength(1);
    expect(s.logs('EVSE').some((l) => l.startsWith(LOST))).toBe(false);
    const logs = s.logs('EVSE');
    expect(logs.indexOf('"Start Charging Requested" received')).toBeGreaterThan(logs.indexOf('"Pre Charge Started" received'));
  }, 60_000);
});

/** The client with the answer to its first `name` lost: the module takes it, the host times out. */
function losingFirstAnswer(clock: VirtualClock, client: HciClient, name: string): HciClient {
  let lost = false;
  const request: HciClient['request'] = (def, fields, options) => {
    if (def.name !== name || lost) return client.request(def, fields, options);
    lost = true;
    void client.request(def, fields, options).catch(() => undefined);
    const ms = options?.timeoutMs ?? 1000;
    return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', `V2g.${name}`, `V2g.${name}: no response within ${ms} ms`)), ms));
  };
  return Object.assign(Object.create(client) as HciClient, { request });
}

describe('the offer taken, its answer lost too (fuzz seed 301595: error 23, then a session left in pre-charge)', () => {
  it('the car asking the charge loop current shows it was taken: the session charges, no Session Error', async () => {
    const { clock, s, setUpAgain } = lostFrameStations(pairs, ({ clock, evseClient }) => ({
      evseClient: losingFirstAnswer(clock, losingStatuses(evseClient, 'EvseStartChargingRequested'), 'EvseStartCharging'),
    }));
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    // Before: the 1 s answer timeout held the updates past the module's 500 ms (Session Error 23);
    // with a short one, the session stayed in pre-charge (2 A) until its lost-end bound.
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
    expect(s.logs('EVSE').some((l) => l.startsWith(LOST))).toBe(true);
    expect(setUpAgain()).toBe(false);
  }, 60_000);
});

describe('the first offer follows the car pace (paceWait)', () => {
  it('waits NO_PACE_MS before a second request, then twice the longest gap plus PROBE_FIRST_MS', () => {
    const wait = paceWait();
    expect(wait(undefined)).toBe(NO_PACE_MS);
    expect(wait(220)).toBe(PROBE_FIRST_MS + 440);
    // A shorter gap keeps the longest one: a late request (a link delay) is not forgotten.
    expect(wait(50)).toBe(PROBE_FIRST_MS + 440);
    // One report lost: the gap doubles, and so does the wait.
    expect(wait(440)).toBe(PROBE_FIRST_MS + 880);
  });
});
