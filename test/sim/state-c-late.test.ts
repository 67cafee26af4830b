/**
 * ISO 15118-2 [V2G2-847] from the EVSE's side: a car that does not signal CP state C/D within
 * 250 ms of its PowerDeliveryReq(Start) gets no output until it does (IEC 61851-1), a warning at
 * 250 ms, the delay in its record, and the session ends when S2 stays open S2_OPEN_END_MS
 * (machines/v2g-evse/s2-open.ts). Before, the charger started at Start Charging Requested
 * whatever the CP said: an AC car still in state B got output. Simulated pair, virtual clock.
 */
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ControlPilot } from '../../codec/catalog.js';
import { commandedOutput } from '../../machines/charger.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { S2_OPEN_END_MS } from '../../machines/v2g-evse/s2-open.js';
import type { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations, pluggedPair } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

/**
 * A car late with state C: the EV host's Set Resistor Level C is answered at once as taken, but
 * the module gets it only `lateMs` later (never when undefined), so Start Charging goes first.
 */
function stateCLate(client: HciClient, clock: VirtualClock, lateMs: number | undefined): HciClient {
  const request: HciClient['request'] = (def, fields, options) => {
    if (def === ControlPilot.SetResistorLevel && (fields as { level?: number }).level === 1) {
      if (lateMs !== undefined) clock.setTimeout(() => void client.request(def, fields, options).catch(() => undefined), lateMs);
      return Promise.resolve({} as never);
    }
    return client.request(def, fields, options);
  };
  return Object.assign(Object.create(client) as HciClient, { request });
}

/** The EVSE's side: an AC car whose CP reaches C `lateMs` after its PowerDeliveryReq(Start), or never. */
function lateCar(lateMs: number | undefined) {
  const { clock, pair } = pluggedPair('acThreePhase');
  pairs.push(pair);
  const s = startStations({
    clock,
    evseClient: createHciClient({ transport: pair.evseHost, clock }),
    evClient: stateCLate(createHciClient({ transport: pair.evHost, clock }), clock, lateMs),
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  };
  let powerDeliveryAt: number | undefined;
  let stateCAt: number | undefined;
  let outputBeforeC = false;
  pair.cable.events$.subscribe((e) => {
    if (e.type === 'v2g' && e.from === 'EV' && e.message === 'PowerDeliveryReq') powerDeliveryAt ??= e.at;
    if (e.type === 'cp' && e.evState === 'C') stateCAt ??= e.at;
  });
  const watch = (): void => {
    if (powerDeliveryAt !== undefined && stateCAt === undefined && output().currentA > 0) outputBeforeC = true;
  };
  return { clock, s, output, watch, powerDeliveryAt: () => powerDeliveryAt, outputBeforeC: () => outputBeforeC };
}

describe('the EVSE notices a car late with state C ([V2G2-847])', () => {
  it('C 700 ms after PowerDeliveryReq(Start): a warning at 250 ms, no output until C, the delay in the record, the session charges on', async () => {
    const r = lateCar(700);
    const done = () => r.s.records('EVSE').length > 0;
    expect(await r.clock.runUntil(() => (r.watch(), done()), 600_000, 10)).toBe(true);
    expect(r.outputBeforeC()).toBe(false);
    expect(r.s.logs('EVSE')).toContain('The EV has not closed S2 (CP state B) 250 ms after PowerDeliveryReq(Start) (ISO 15118-2 [V2G2-847]): output held at 0 until it does');
    const record = r.s.records('EVSE')[0];
    expect(record?.lateStateCMs).toBeGreaterThanOrEqual(700 - 50);
    expect(record?.lateStateCMs).toBeLessThanOrEqual(700 + 250);
    expect(record?.stopReason).toBe('evStopped');
    expect(record?.energyDeliveredWh).toBeGreaterThan(100);
  }, 60_000);

  it('never C: no output, the session ends S2_OPEN_END_MS after the request (evDidNotCloseS2)', async () => {
    const r = lateCar(undefined);
    expect(await r.clock.runUntil(() => (r.watch(), r.s.records('EVSE').length > 0), 600_000, 10)).toBe(true);
    expect(r.outputBeforeC()).toBe(false);
    const record = r.s.records('EVSE')[0];
    expect(record?.stopReason).toBe('evDidNotCloseS2');
    expect(record?.lateStateCMs).toBeUndefined();
    expect((record?.endedAt ?? Number.POSITIVE_INFINITY) - (r.powerDeliveryAt() ?? 0)).toBeLessThanOrEqual(S2_OPEN_END_MS + 500);
    expect(r.s.logs('EVSE')).toContain('S2 still open (CP state B) 3 s after PowerDeliveryReq(Start) (ISO 15118-2 [V2G2-847]): ending the session');
    expect(r.output()).toEqual({ voltageV: 0, currentA: 0 });
  }, 60_000);

  it("C in time but its State Changed lost on the EVSE's link: the read back sees C, no warning, the session charges", async () => {
    const { clock, pair } = pluggedPair('acThreePhase');
    pairs.push(pair);
    const evseClient = createHciClient({ transport: pair.evseHost, clock });
    let lost = false;
    const status$ = evseClient.status$.pipe(
      filter((e) => {
        if (lost || e.message !== 'StateChanged' || Number(e.fields.state) !== 2) return true;
        lost = true;
        return false;
      }),
    );
    const s = startStations({
      clock,
      evseClient: Object.assign(Object.create(evseClient) as HciClient, { status$ }),
      evClient: createHciClient({ transport: pair.evHost, clock }),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 600_000, 10)).toBe(true);
    expect(lost).toBe(true);
    expect(s.logs('EVSE').some((l) => l.includes('[V2G2-847]'))).toBe(false);
    expect(s.records('EVSE')[0]).toMatchObject({ stopReason: 'evStopped' });
    expect(s.records('EVSE')[0]?.lateStateCMs).toBeUndefined();
  }, 60_000);
});
