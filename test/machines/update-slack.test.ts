/**
 * Issue 12 target 5: the parameter update keeps its cadence under CPU starvation as far as a
 * process can. On the virtual clock, the EVSE host's event loop stalls (test/helpers/stall.ts)
 * right after an update in the charge loop: below the module's 500 ms deadline the late update
 * still makes it (no error 23) and one rate-limited warning names the shrunken slack; beyond it
 * the module ends the session with error 23, which no host code can prevent (the remedy is the
 * process priority, docs/service.md).
 */
import { describe, expect, it } from 'vitest';
import { createHciClient } from '../../machines/hci-client.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { LATE_SHARE, noteUpdate, NO_UPDATES, WARN_EVERY_MS } from '../../machines/update-slack.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { stallableHost } from '../helpers/stall.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/** Both stations; the EVSE host stalls `stallsMs[i]` right after its (5 + 3i)th update in the charge loop. */
async function run(stallsMs: number[]) {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
  pairs.push(pair);
  const host = stallableHost(clock, pair.evseHost);
  const evseClient = createHciClient({ transport: host.transport, clock: host.clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const s = startStations({
    clock: host.clock,
    evseClient,
    evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  let charging = false;
  let updates = 0;
  s.evse.on('*', (e) => {
    const p = (e as { phase?: string }).phase;
    if (p !== undefined) charging = p === 'charging';
  });
  evseClient.traffic$.subscribe((t) => {
    if (!charging || t.dir !== 'tx' || t.message?.message !== 'EvseUpdateDcChargingParameters') return;
    updates++;
    const i = (updates - 5) / 3;
    const ms = Number.isInteger(i) ? stallsMs[i] : undefined;
    if (ms !== undefined) host.stall(ms);
  });
  expect(await clock.runUntil(() => s.records('EVSE').length > 0, 3_600_000, 100)).toBe(true);
  const warnings = s.logs('EVSE').filter((l) => l.startsWith('Warning: parameter update'));
  return { record: s.records('EVSE')[0], warnings };
}

describe('update timer protection', () => {
  it('a 450 ms stall right after an update: the late update still meets the 500 ms deadline, one warning names the slack', async () => {
    const r = await run([450]);
    expect(r.record?.error).toBeUndefined();
    expect(r.record?.stopReason).toBe('evStopped');
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^Warning: parameter update 45\d ms after the previous one, [0-9]+ ms left of the module's 500 ms deadline/);
    expect(r.record?.shortestUpdateSlackMs).toBeGreaterThanOrEqual(0);
    expect(r.record?.shortestUpdateSlackMs).toBeLessThanOrEqual(50);
  }, 60_000);

  it('three stalls within a few seconds: one warning line (rate-limited), the session completes', async () => {
    const r = await run([400, 420, 440]);
    expect(r.record?.error).toBeUndefined();
    expect(r.warnings).toHaveLength(1);
  }, 60_000);

  it('a 650 ms stall is past the deadline: the module ends the session with error 23 (no host code can cover it)', async () => {
    const r = await run([650]);
    expect(r.record?.error).toMatchObject({ code: 23 });
  }, 60_000);

  it('rate limit: late updates between two warnings are counted in the next one', () => {
    let s = noteUpdate(NO_UPDATES, 0, 500).slack;
    const late = 500 * LATE_SHARE + 50;
    const lines: string[] = [];
    for (let t = late, i = 0; i < 5; i++, t += late) {
      const r = noteUpdate(s, t, 500);
      s = r.slack;
      if (r.warning) lines.push(r.warning);
    }
    const after = noteUpdate(s, (s.lastAt ?? 0) + WARN_EVERY_MS, 500);
    expect(lines).toHaveLength(1);
    expect(after.warning).toMatch(/5 late updates since the last warning$/);
    expect(after.slack.shortestMs).toBeLessThan(0);
  });
});
