/**
 * Issue 12 item 13, seventh round (docs/reliability.md, "lost Start Listen answer and duty
 * changes in a session"): one status frame lost on a host link once the V2G session has started.
 * Each test loses that frame on purpose, on the virtual clock.
 */
import { filter } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createHciClient } from '../../machines/hci-client.js';
import { HciError, type HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import { REREAD_AFTER_MS } from '../../machines/state-reread.js';
import { QUICK_SLAC, SMALL_BATTERY, losingStatuses, pluggedPair, startStations, lostFrameStations } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';

const pairs = pairsClosedAfterEach();

const setUp = (clients: Parameters<typeof lostFrameStations>[1]) => lostFrameStations(pairs, clients);

describe('a lost Authorization Status Requested (fuzz seed 200201: Payment Selected dropped, Authorization Status Requested corrupted)', () => {
  it('the EVSE host offers the acceptance in the quiet session start, the module takes it, the car charges', async () => {
    const { clock, s, phases, setUpAgain } = setUp(({ evseClient }) => ({ evseClient: losingStatuses(evseClient, 'EvsePaymentSelected', 'EvseAuthorizationStatusRequested') }));
    expect(await clock.runUntil(() => phases('EVSE').includes('sessionStarted'), 30_000, 10)).toBe(true);
    const startedAt = clock.now();
    const lost = () => s.logs('EVSE').some((l) => l.startsWith('"Request Authorization" lost'));
    // Before: nothing until the module's authorization timeout (60 s) ended the session.
    expect(await clock.runUntil(lost, 10_000, 10)).toBe(true);
    expect(clock.now() - startedAt).toBeLessThanOrEqual(REREAD_AFTER_MS + 200);
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
    expect(setUpAgain()).toBe(false);
  }, 60_000);

  it('a session that lost nothing sends no Set Authorization Status before the module asks', async () => {
    const sent: string[] = [];
    const { clock, s } = setUp(({ evseClient }) => {
      evseClient.traffic$.subscribe((t) => {
        if (t.dir === 'tx' && t.message) sent.push(t.message.message);
      });
      return {};
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0, 600_000, 100)).toBe(true);
    expect(sent.filter((m) => m === 'EvseSetAuthorizationStatus')).toHaveLength(1);
    expect(s.logs('EVSE').some((l) => l.startsWith('"Request Authorization" lost'))).toBe(false);
  }, 60_000);
});

describe('every answer to Start Listen lost together with Session Started (the combination the brief named for seed 200201)', () => {
  it('the module listened: the messages kept while configuring move the session on, the car is authorized and charges', async () => {
    const { clock, s, phases, setUpAgain } = setUp(({ clock, evseClient }) => {
      const lossy = losingStatuses(evseClient, 'EvseSessionStarted');
      const request: HciClient['request'] = (def, fields, options) => {
        if (def.name !== 'EvseStartListen') return evseClient.request(def, fields, options);
        // The module takes it (a retry is refused 0x11, already listening); every answer is lost.
        void evseClient.request(def, fields, options).catch(() => undefined);
        return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', 'V2g.EvseStartListen', 'V2g.EvseStartListen: no response within 1000 ms')), 1000));
      };
      return { evseClient: Object.assign(Object.create(lossy) as HciClient, { request }) };
    });
    // Before: the kept Payment Selected and Request Authorization were dropped (only what followed
    // a Session Started was replayed), and 20 s later the host stopped listening: configurationFailed.
    expect(await clock.runUntil(() => phases('EVSE').includes('sessionStarted') && phases('EV').includes('sessionStarted'), 30_000, 10)).toBe(true);
    expect(s.logs('EVSE').some((l) => l.startsWith('"Session started" lost: "EvsePaymentSelected"'))).toBe(true);
    // The module's own request, replayed in order after the message that entered the session (no probe needed).
    expect(await clock.runUntil(() => s.logs('EVSE').includes('"Request Authorization" received'), 10_000, 10)).toBe(true);
    expect(s.logs('EVSE').some((l) => l.startsWith('"Request Authorization" lost'))).toBe(false);
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    expect(s.records('EV')[0]?.stopReason).toBe('targetSocReached');
    expect(s.records('EVSE')[0]?.error).toBeUndefined();
    expect(setUpAgain()).toBe(false);
  }, 60_000);
});

/** The client with every Duty Cycle Changed of `permill` lost once `armed()` (hidden from its traffic too). */
function losingDuty(client: HciClient, permill: number, armed: () => boolean): HciClient {
  const lost = (m: { message?: string; fields?: Record<string, unknown> } | undefined): boolean => armed() && m?.message === 'DutyCycleChanged' && m.fields?.dutyCyclePermill === permill;
  const status$ = client.status$.pipe(filter((e) => !lost(e)));
  const traffic$ = client.traffic$.pipe(filter((t) => !lost(t.message)));
  return Object.assign(Object.create(client) as HciClient, { status$, traffic$ });
}

describe("the EVSE's 100 % at the end of a session lost on the EV side (the car stays plugged in)", () => {
  it('the EV host re-reads the duty cycle while it waits for the EVSE to leave, sees 100 % and waits for a new offer', async () => {
    const { clock, pair } = pluggedPair('dcExtended');
    pairs.push(pair);
    let evSessionStarted = false;
    const evClient = createHciClient({ transport: pair.evHost, clock });
    // Nothing is re-read while nothing is waited for: no Get PWM duty cycle in the session.
    let dutyReadsInSession = 0;
    evClient.traffic$.subscribe((t) => {
      if (t.dir === 'tx' && t.message?.message === 'GetDutyCycle' && evSessionStarted && s.records('EV').length === 0) dutyReadsInSession++;
    });
    const s = startStations({
      clock,
      evseClient: createHciClient({ transport: pair.evseHost, clock }),
      evClient: losingDuty(evClient, 1000, () => evSessionStarted),
      evse: evseConfig({ slac: QUICK_SLAC }),
      ev: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }),
    });
    s.ev.on('*', (e) => {
      if ((e as { type: string; phase?: string }).type === 'phase' && (e as { phase?: string }).phase === 'sessionStarted') evSessionStarted = true;
    });
    expect(await clock.runUntil(() => s.records('EVSE').length > 0 && s.records('EV').length > 0, 600_000, 100)).toBe(true);
    expect(dutyReadsInSession).toBe(0);
    const hundred = () => s.logs('EVSE').filter((l) => l === 'Set the CP duty cycle to 100%').length >= 2;
    expect(await clock.runUntil(hundred, 30_000, 10)).toBe(true);
    const at = clock.now();
    // Before: the EV waited for the EVSE to leave for good (its only sign lost).
    expect(await clock.runUntil(() => s.logs('EV').includes('EVSE left high-level communication'), 30_000, 10)).toBe(true);
    expect(clock.now() - at).toBeLessThanOrEqual(REREAD_AFTER_MS + 100);
    const evPhases = s.emitted.EV.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    expect(evPhases.at(-1)).toBe('waitingForVehicle');
  }, 60_000);
});
