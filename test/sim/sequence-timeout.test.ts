/**
 * Issue 12 item 13, fuzz seed 1006: the EV host lost the EV module's Cable Check Ready status
 * frame, so the car never sent CableCheckReq; the EVSE module waited for it for ever and the
 * EVSE session stayed in charge parameter discovery with no record. A real station ends the
 * session after V2G_SECC_Sequence_Timeout (60 s without a request, ISO 15118-2 / DIN 70121;
 * field case Sevenstax/FreeV2G#340): the simulated module now does, so both hosts record it.
 */
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commandedOutput } from '../../machines/charger.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { PRE_CHARGE_WATCHDOG_MS } from '../../machines/v2g-ev-session.js';
import { SEQUENCE_TIMEOUT_MS } from '../../sim/services/v2g-evse.js';
import type { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, losingRequests, simulatedClients, SMALL_BATTERY, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/**
 * The EV host's client with one status message lost on the way (as a dropped frame would), and
 * every request of `answer` too: the EV host's offer of the lost message's answer since the ninth
 * round (machines/v2g-ev/cable-check-probe.ts, charging-ready-probe.ts), which would rescue the
 * session these tests stall.
 */
function losing(clock: VirtualClock, client: HciClient, message: string, answer: string): HciClient {
  const status$ = client.status$.pipe(filter((e) => e.message !== message));
  return Object.assign(Object.create(losingRequests(clock, client, answer)) as HciClient, { status$ });
}

describe('V2G_SECC_Sequence_Timeout (a lost Cable Check Ready)', () => {
  it('a car that stops sending requests after charge parameter discovery ends the session after 60 s, recorded on both sides, output 0', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    const s = startStations({
      clock,
      evseClient,
      evClient: losing(clock, evClient, 'EvCableCheckReady', 'EvStartCableCheck'),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    const sawSchedules = () => s.logs('EVSE').includes('"Request Schedules" received');
    expect(await clock.runUntil(sawSchedules, 120_000, 10)).toBe(true);
    const schedulesAt = clock.now();
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 10 * SEQUENCE_TIMEOUT_MS, 100)).toBe(true);
    const waitedMs = clock.now() - schedulesAt;
    expect(waitedMs).toBeGreaterThanOrEqual(SEQUENCE_TIMEOUT_MS - 1000);
    expect(waitedMs).toBeLessThanOrEqual(SEQUENCE_TIMEOUT_MS + 2000);
    expect(s.records('EVSE')[0]?.error).toMatchObject({ code: 0 });
    expect(s.logs('EVSE')).not.toContain('"Request Cable Check Status" received');
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    expect(charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 }).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost Charging Ready (EV host)', () => {
  it('the car would repeat PreChargeReq for ever: the EV host ends the session after its pre-charge watchdog, both sides record, output 0', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    const s = startStations({
      clock,
      evseClient,
      evClient: losing(clock, evClient, 'EvChargingReady', 'EvStartCharging'),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    expect(await clock.runUntil(() => s.logs('EV').includes('"Pre Charging Ready" received'), 120_000, 10)).toBe(true);
    const preChargeAt = clock.now();
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 10 * PRE_CHARGE_WATCHDOG_MS, 100)).toBe(true);
    expect(clock.now() - preChargeAt).toBeLessThanOrEqual(PRE_CHARGE_WATCHDOG_MS + 2000);
    expect(s.records('EV')[0]?.stopReason).toBe('preChargeTimeout');
    expect(s.logs('EVSE')).not.toContain('"Start Charging Requested" received');
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    expect(charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 }).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe('a lost EvStartCharging (EV host)', () => {
  it('the command is sent again after its timeout and the session charges to the end (fuzz seeds 414, 598)', async () => {
    const { clock, pair, evseClient, evClient } = simulatedClients();
    pairs.push(pair);
    let lost = 0;
    // The first EvStartCharging never reaches the module: the host's request times out.
    const request: HciClient['request'] = (def, fields, options) => {
      if (def.name === 'EvStartCharging' && lost++ === 0) {
        return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', 'V2g.EvStartCharging', 'V2g.EvStartCharging: no response within 1000 ms')), 1000));
      }
      return evClient.request(def, fields, options);
    };
    const s = startStations({
      clock,
      evseClient,
      evClient: Object.assign(Object.create(evClient) as HciClient, { request }),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 3_600_000, 100)).toBe(true);
    expect(lost).toBe(2);
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
  }, 60_000);
});
