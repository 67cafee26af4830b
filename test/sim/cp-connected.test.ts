/**
 * Issue 12 item 13, seventh round (docs/reliability.md): with a car connected the EVSE host did
 * not read the CP state back, so one lost State Changed stranded it: A (the car left) kept the
 * station waiting for an unplug for good, C -> B (S2 opened in the charge loop) kept the output
 * on. The CP machine now re-reads Get State (manual 15.4.9) with a car connected too, at the
 * period of the phase (machines/control-pilot-evse.ts). Simulated pair, virtual clock.
 */
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ControlPilot } from '../../codec/catalog.js';
import { commandedOutput } from '../../machines/charger.js';
import { CAR_WAIT_REREAD_MS } from '../../machines/cp-state-poll.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { HciClient, StatusEvent } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { REREAD_AFTER_MS } from '../../machines/state-reread.js';
import { createSimulatedPair, parseScenario } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/** The client with the CP State Changed to `state` (0 A, 1 B, 2 C) lost on the way, every time. */
function losingCpState(client: HciClient, state: number): HciClient {
  const lost = (e: StatusEvent) => e.message === 'StateChanged' && Number(e.fields.state) === state;
  return Object.assign(Object.create(client) as HciClient, { status$: client.status$.pipe(filter((e) => !lost(e))) });
}

/** A DC car (small battery) on a pair whose cable is `cable`, the EVSE host losing State Changed `lostState`. */
function pairLosing(lostState: number, cable: { unplugAfterSessionMs: number | null }) {
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({
    ev: { energyTransferMode: 'dcExtended', battery: { capacityWh: 1000, socTargetPercent: 80 } },
    cable: { plugInAfterMs: 1000, replugAfterMs: null, ...cable },
  });
  const pair = createSimulatedPair({ clock, scenario });
  pairs.push(pair);
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const s = startStations({
    clock,
    evseClient: losingCpState(createHciClient({ transport: pair.evseHost, clock }), lostState),
    evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  const phases = () => s.emitted.EVSE.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
  return { clock, pair, s, evClient, phases };
}

describe('a car connected: a lost CP State Changed is read back', () => {
  it('the car leaves after its session with State Changed A lost: seen within CAR_WAIT_REREAD_MS, the station waits for the next car', async () => {
    const { clock, pair, s, phases } = pairLosing(0, { unplugAfterSessionMs: 2000 });
    let unpluggedAt: number | undefined;
    pair.cable.events$.subscribe((e) => {
      if (e.type === 'unplug') unpluggedAt ??= e.at;
    });
    expect(await clock.runUntil(() => unpluggedAt !== undefined, 600_000, 10)).toBe(true);
    expect(s.logs('EVSE')).toContain('Waiting for the vehicle to leave');
    const before = phases().length;
    expect(await clock.runUntil(() => phases().slice(before).includes('waitingForVehicle'), 30_000, 10)).toBe(true);
    expect(clock.now() - (unpluggedAt ?? 0)).toBeLessThanOrEqual(CAR_WAIT_REREAD_MS + 100);
    expect(s.logs('EVSE')).toContain('EV disconnected');
    expect(s.records('EVSE')[0]).toMatchObject({ stopReason: 'evStopped' });
    // The CP machine waits for a car again (100 %, re-read at the rest period).
    expect(s.evse.system.get('cp')?.getSnapshot().value).toBe('waiting');
  }, 60_000);

  it('the car opens S2 in the charge loop with State Changed B lost: seen within REREAD_AFTER_MS, the output goes to 0', async () => {
    const { clock, s, evClient } = pairLosing(1, { unplugAfterSessionMs: null });
    const output = () => {
      const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
      return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
    };
    expect(await clock.runUntil(() => output().currentA > 0, 600_000, 10)).toBe(true);
    // A few seconds into the loop, the car's module switches B behind its host's back.
    await clock.runUntil(() => false, 3000, 10);
    await evClient.request(ControlPilot.SetResistorLevel, { level: 0 });
    const openedAt = clock.now();
    expect(await clock.runUntil(() => output().currentA === 0, 10_000, 10)).toBe(true);
    expect(clock.now() - openedAt).toBeLessThanOrEqual(REREAD_AFTER_MS + 100);
  }, 60_000);
});
