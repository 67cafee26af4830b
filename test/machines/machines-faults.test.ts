/**
 * Robustness on a faulty host<->module link (simulated pair): frames corrupted on the way to the
 * module (it answers with a framing error; the client resynchronises per 10.2 and resends) and
 * busy answers (retried). The session must still complete.
 */
import { describe, expect, it } from 'vitest';
import { createHciClient } from '../../machines/hci-client.js';
import { createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord, StationEmitted } from '../../machines/station-events.js';
import { type FaultConfig, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

async function session(faults: FaultConfig) {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 200, socTargetPercent: 80 } } }), faults });
  pairs.push(pair);
  const slac = { startDelayMs: 600, evMatchDelayMs: 0 };
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evse = createEvseStation({ client: evseClient, clock, config: evseConfig({ slac }) });
  const ev = createEvStation({ client: createHciClient({ transport: pair.evHost, clock }), clock, config: evConfig({ battery: { capacityWh: 200, levelWh: 100 }, targetSocPercent: 80, slac }) });
  const records: SessionRecord[] = [];
  const logs: string[] = [];
  evse.on('*', (e) => {
    const x = e as StationEmitted;
    if (x.type === 'sessionEnded') records.push(x.record);
    if (x.type === 'log') logs.push(x.text);
  });
  let pings = 0;
  evseClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message?.module === 'Framing') pings++;
  });
  await clock.runUntil(() => records.length > 0, 3_600_000, 100);
  evse.stop();
  ev.stop();
  return { records, logs, pings };
}

describe('faulty links', () => {
  it('completes a DC session through corrupted frames (resync) and busy answers', async () => {
    const r = await session({
      seed: 3,
      links: { evse: { corruptRate: 0.02, direction: 'toModule' } },
      modules: { evse: { busyRate: 0.05 }, ev: { busyRate: 0.05 } },
    });
    expect(r.records[0]?.error).toBeUndefined();
    expect(r.records[0]?.stopReason).toBe('evStopped');
    expect(r.pings).toBeGreaterThan(0);
  });
});
