/**
 * Issue 9 item 4: no wait on the module lasts forever. From each point of a session where a host
 * waits for the module (per simulated session phase), the module becomes useless to one host in
 * one of two ways, and that host must end the session in a safe state (a session record, the
 * charger output 0) within a bound:
 * - `undecodable`: every V2G status message it sends arrives in a form that decodes not at all
 *   (unknown Sub-ID), as a message tolerant decoding rejects is dropped (docs/firmware.md);
 * - `errors`: every V2G command is answered with 0x11 (wrong state, 18.5).
 * The host end of the link is altered (the simulated modules stay as they are), virtual clock.
 * A static walk of the session machines (below) lists each state that waits for the module and
 * what bounds it.
 */
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { encodeFrame, parseFrame } from '../../codec/frame.js';
import { commandedOutput } from '../../machines/charger.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { StationRole } from '../../machines/station-events.js';
import { UNUSABLE_STATUS_BOUND_MS } from '../../machines/status-watchdog.js';
import { evConfig } from '../../machines/index.js';
import { v2gEvSessionMachine } from '../../machines/v2g-ev-session.js';
import { v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import { QUICK_SLAC } from '../helpers/stations.js';
import { pairsClosedAfterEach } from '../helpers/test-rigs.js';
import { type SessionPhase, createSimulatedPair, parseScenario } from '../../sim/index.js';
import type { Transport } from '../../transports/transport.js';
import { VirtualClock } from '../../util/clock.js';
import { startStations } from '../helpers/stations.js';

const V2G_MOD_ID = 0x27;
type Mode = 'undecodable' | 'errors';
const WRONG_STATE = 0x11;
/**
 * What no session may exceed after the module became useless (virtual ms): undecodable status
 * messages end it through the watchdog (machines/status-watchdog.ts) or sooner; error answers
 * through the failed commands or the module's own timeouts (up to 60 s).
 */
const BOUND_MS: Record<Mode, number> = { undecodable: UNUSABLE_STATUS_BOUND_MS + 5_000, errors: 90_000 };

/** The frames the module sends to this host, altered from the moment `active()` holds. */
function altered(t: Transport, mode: Mode, active: () => boolean): Transport {
  const alter = (bytes: Uint8Array): Uint8Array => {
    const parsed = parseFrame(bytes);
    if (!active() || 'error' in parsed || parsed.frame.modId !== V2G_MOD_ID) return bytes;
    const f = parsed.frame;
    if (mode === 'undecodable' && f.subId >= 0x80) return encodeFrame({ ...f, subId: 0xee });
    if (mode === 'errors' && f.subId < 0x80) return encodeFrame({ ...f, payload: Uint8Array.of(WRONG_STATE) });
    return bytes;
  };
  return { frames$: t.frames$.pipe(map(alter)), linkState$: t.linkState$, send: (f) => t.send(f), close: () => t.close() };
}

const pairs = pairsClosedAfterEach();

function run(role: StationRole, mode: Mode, from: SessionPhase) {
  const clock = new VirtualClock(1_700_000_000_000);
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 200, socTargetPercent: 80 } }, cable: { unplugAfterSessionMs: null, replugAfterMs: null } }) });
  pairs.push(pair);
  let since: number | undefined;
  pair.cable.onPhase((p) => {
    if (p === from && since === undefined) since = clock.now();
  });
  const active = (): boolean => since !== undefined;
  const evseHost = role === 'EVSE' ? altered(pair.evseHost, mode, active) : pair.evseHost;
  const evHost = role === 'EV' ? altered(pair.evHost, mode, active) : pair.evHost;
  // A short charge (10 Wh): a session that goes on normally ends well within the bound.
  const ev = evConfig({ battery: { capacityWh: 200, levelWh: 150, maxPowerW: 12000, targetVoltageV: 200, maxVoltageV: 300 }, targetSocPercent: 80, slac: QUICK_SLAC });
  const s = startStations({ clock, ev, evseClient: createHciClient({ transport: evseHost, clock }), evClient: createHciClient({ transport: evHost, clock }) });
  const beat = (): void => {
    clock.setTimeout(beat, 1000);
  };
  beat();
  const output = () => {
    const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    return charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  };
  const ended = (): boolean => s.records(role).length > 0 || JSON.stringify((role === 'EVSE' ? s.evse : s.ev).getSnapshot().value) === '"failed"';
  return { clock, s, output, ended, since: () => since, stop: () => (s.evse.stop(), s.ev.stop()) };
}

const PHASES: SessionPhase[] = ['sessionSetup', 'authorization', 'chargeParameterDiscovery', 'cableCheck', 'preCharge', 'chargeLoop', 'powerDeliveryStop', 'weldingDetection'];

describe.each(['EVSE', 'EV'] as const)('the %s host when its module becomes useless', (role) => {
  describe.each(['undecodable', 'errors'] as const)('%s', (mode) => {
    it.each(PHASES)(`from %s: the session ends within ${BOUND_MS[mode] / 1000} s, output 0`, async (from) => {
      const r = run(role, mode, from);
      expect(await r.clock.runUntil(() => r.since() !== undefined, 600_000, 50)).toBe(true);
      const at = r.since() ?? 0;
      const ended = await r.clock.runUntil(r.ended, BOUND_MS[mode], 50);
      expect(
        ended,
        `${role} still in ${JSON.stringify((role === 'EVSE' ? r.s.evse : r.s.ev).getSnapshot().value)} ${BOUND_MS[mode]} ms after ${from}; last logs: ${r.s.logs(role).slice(-5).join(' | ')}`,
      ).toBe(true);
      expect(r.clock.now() - at).toBeLessThanOrEqual(BOUND_MS[mode]);
      // Safe: the charger output is 0 once the EVSE's session is over (or never started).
      await r.clock.runUntil(() => false, 2000, 50);
      if (role === 'EVSE') expect(r.output()).toEqual({ voltageV: 0, currentA: 0 });
      r.stop();
    });
  });
});

/** Every state of a session machine and what ends a wait there: a timer, or a bounded actor. */
function bounds(machine: AnyStateMachine): Array<{ state: string; bound: string | undefined }> {
  const leaves = (n: AnyStateNode): AnyStateNode[] => {
    const kids = Object.values(n.states) as AnyStateNode[];
    return kids.length === 0 ? [n] : kids.flatMap(leaves);
  };
  return leaves(machine.root)
    .filter((n) => n.type !== 'final')
    .map((n) => {
      const chain: AnyStateNode[] = [];
      for (let p: AnyStateNode | undefined = n; p; p = p.parent) chain.push(p);
      const sources = chain.flatMap((c) => c.invoke.map((i) => (typeof i.src === 'string' ? i.src : '')));
      // hciSequence: each step ends within its response timeout (a few retries), then fails.
      const bound = sources.includes('statusWatchdog') ? 'statusWatchdog' : sources.includes('hciSequence') ? 'hciSequence' : chain.some((c) => c.after.length > 0) ? 'after' : undefined;
      return { state: n.id, bound };
    });
}

describe('every state of the session machines that waits for the module has a bound (static)', () => {
  it.each([
    ['EVSE', v2gEvseSessionMachine],
    ['EV', v2gEvSessionMachine],
  ] as const)('%s session: each state is under the status watchdog or a bounded sequence', (_role, machine) => {
    const all = bounds(machine as unknown as AnyStateMachine);
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((s) => s.bound === undefined)).toEqual([]);
    // The waits for status messages themselves (not only configuration) are under the watchdog.
    expect(all.filter((s) => s.bound === 'statusWatchdog').length).toBeGreaterThan(4);
  });
});
