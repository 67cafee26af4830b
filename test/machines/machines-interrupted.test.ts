/**
 * "Nothing recorded is lost": a session cut short by a shutdown still ends with a sessionEnded
 * record on both stations (stop reason 'shutdown'), and a shutdown before any V2G session
 * records nothing. Both stations on the simulated pair, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { createHciClient } from '../../machines/hci-client.js';
import { createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord, StationEmitted } from '../../machines/station-events.js';
import { createSimulatedPair } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';

async function run(shutdownWhen: (phases: string[]) => boolean): Promise<SessionRecord[]> {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock });
  const evse = createEvseStation({ client: createHciClient({ transport: pair.evseHost, clock }), clock, config: evseConfig({}) });
  const ev = createEvStation({
    client: createHciClient({ transport: pair.evHost, clock }),
    clock,
    config: evConfig({ battery: { capacityWh: 50_000, levelWh: 45_000, maxPowerW: 12_000 }, targetSocPercent: 95 }),
  });
  const records: SessionRecord[] = [];
  const phases: string[] = [];
  let sent = false;
  const listen = (e: unknown): void => {
    const x = e as StationEmitted;
    if (x.type === 'sessionEnded') records.push(x.record);
    if (x.type === 'phase' && x.station === 'EVSE') phases.push(x.phase);
    if (!sent && shutdownWhen(phases)) {
      sent = true;
      queueMicrotask(() => {
        evse.send({ type: 'shutdown' });
        ev.send({ type: 'shutdown' });
      });
    }
  };
  evse.on('*', listen);
  ev.on('*', listen);
  const stopped = (): boolean => evse.getSnapshot().status === 'done' && ev.getSnapshot().status === 'done';
  await clock.runUntil(() => stopped() || clock.now() > 1_700_000_000_000 + 600_000);
  expect(stopped()).toBe(true);
  await pair.close();
  return records;
}

describe('sessions cut short', () => {
  it('a shutdown while charging emits both records with stop reason shutdown', async () => {
    const records = await run((p) => p.includes('charging'));
    expect(records.map((r) => r.station).sort()).toEqual(['EV', 'EVSE']);
    for (const r of records) {
      expect(r.stopReason).toBe('shutdown');
      expect(r.error).toBeUndefined();
      expect(r.protocol).toBe('ISO15118-2');
      expect(r.endedAt).toBeGreaterThanOrEqual(r.startedAt);
    }
  }, 60_000);

  it('a shutdown before the V2G session started records nothing', async () => {
    expect(await run((p) => p.includes('slac'))).toEqual([]);
  }, 60_000);
});
