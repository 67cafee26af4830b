import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../util/clock.js';
import { createSimulatedPair, parseScenario } from '../sim/index.js';
import { ScriptedHost } from '../sim/host-stub.js';
import { runEvseStub, runEvStub } from '../sim/stub-stations.js';

describe('simulated pair: full DC session with scripted hosts', () => {
  it('runs to Session Stopped on both sides', async () => {
    const clock = new VirtualClock();
    const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: 1000 } }) });
    const problems: string[] = [];
    pair.evse.problems$.subscribe((p) => problems.push(p));
    pair.ev.problems$.subscribe((p) => problems.push(p));
    const evse = new ScriptedHost(pair.evseHost, clock);
    const ev = new ScriptedHost(pair.evHost, clock);
    const errors: unknown[] = [];
    runEvseStub(evse).catch((e) => errors.push(e));
    runEvStub(ev, clock, { energyTransferMode: 1, chargeForMs: 2000 }).catch((e) => errors.push(e));
    const done = await clock.runUntil(() => ev.types().includes('V2g.EvSessionStopped') && evse.types().includes('V2g.EvseSessionStopped'), 120_000);
    console.log(evse.types().join('\n'));
    console.log('---');
    console.log(ev.types().join('\n'));
    console.log(problems, errors);
    expect(done).toBe(true);
    await pair.close();
  });
});
