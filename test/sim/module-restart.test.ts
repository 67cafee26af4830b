/**
 * A module restart takes seconds (Sevenstax/FreeV2G#72, docs/field-behaviours.md): the simulated
 * module emulates it (scenario quirk `restart`, sim/scenarios/module-restart.json) and the hosts
 * ask again while it is silent instead of failing. Virtual clock throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPilot, System } from '../../codec/catalog.js';
import { createHciClient } from '../../machines/hci-client.js';
import { HciError } from '../../machines/hci-types.js';
import { MODULE_START_WAIT_MS } from '../../machines/station-common.js';
import { builtinScenarioPath, loadScenario, parseScenario } from '../../sim/index.js';
import { createSimulatedModule } from '../../sim/simulated-module.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock } from '../../util/clock.js';
import { type FieldRun, fieldRun } from '../helpers/field-run.js';

const RESTART = { resetAfterMs: 5000, silentMs: 5000, slowForMs: 10000, slowReplyMs: 130 };

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function evseModule() {
  const clock = new VirtualClock(0);
  const [host, module] = createMemoryPair({ clock });
  const sim = createSimulatedModule({ role: 'EVSE', clock, transport: module, scenario: parseScenario({ quirks: { evse: { restart: RESTART } } }) });
  const client = createHciClient({ transport: host, clock, timeoutMs: 1000 });
  closers.push(async () => {
    await client.close();
    await sim.close();
    await host.close();
    await module.close();
  });
  /** Sends `def` and returns how long the answer took (ms), or the error kind. */
  const ask = async (p: () => Promise<unknown>): Promise<number | string> => {
    const t0 = clock.now();
    let out: number | string | undefined;
    p().then(
      () => (out = clock.now() - t0),
      (e: unknown) => (out = e instanceof HciError ? e.kind : 'other'),
    );
    await clock.runUntil(() => out !== undefined, 2000, 1);
    return out ?? 'pending';
  };
  /** Moves the clock to `t` (ms since the start), firing what is due on the way. */
  const at = async (t: number): Promise<void> => {
    const beat = clock.setTimeout(() => undefined, t - clock.now());
    await clock.runUntil(() => clock.now() >= t, t - clock.now(), 10);
    clock.clearTimeout(beat);
  };
  return { clock, client, ask, at };
}

describe('module restart timing (simulator, Sevenstax/FreeV2G#72)', () => {
  it('Restart System: still answering for 5 s (what is set then is lost), silent for 5 s, late answers for 10 s, then normal', async () => {
    const m = evseModule();
    expect(await m.ask(() => m.client.request(System.RestartSystem, {}))).toBe(0);
    // Within the 5 s before the reset the module answers, and the CP service starts...
    expect(await m.ask(() => m.client.request(ControlPilot.SetMode, { mode: 1 }))).toBe(0);
    expect(await m.ask(() => m.client.request(ControlPilot.Start, {}))).toBe(0);
    await m.at(5100);
    // ... and the reset at 5 s took it back to the power-on state; the module is silent now.
    expect(await m.ask(() => m.client.request(System.GetFirmwareVersion, {}))).toBe('timeout');
    await m.at(10_100);
    // Back after 5 s of silence, late (QCA firmware upload) ...
    expect(await m.ask(() => m.client.request(System.GetFirmwareVersion, {}))).toBe(130);
    expect(await m.ask(() => m.client.request(ControlPilot.Stop, {}))).toBe('result'); // CP not started: state lost
    await m.at(20_100);
    // ... and normal 10 s later.
    expect(await m.ask(() => m.client.request(System.GetFirmwareVersion, {}))).toBe(0);
  });
});

const runs: FieldRun[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.close();
});

describe('hosts while the module restarts (Sevenstax/FreeV2G#72)', () => {
  it('the EVSE module is restarting when the host starts: the firmware query is asked again with a clear log line, then the session completes', async () => {
    const r = fieldRun({ parsedScenario: await loadScenario(builtinScenarioPath('module-restart')) });
    runs.push(r);
    r.pair.evse.reset(); // powered on together with the host: 5 s of silence, then late answers
    expect(await r.until(() => r.ended(1)())).toBe(true);
    const logs = r.logs('EVSE');
    const waiting = logs.find((l) => l.startsWith('Module not answering'));
    expect(waiting).toMatch(/^Module not answering \(System\.GetFirmwareVersion: no response within 1000 ms\): it may be restarting .*asking again every 1 s for up to 30 s$/);
    expect(logs.filter((l) => l.startsWith('Module not answering'))).toHaveLength(1);
    expect(logs.some((l) => /^Module answering again \(\d+\.\d s after the first unanswered query\)$/.test(l))).toBe(true);
    expect(r.traffic.EVSE.filter((l) => l === 'tx System.GetFirmwareVersion').length).toBeGreaterThan(3);
    const rec = r.records('EVSE')[0];
    expect(rec?.error).toBeUndefined();
    expect(rec?.stopReason).toBe('evStopped');
    expect(rec?.energyDeliveredWh ?? 0).toBeGreaterThan(0);
  });

  it('a module that never comes back: after the bound the set-up has failed; the station waits (output 0) and asks again after 5, then 10 s', async () => {
    const r = fieldRun({ scenario: { cable: { plugInAfterMs: null } } });
    runs.push(r);
    r.pair.evse.setSilent(true);
    const retrying = () => JSON.stringify(r.evse.getSnapshot().value) === '"setUpRetry"';
    expect(await r.until(retrying, 120_000)).toBe(true);
    // Failed no sooner than the bound after the first unanswered query (3 tries of 1 s).
    expect(r.clock.now() - 1_700_000_000_000).toBeGreaterThanOrEqual(3000 + MODULE_START_WAIT_MS);
    expect(r.logs('EVSE').at(-1)).toMatch(
      /^Module set-up failed \(System\.GetFirmwareVersion: no response within 1000 ms; no answer for 3\d s \(module not started\)\): trying again in 5 s, at .* \(failure 1 in a row\)$/,
    );
    // Machines/setup-retry.ts: the next set-up (the same 30 s of asking) fails again, 10 s next.
    expect(await r.until(() => r.logs('EVSE').some((l) => l.includes('trying again in 10 s')), 120_000)).toBe(true);
    expect(r.evse.getSnapshot().status).toBe('active');
  });

  it('the EVSE module resets mid-charge and is slow to come back: output 0, the module is initialised again, the next car charges', async () => {
    const s = await loadScenario(builtinScenarioPath('module-restart'));
    const r = fieldRun({ parsedScenario: { ...s, cable: { ...s.cable, plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 } } });
    runs.push(r);
    let resetDone = false;
    r.pair.cable.onPhase((p) => {
      if (p === 'chargeLoop' && !resetDone) {
        resetDone = true;
        r.pair.evse.reset();
      }
    });
    expect(await r.until(() => r.ended(2)())).toBe(true);
    const [first, second] = r.records('EVSE');
    expect(first?.error?.name).toMatch(/^module(NotResponding|LostSession)$/);
    expect(second?.error).toBeUndefined();
    expect(second?.energyDeliveredWh ?? 0).toBeGreaterThan(0);
    expect(r.logs('EVSE')).toContain('Module lost its state: initialising it again');
  });
});
