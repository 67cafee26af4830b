import { describe, expect, it } from 'vitest';
import { commandedOutput } from '../../machines/charger.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { UNANSWERED_UPDATES_BOUND_MS } from '../../machines/v2g-evse/unanswered-updates.js';
import { S2_OPEN_END_MS } from '../../machines/v2g-evse/s2-open.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, losingStatuses, quickStations, simulatedClients, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/**
 * Both stations charging, then the EVSE host's updates reach the module (its session and the car
 * go on) but no answer to one reaches the host; everything else is answered.
 */
async function updatesStalled() {
  const c = simulatedClients();
  pairs.push(c.pair);
  const { clock, evseClient } = c;
  let stalled = false;
  const asked: string[] = [];
  const request: HciClient['request'] = (def, fields, options) => {
    if (stalled) asked.push(def.name);
    if (stalled && def.name.startsWith('EvseUpdate')) {
      const ms = options?.timeoutMs ?? 200;
      evseClient.request(def, fields, options).catch(() => undefined);
      return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', `V2g.${def.name}`, `V2g.${def.name}: no response within ${ms} ms`)), ms));
    }
    return evseClient.request(def, fields, options);
  };
  const stuck = Object.assign(Object.create(evseClient) as HciClient, { request });
  const s = startStations({
    clock,
    evseClient: stuck,
    evClient: c.evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  };
  expect(await clock.runUntil(() => s.logs('EVSE').includes('"Start Charging Requested" received'), 120_000, 10)).toBe(true);
  await clock.runUntil(() => false, 2_000, 10);
  expect(output().currentA).toBeGreaterThan(0);
  stalled = true;
  const stalledAt = clock.now();
  expect(await clock.runUntil(() => s.records('EVSE').length > 0, 60_000, 10)).toBe(true);
  return { clock, s, output, asked, stalledAt };
}

describe('updates unanswered in the charge loop, Ping still answered (fuzz seed 253035)', () => {
  it('the EVSE host ends the session after its bound: output 0, EvseStopCharging sent, a record naming it', async () => {
    const { clock, s, output, asked, stalledAt } = await updatesStalled();
    // The first unanswered update is known after its timeout; the run is judged from there.
    expect(clock.now() - stalledAt).toBeGreaterThanOrEqual(UNANSWERED_UPDATES_BOUND_MS);
    expect(clock.now() - stalledAt).toBeLessThanOrEqual(UNANSWERED_UPDATES_BOUND_MS + 1_000);
    const record = s.records('EVSE')[0];
    expect(record?.stopReason).toBe('updatesUnanswered');
    expect(record?.error?.name).toBe('updatesUnanswered');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
    expect(asked).toContain('EvseStopCharging');
    expect(s.logs('EVSE').some((l) => l.startsWith('Session ended: no Update Charging Parameters answered'))).toBe(true);
  }, 60_000);

  it('then the station sets the module up again from scratch, as after a module that stopped answering', async () => {
    const { clock, s, output, asked } = await updatesStalled();
    const logs = () => s.logs('EVSE');
    const endedAt = logs().findIndex((l) => l.startsWith('Session ended: no Update Charging Parameters answered'));
    expect(endedAt).toBeGreaterThanOrEqual(0);
    // Set up again: CP to 100 %, Stop Listen, the firmware check and the clean-up, then CP and SLAC anew.
    const setUpAgain = () => {
      const after = logs().slice(endedAt);
      const steps = ['setting it up again', 'Module lost its state: initialising it again', 'Set the CP duty cycle to 100%', 'WHITE-beet-EI firmware version', 'Stop SLAC (stale state)'];
      let from = 0;
      for (const step of steps) {
        const i = after.findIndex((l, k) => k >= from && l.includes(step));
        if (i < 0) return false;
        from = i + 1;
      }
      return true;
    };
    expect(await clock.runUntil(setUpAgain, 10_000, 10)).toBe(true);
    expect(asked).toEqual(expect.arrayContaining(['EvseStopCharging', 'SetDutyCycle', 'EvseStopListen', 'GetFirmwareVersion', 'StopSlac']));
    expect(s.records('EVSE')[0]?.stopReason).toBe('updatesUnanswered');
    expect(output()).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});

describe("the PLC link lost in the charge loop, the module's session end lost on the HCI link (fuzz seed 253035)", () => {
  it('the EV going from C to B ends the EVSE session after S2_OPEN_END_MS: output 0, a record naming it', async () => {
    // What seed 253035 drew: the link lost at the first CurrentDemandReq; the EVSE module's
    // Session Error (corrupted) and Session Stopped (dropped) never reach the host, which goes on
    // sending updates the module answers (18.10.4: parameters for the next session). The EV's
    // module ends its session at once and its host switches the CP back to B.
    const clock = new VirtualClock(1_700_000_000_000);
    const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }), faults: { losePlcLinkIn: 'chargeLoop' } });
    pairs.push(pair);
    // The module's ends lost on the HCI link (the shared lossy client: statuses and their traffic).
    const evseClient = losingStatuses(createHciClient({ transport: pair.evseHost, clock }), 'EvseSessionError', 'EvseSessionStopped');
    const s = quickStations({ clock, evseClient, evClient: createHciClient({ transport: pair.evHost, clock }) });
    let linkLostAt: number | undefined;
    pair.cable.events$.subscribe((e) => {
      if (e.type === 'plcLink' && !e.up) linkLostAt ??= clock.now();
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 120_000, 10)).toBe(true);
    expect(linkLostAt).toBeDefined();
    expect(clock.now() - (linkLostAt ?? 0)).toBeLessThanOrEqual(S2_OPEN_END_MS + 1_000);
    expect(s.records('EVSE')[0]?.stopReason).toBe('evLeftStateC');
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    expect(charger ? commandedOutput(charger.context) : undefined).toMatchObject({ voltageV: 0, currentA: 0 });
  }, 60_000);
});
