/**
 * ISO 15118-2 [V2G2-847]: "The EV shall signal CP State C or D no later than 250 ms after sending
 * the first PowerDeliveryReq with ChargeProgress equals Start". Timed on the virtual clock at the
 * cable: the car's PowerDeliveryReq(Start) against the CP line reaching state C. The EV host
 * (machines/v2g-ev-session.ts `closingS2`) switches C and waits for the module to take it before
 * Start Charging, so C is on the line first even when the Set Resistor Level is lost once on its
 * HCI link (before: sent side by side, the resend came a command timeout, 1 s, after the request).
 */
import { describe, expect, it } from 'vitest';
import { ControlPilot } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { STATE_C_CONFIRM_MS } from '../../machines/v2g-ev-session.js';
import type { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, SMALL_BATTERY, startStations, pluggedPair } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();
/** [V2G2-847]. */
const STATE_C_AFTER_POWER_DELIVERY_MS = 250;

/** The EV host's client with its first Set Resistor Level C lost on the way (the module never saw it). */
function losingFirstStateC(client: HciClient, clock: VirtualClock): HciClient {
  let lost = false;
  const request: HciClient['request'] = (def, fields, options) => {
    if (!lost && def === ControlPilot.SetResistorLevel && (fields as { level?: number }).level === 1) {
      lost = true;
      const ms = options?.timeoutMs ?? 1000;
      return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', 'ControlPilot.SetResistorLevel', `ControlPilot.SetResistorLevel: no response within ${ms} ms`)), ms));
    }
    return client.request(def, fields, options);
  };
  return Object.assign(Object.create(client) as HciClient, { request });
}

async function stateCAfterPowerDelivery(mode: 'acThreePhase' | 'dcExtended', loseFirstC: boolean) {
  const { clock, pair } = pluggedPair(mode);
  pairs.push(pair);
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const s = startStations({
    clock,
    evseClient: createHciClient({ transport: pair.evseHost, clock }),
    evClient: loseFirstC ? losingFirstStateC(evClient, clock) : evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  let powerDeliveryAt: number | undefined;
  let stateCAt: number | undefined;
  pair.cable.events$.subscribe((e) => {
    if (e.type === 'v2g' && e.from === 'EV' && e.message === 'PowerDeliveryReq') powerDeliveryAt ??= e.at;
    if (e.type === 'cp' && (e.evState === 'C' || e.evState === 'D')) stateCAt ??= e.at;
  });
  expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 10)).toBe(true);
  expect(s.records('EV')[0]).toMatchObject({ stopReason: 'targetSocReached' });
  return { powerDeliveryAt: powerDeliveryAt ?? Number.NaN, stateCAt: stateCAt ?? Number.NaN, s };
}

describe('the EV signals state C in time for PowerDeliveryReq(Start) (ISO 15118-2 [V2G2-847])', () => {
  for (const mode of ['acThreePhase', 'dcExtended'] as const) {
    it(`${mode}: state C on the line no later than the request`, async () => {
      const r = await stateCAfterPowerDelivery(mode, false);
      expect(r.stateCAt).toBeLessThanOrEqual(r.powerDeliveryAt);
    }, 60_000);
  }

  it('AC, the first Set Resistor Level C lost on the HCI link: the resend comes first, then Start Charging; C within 250 ms of the request', async () => {
    const r = await stateCAfterPowerDelivery('acThreePhase', true);
    expect(r.stateCAt - r.powerDeliveryAt).toBeLessThanOrEqual(STATE_C_AFTER_POWER_DELIVERY_MS);
    expect(r.stateCAt).toBeLessThanOrEqual(r.powerDeliveryAt);
    expect(r.s.logs('EVSE').some((l) => l.includes('[V2G2-847]'))).toBe(false);
  }, 60_000);

  it('AC, no Set Resistor Level C ever taken: no Start Charging, the session stops after STATE_C_CONFIRM_MS (stateCNotSet)', async () => {
    const { clock, pair } = pluggedPair('acThreePhase');
    pairs.push(pair);
    const evClient = createHciClient({ transport: pair.evHost, clock });
    const sent: string[] = [];
    const request: HciClient['request'] = (def, fields, options) => {
      sent.push(def.name);
      if (def === ControlPilot.SetResistorLevel && (fields as { level?: number }).level === 1) {
        const ms = options?.timeoutMs ?? 1000;
        return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', 'ControlPilot.SetResistorLevel', `no response within ${ms} ms`)), ms));
      }
      return evClient.request(def, fields, options);
    };
    const s = startStations({
      clock,
      evseClient: createHciClient({ transport: pair.evseHost, clock }),
      evClient: Object.assign(Object.create(evClient) as HciClient, { request }),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    expect(await clock.runUntil(() => s.records('EV').length > 0, 600_000, 10)).toBe(true);
    expect(s.records('EV')[0]?.stopReason).toBe('stateCNotSet');
    expect(sent).not.toContain('EvStartCharging');
    expect(s.logs('EV')).toContain(`The CP service did not take state C within ${STATE_C_CONFIRM_MS / 1000} s: not starting charging (ISO 15118-2 [V2G2-847]), stopping the session`);
  }, 60_000);
});
