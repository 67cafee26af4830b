/**
 * The EV station after a session that ended without its module's end (machines/v2g-ev/
 * session-end-wait.ts, docs/reliability.md seventh round): the host's status watchdog, or a
 * start the module never confirmed. The host sent Stop Session and went on; in session set-up
 * the module refuses it (0x11) and runs its session on. The station now waits for the module's
 * Session Stopped / Session Error (asking Stop Session again when the module reports a state
 * that takes it) before it configures a new session. Both stations on the simulated pair, the
 * car held in authorization by the EVSE's interactive policy, on the virtual clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../codec/catalog.js';
import { evConfig, evseConfig } from '../../machines/config.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import type { StationRole } from '../../machines/station-events.js';
import { UNUSABLE_STATUS_BOUND_MS } from '../../machines/status-watchdog.js';
import { MODULE_SESSION_END_BOUND_MS, UNCONFIRMED_START_END_BOUND_MS } from '../../machines/v2g-ev/abort.js';
import type { SimulatedPair } from '../../sim/index.js';
import { batteryMachine } from '../../machines/battery.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';
import { QUICK_SLAC, SMALL_BATTERY, losingStatuses, simulatedClients, startStations } from '../helpers/stations.js';

const WRONG_STATE = 0x11;

const pairs: SimulatedPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

/** Both stations, the EVSE's authorization held until `authorize`; the EV's traffic as seen by its host. */
function heldInAuthorization(evClientOf: (c: ReturnType<typeof simulatedClients>) => HciClient) {
  const c = simulatedClients();
  pairs.push(c.pair);
  let authorize: ((ok: boolean) => void) | undefined;
  const evClient = evClientOf(c);
  const s = startStations({
    clock: c.clock,
    evseClient: c.evseClient,
    evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    policy: { mode: 'interactive', ask: () => new Promise<boolean>((resolve) => (authorize = resolve)) },
  });
  const ev: Array<{ dir: string; m: DecodedMessage; at: number }> = [];
  c.evClient.traffic$.subscribe((x) => x.message && ev.push({ dir: x.dir, m: x.message, at: x.at }));
  return { ...c, s, ev, authorize: (ok: boolean) => authorize?.(ok), asked: () => authorize !== undefined };
}

type Rig = ReturnType<typeof heldInAuthorization>;

/**
 * After the EV host's session ended (its record made): the station waits, says so, sends nothing
 * of a configuration; once the car is authorized its module reaches Cable Check Ready, takes
 * Stop Session there and reports its end; only then does the station go on.
 */
async function waitsForTheModule(t: Rig, clock: VirtualClock, boundMs: number): Promise<void> {
  const endedAt = clock.now();
  const logs = (r: StationRole) => t.s.logs(r);
  expect(await clock.runUntil(() => logs('EV').some((l) => l.includes(`waiting up to ${boundMs / 1000} s for its session's end`)), 5_000, 10)).toBe(true);
  const since = () => t.ev.filter((x) => x.at >= endedAt);
  const refused = since().find((x) => x.dir === 'rx' && x.m.direction === 'response' && x.m.message === 'EvStopSession');
  expect(refused?.m.fields.code).toBe(WRONG_STATE);
  await clock.runUntil(() => false, 3_000, 50);
  t.authorize(true);
  const ended = () => since().find((x) => x.dir === 'rx' && (x.m.message === 'EvSessionStopped' || x.m.message === 'EvSessionError'))?.at;
  expect(await clock.runUntil(() => ended() !== undefined, 20_000, 10)).toBe(true);
  // Ended by the station's Stop Session at Cable Check Ready, not by a V2G timeout.
  const cableCheckReady = since().find((x) => x.dir === 'rx' && x.m.message === 'EvCableCheckReady')?.at;
  expect(cableCheckReady).toBeDefined();
  const taken = since().find((x) => x.dir === 'rx' && x.m.direction === 'response' && x.m.message === 'EvStopSession' && x.m.fields.code === 0 && x.at >= (cableCheckReady ?? 0));
  expect(taken).toBeDefined();
  // Nothing configured before the module's end; the station names the end.
  expect(since().filter((x) => x.dir === 'tx' && (x.m.message === 'EvSetConfiguration' || x.m.message === 'EvStartSession') && x.at < (ended() ?? 0))).toEqual([]);
  expect(await clock.runUntil(() => logs('EV').some((l) => l.startsWith("The ended session's module:")), 5_000, 10)).toBe(true);
  t.s.evse.stop();
  t.s.ev.stop();
}

