/**
 * An EVSE-side stop (operator stop, the EV's error code) puts the output to 0 and asks the car to
 * stop (EVSENotification StopCharging, 18.10.20). The car keeps its charge loop until it acts on
 * the notification (ISO 15118-2 gives it NotificationMaxDelay), and every DC Charge Parameters
 * Changed in that time carries its targets again: the output must stay 0 (it did not: the next
 * message set the targets back). Simulated pair, virtual clock; the EV host is kept from seeing
 * the notification so that its car charges on.
 */
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ChargerState, commandedOutput } from '../../machines/charger.js';
import type { HciClient } from '../../machines/hci-types.js';
import { QUICK_SLAC, SMALL_BATTERY, simulatedClients, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';
import { evConfig, evseConfig } from '../../machines/index.js';

const pairs = pairsClosedAfterEach();

describe('an EVSE-side stop holds the output at 0 while the car charges on', () => {
  it('operator stop: output 0 at once and after each DC Charge Parameters Changed that follows', async () => {
    const c = simulatedClients();
    pairs.push(c.pair);
    const { clock } = c;
    const evStatus$ = c.evClient.status$.pipe(filter((e) => e.message !== 'EvNotificationReceived'));
    const s = startStations({
      clock,
      evseClient: c.evseClient,
      evClient: Object.assign(Object.create(c.evClient) as HciClient, { status$: evStatus$ }),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    const output = () => commandedOutput((s.evse.system.get('charger')?.getSnapshot() as { context: ChargerState }).context);
    expect(await clock.runUntil(() => s.logs('EVSE').includes('"Start Charging Requested" received'), 120_000, 10)).toBe(true);
    await clock.runUntil(() => false, 2_000, 10);
    expect(output().currentA).toBeGreaterThan(0);
    let changed = 0;
    c.evseClient.status$.subscribe((e) => {
      if (e.message === 'EvseDcChargeParametersChanged') changed++;
    });
    s.evse.send({ type: 'stopCharging' });
    const seen: number[] = [];
    await clock.runUntil(
      () => {
        seen.push(output().currentA);
        return changed >= 3 || s.records('EVSE').length > 0;
      },
      5_000,
      10,
    );
    expect(changed).toBeGreaterThanOrEqual(3);
    expect(Math.max(...seen)).toBe(0);
  }, 60_000);
});
