/** Shared setup for the simulator tests: a pair on a virtual clock with two scripted hosts. */
import { VirtualClock } from '../../util/clock.js';
import { type FaultConfig, type ScenarioInput, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { ScriptedHost } from '../../sim/host-stub.js';

export function setup(scenario: ScenarioInput = {}, faults?: FaultConfig) {
  const clock = new VirtualClock();
  const pair = createSimulatedPair({ clock, scenario: parseScenario(scenario), ...(faults ? { faults } : {}) });
  const problems: string[] = [];
  pair.evse.problems$.subscribe((p) => problems.push(p));
  pair.ev.problems$.subscribe((p) => problems.push(p));
  const evse = new ScriptedHost(pair.evseHost, clock);
  const ev = new ScriptedHost(pair.evHost, clock);
  const errors: unknown[] = [];
  const catchErr = (p: Promise<unknown>): void => {
    p.catch((e: unknown) => errors.push(e));
  };
  return { clock, pair, evse, ev, problems, errors, catchErr };
}

/** Status types in order, runs of the same type collapsed to "Type x<n>". */
export function collapsed(types: string[]): string[] {
  const out: string[] = [];
  let prev = '';
  let n = 0;
  const flush = (): void => {
    if (n > 0) out.push(n === 1 ? prev : `${prev} x${n}`);
  };
  for (const t of types) {
    if (t === prev) n++;
    else {
      flush();
      prev = t;
      n = 1;
    }
  }
  flush();
  return out;
}