describe('the EV station waits for its module after a session it ended without seeing that end', () => {
  it(`the status watchdog (a status cut on the way) in authorization: waits up to ${MODULE_SESSION_END_BOUND_MS / 1000} s, Stop Session at Cable Check Ready`, async () => {
    const t = heldInAuthorization((c) => c.evClient);
    const { clock, evClient } = t;
    expect(await clock.runUntil(() => t.asked() && t.s.logs('EV').some((l) => l.startsWith('"Session started" received')), 120_000, 10)).toBe(true);
    // A V2G status message reaches the host but cannot be used (tolerant decoding rejects it).
    (evClient.unusableStatus$ as unknown as { next(u: unknown): void }).next({ module: 'V2g', kind: 'unusable', message: 'EvScheduleReceived', at: clock.now() });
    expect(await clock.runUntil(() => t.s.records('EV').length > 0, UNUSABLE_STATUS_BOUND_MS + 2_000, 10)).toBe(true);
    expect(t.s.records('EV')[0]?.error?.name).toBe('noModuleStatus');
    await waitsForTheModule(t, clock, MODULE_SESSION_END_BOUND_MS);
  }, 60_000);

  it(`an unconfirmed start (Start Session's answer lost, its retry refused, Session Started lost): waits up to ${UNCONFIRMED_START_END_BOUND_MS / 1000} s`, async () => {
    let lost = 0;
    const t = heldInAuthorization((c) => {
      const hidden = losingStatuses(c.evClient, 'EvSessionStarted');
      // The first Start Session reaches the module; its answer is lost on the way back.
      const request: HciClient['request'] = (def, fields, options) => {
        const sent = hidden.request(def, fields, options);
        if (def.name !== 'EvStartSession' || lost > 0) return sent;
        lost++;
        sent.catch(() => undefined);
        return new Promise((_, reject) => c.clock.setTimeout(() => reject(new HciError('timeout', 'V2g.EvStartSession', 'V2g.EvStartSession: no response within 1000 ms')), 1000));
      };
      return Object.assign(Object.create(hidden) as HciClient, { request });
    });
    const { clock } = t;
    expect(await clock.runUntil(() => t.s.records('EV').length > 0, 120_000, 10)).toBe(true);
    expect(lost).toBe(1);
    expect(t.s.records('EV')[0]?.error?.detail).toContain('no Session Started within');
    await waitsForTheModule(t, clock, UNCONFIRMED_START_END_BOUND_MS);
  }, 60_000);
});

describe("the EV session tells its station when the module's end was not seen (status watchdog)", () => {
  function watched(message: string) {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    const config = evConfig({ battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80 });
    const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
    return { clock, client, h, message };
  }
  const unseen = (t: ReturnType<typeof watched>) => t.h.events().filter((e) => e.type === 'session.moduleEndUnseen');

  it('another status cut on the way: the station is told to wait, with the session bound', async () => {
    const t = watched('EvScheduleReceived');
    await flushMicrotasks();
    t.client.unusable(t.message);
    await advanceBy(t.clock, UNUSABLE_STATUS_BOUND_MS + 500);
    expect(unseen(t)).toEqual([{ type: 'session.moduleEndUnseen', boundMs: MODULE_SESSION_END_BOUND_MS }]);
  });

  it('its Session Stopped cut on the way: the module ended its session, no wait', async () => {
    const t = watched('EvSessionStopped');
    await flushMicrotasks();
    t.client.unusable(t.message);
    await advanceBy(t.clock, UNUSABLE_STATUS_BOUND_MS + 500);
    expect(t.h.events().some((e) => e.type === 'xstate.done.actor.child')).toBe(true);
    expect(unseen(t)).toEqual([]);
  });
});

// Eighth round (docs/reliability.md): the watchdog's end while charging goes through `stopping`
// (Stop Charging, then Stop Session); once that stop is over it is the same situation as above.
describe("the EV session's watchdog end while charging: the station waits when the stop did not end the module's session", () => {
  const DC = 0;
  const dcParams = { presentVoltageV: 200, presentCurrentA: 0, status: 0, voltageLimitAchieved: false, currentLimitAchieved: false, powerLimitAchieved: false, peakCurrentRippleA: 0 };
  async function chargingThenWatchdog(stopSession: number | Record<string, unknown>, unusable = 'EvDcChargeParametersChanged') {
    const clock = new VirtualClock();
    const client = new StubHciClient(clock);
    const config = evConfig({ energyTransferModes: [DC], battery: { capacityWh: 1000, levelWh: 500 }, targetSocPercent: 80 });
    const h = harness(v2gEvSessionMachine, { client, clock, config }, clock, [{ systemId: 'battery', logic: batteryMachine, input: { clock, config: config.battery } }]);
    await flushMicrotasks();
    client.status('V2g.EvSessionStarted', { selectedProtocol: 1, sessionId: new Uint8Array(8), evseId: 'X', selectedPaymentMethod: 0, selectedEnergyTransferMode: DC });
    await flushMicrotasks();
    client.status('V2g.EvCableCheckReady');
    client.status('V2g.EvPreChargingReady');
    client.status('V2g.EvDcChargeParametersChanged', dcParams);
    client.status('V2g.EvChargingReady');
    await flushMicrotasks();
    client.status('V2g.EvChargingStarted');
    await advanceBy(clock, 2000);
    // The module answers the stop but reports nothing after (its statuses cut on the way).
    client.respond('V2g.EvStopSession', stopSession);
    client.unusable(unusable);
    await advanceBy(clock, UNUSABLE_STATUS_BOUND_MS + 10_000);
    expect(h.events().some((e) => e.type === 'xstate.done.actor.child')).toBe(true);
    expect(client.names()).toContain('V2g.EvStopCharging');
    return h.events().filter((e) => e.type === 'session.moduleEndUnseen');
  }

  it('Stop Session refused 0x11 after Stop Charging: the station is told to wait, with the session bound', async () => {
    expect(await chargingThenWatchdog(WRONG_STATE)).toEqual([{ type: 'session.moduleEndUnseen', boundMs: MODULE_SESSION_END_BOUND_MS }]);
  });

  it('Stop Session taken: the module ends its session itself, no wait', async () => {
    expect(await chargingThenWatchdog({})).toEqual([]);
  });

  it('the unusable message was its Session Stopped: the module ended its session, no wait', async () => {
    expect(await chargingThenWatchdog(WRONG_STATE, 'EvSessionStopped')).toEqual([]);
  });
});
