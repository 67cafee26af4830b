/**
 * One fuzzed session (issue 12 item 13): both stations on the simulated pair, virtual clock, with
 * faults drawn from a seed: drops, duplicates, corruption and delays on both links, busy answers
 * from both modules, and sometimes an unplug, a PLC loss or a module that stops answering in a
 * random phase. Shared by the CI slice (test/sim/fuzz-sessions.test.ts) and the campaign
 * (bench/fuzz-sessions.ts). The verdict: the session ends safe (commanded output 0), a V2G
 * session that started has a record, and the EV host does not record a configuration failure
 * for a session its module started.
 */
import { commandedOutput } from '../../machines/charger.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { HciClient } from '../../machines/hci-types.js';
import { evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { type FaultConfig, type LinkFaults, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { SESSION_PHASES } from '../../sim/phases.js';
import { createPrng, type Prng } from '../../sim/prng.js';
import { VirtualClock } from '../../util/clock.js';
import { QUICK_SLAC, startStations } from './stations.js';

export interface FuzzVerdict {
  seed: number;
  faults: FaultConfig;
  sessionStarted: boolean;
  /**
   * The V2G session started only after a host had set its module up again (a liveness verdict or
   * a restart). Setting up again rescues a session stuck on one lost status frame or command, so a
   * false "module not answering" (one lost Ping Reply) made sessions start that the link alone
   * did not: counted apart, so that the started figure is compared fairly (docs/reliability.md,
   * "the second Ping").
   */
  startedAfterSetUpAgain: boolean;
  recorded: boolean;
  outputV: number;
  outputA: number;
  /** What went wrong, or undefined when the session ended safe. */
  problem?: string;
  /**
   * How the first V2G session ended, for the campaign's cause histogram (bench/fuzz-sessions.ts
   * --causes): each host's record (stop reason or error name), the fault kinds that stop a session
   * for good (unplug, PLC loss, a module that stops answering) and the first command each host saw
   * unanswered (the usual root of a session lost to a fault the host could have recovered from).
   */
  ending: FuzzEnding;
}

export interface FuzzEnding {
  evse?: string;
  ev?: string;
  /** The EV reached its target: the session the car wanted is complete. */
  completed: boolean;
  /** 'unplug', 'plc', 'stopAnswering' when drawn (the session may end before that phase). */
  hardFaults: string[];
  /** The last session phase each host reached before its first session ended. */
  evsePhase?: string;
  evPhase?: string;
  /** Commands each host saw unanswered ("Warning: <command>: no response") in its first session, charge-loop updates left out. */
  unansweredEvse: string[];
  unansweredEv: string[];
}

/** Phases of a V2G session under way (machines/station-events.ts SESSION_PHASES). */
const IN_SESSION = new Set(['sessionStarted', 'authorization', 'chargeParameterDiscovery', 'cableCheck', 'preCharge', 'charging', 'stoppingCharging', 'postCharge', 'paused']);

function linkFaults(rng: Prng): LinkFaults {
  return {
    dropRate: rng.next() * 0.02,
    duplicateRate: rng.next() * 0.03,
    corruptRate: rng.next() * 0.01,
    delayRate: rng.next() * 0.05,
    delayMs: [1, rng.int(5, 120)],
  };
}

const pick = <T>(rng: Prng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;

export function fuzzFaults(seed: number): FaultConfig {
  const rng = createPrng(seed);
  const phases = SESSION_PHASES.filter((p) => p !== 'idle');
  return {
    seed,
    links: { evse: linkFaults(rng), ev: linkFaults(rng) },
    modules: {
      evse: { busyRate: rng.next() * 0.05, ...(rng.chance(0.1) ? { stopAnswering: { phase: pick(rng, phases) } } : {}) },
      ev: { busyRate: rng.next() * 0.05 },
    },
    ...(rng.chance(0.15) ? { unplugIn: pick(rng, phases) } : {}),
    ...(rng.chance(0.1) ? { losePlcLinkIn: pick(rng, phases) } : {}),
  };
}

/**
 * Runs one fuzzed session to its end (or `limitMs` of virtual time) and judges it. `trace` gets
 * each host's log lines and the frames its host saw (sent, and received: a frame the link lost
 * is not there), with the virtual time since the start (bench/fuzz-sessions.ts --trace).
 */
export async function fuzzSession(seed: number, limitMs = 900_000, trace?: (line: string) => void): Promise<FuzzVerdict> {
  const faults = fuzzFaults(seed);
  const clock = new VirtualClock(1_700_000_000_000);
  const scenario = parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } }, cable: { plugInAfterMs: 1000, unplugAfterSessionMs: null, replugAfterMs: null } });
  const pair = createSimulatedPair({ clock, scenario, faults });
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const s = startStations({
    clock,
    evseClient,
    evClient,
    evse: evseConfig({ slac: QUICK_SLAC }),
    ev: evConfig({ battery: { capacityWh: 1000, levelWh: 760, maxPowerW: 12000, targetVoltageV: 200, maxVoltageV: 300 }, targetSocPercent: 80, slac: QUICK_SLAC }),
  });
  if (trace) traceSession(trace, clock, { EVSE: [evseClient, s.evse], EV: [evClient, s.ev] });
  // Tracked as they come (the predicate runs every 50 ms of virtual time; scanning everything
  // emitted so far each time made a session quadratic in its length).
  let sawSlac = false;
  let sessionStarted = false;
  let recorded = false;
  let setUpAgain = false;
  let startedAfterSetUpAgain = false;
  s.evse.on('*', (e) => {
    const ev = e as { type: string; phase?: string };
    if (ev.type === 'phase' && ev.phase === 'slac') sawSlac = true;
    if (ev.type === 'phase' && ev.phase === 'sessionStarted') {
      if (!sessionStarted) startedAfterSetUpAgain = setUpAgain;
      sessionStarted = true;
    }
    if (ev.type === 'sessionEnded') recorded = true;
  });
  // Both stations log this on entering `reinitialising` (station-evse.ts, station-ev.ts).
  const ending: FuzzEnding = {
    completed: false,
    unansweredEvse: [],
    unansweredEv: [],
    hardFaults: [...(faults.unplugIn ? ['unplug'] : []), ...(faults.losePlcLinkIn ? ['plc'] : []), ...(faults.modules?.evse?.stopAnswering ? ['stopAnswering'] : [])],
  };
  const endOf = (r: SessionRecord | undefined): string => (r?.error ? `error:${r.error.name}` : (r?.stopReason ?? 'none'));
  // Each host's first session: its phases, the commands it saw unanswered, its record.
  const follow = (station: { on(type: '*', listener: (e: unknown) => void): unknown }, host: 'evse' | 'ev'): void => {
    const lost = host === 'evse' ? ending.unansweredEvse : ending.unansweredEv;
    station.on('*', (e) => {
      const ev = e as { type: string; record?: SessionRecord; phase?: string; text?: string };
      if (ending[host] !== undefined) return;
      if (ev.type === 'sessionEnded') {
        ending[host] = endOf(ev.record);
        if (host === 'ev') ending.completed = ev.record?.stopReason === 'targetSocReached';
      }
      if (ev.type === 'phase' && ev.phase && IN_SESSION.has(ev.phase)) ending[host === 'evse' ? 'evsePhase' : 'evPhase'] = ev.phase;
      const command = /^Warning: ([\w.]+): no response/.exec(ev.type === 'log' ? (ev.text ?? '') : '')?.[1];
      if (command && !/ChargingParameters$/.test(command) && !lost.includes(command)) lost.push(command);
    });
  };
  follow(s.evse, 'evse');
  follow(s.ev, 'ev');
  const watchSetUp = (e: unknown): void => {
    const ev = e as { type: string; text?: string };
    if (ev.type === 'log' && ev.text?.startsWith('Module lost its state')) setUpAgain = true;
  };
  s.evse.on('*', watchSetUp);
  s.ev.on('*', watchSetUp);
  // Each host's record is honest (fuzz seeds 602, 152399: the EV; the same hole at Start Listen on
  // the EVSE): no configuration failure for an attempt whose module reported Session Started.
  const evDishonest = honestyCheck('EV', evClient, s.ev, 'V2g.EvSessionStarted');
  const evseDishonest = honestyCheck('EVSE', evseClient, s.evse, 'V2g.EvseSessionStarted');
  const state = (): string => JSON.stringify(s.evse.getSnapshot().value);
  const settled = (): boolean => recorded || /waitingForUnplug|failed|reinitialising/.test(state()) || (sawSlac && state().includes('waitingForVehicle'));
  await clock.runUntil(settled, limitMs, 50);
  // Let the end of the session play out (afterSession, Stop Charging) before judging.
  await clock.runUntil(() => false, 10_000, 100);
  // A module set up again (or SLAC tried again) with the car still plugged in may have started a
  // new session meanwhile: judge it when it has ended (seed 11).
  if (sessionStarted && !recorded && state().includes('"session"')) {
    await clock.runUntil(() => recorded, limitMs, 50);
    await clock.runUntil(() => false, 10_000, 100);
  }
  const charger = s.evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
  const out = charger ? commandedOutput(charger.context) : { voltageV: 0, currentA: 0 };
  const sessionState = (): string => JSON.stringify((s.evse.getSnapshot().children as Record<string, { getSnapshot(): { value: unknown } } | undefined>).session?.getSnapshot().value ?? null);
  let problem: string | undefined;
  // Output is allowed only in energy transfer: a module that failed and was set up again may
  // already serve the car (still plugged in) in a new session by the time the run is judged.
  const transferring = sessionState().includes('energyTransfer');
  if ((out.voltageV !== 0 || out.currentA !== 0) && !transferring) problem = `output not 0 outside energy transfer: ${out.voltageV} V ${out.currentA} A in ${state()} ${sessionState()}`;
  else if (sessionStarted && !recorded && !/waitingForUnplug|failed|reinitialising|waitingForVehicle/.test(state()))
    problem = `session started, no record, still ${state()} ${sessionState()} after ${s.logs('EVSE').slice(-3).join(' / ')}`;
  else if (sessionStarted && !recorded) problem = `session started but not recorded (${state()})`;
  else problem = evDishonest() ?? evseDishonest();
  s.evse.stop();
  s.ev.stop();
  await pair.close();
  return { seed, faults, sessionStarted, startedAfterSetUpAgain, recorded, outputV: out.voltageV, outputA: out.currentA, ending, ...(problem ? { problem } : {}) };
}

/** The first configurationFailed a station records for an attempt its module reported started. */
function honestyCheck(role: string, client: HciClient, station: { on(type: '*', listener: (e: unknown) => void): unknown }, startedType: string): () => string | undefined {
  let moduleStarted = false;
  let dishonest: string | undefined;
  client.status$.subscribe((e) => {
    if (e.type === startedType) moduleStarted = true;
  });
  station.on('*', (e) => {
    const ev = e as { type: string; record?: { error?: { name?: string; detail?: string } } };
    if (ev.type !== 'sessionEnded') return;
    if (ev.record?.error?.name === 'configurationFailed' && moduleStarted) dishonest ??= `${role} recorded configurationFailed (${ev.record.error.detail}) though its module reported Session Started`;
    moduleStarted = false;
  });
  return () => dishonest;
}

/** Every host's log line and every frame its client sent or received, in the order they came. */
function traceSession(trace: (line: string) => void, clock: VirtualClock, hosts: Record<string, [HciClient, { on(type: '*', listener: (e: unknown) => void): unknown }]>): void {
  const t0 = clock.now();
  const at = (): string => `${String(clock.now() - t0).padStart(7)} ms`;
  for (const [role, [client, station]] of Object.entries(hosts)) {
    client.traffic$.subscribe((t) => {
      const m = t.message;
      trace(
        `${at()} ${role.padEnd(4)} ${t.dir} ${m ? `${m.module}.${m.message} ${m.direction} #${m.reqId} ${JSON.stringify(m.fields)}` : `${t.bytes.length} bytes ${Buffer.from(t.bytes).toString('hex')}`}`,
      );
    });
    station.on('*', (e) => {
      const ev = e as { type: string; text?: string; phase?: string };
      if (ev.type === 'log') trace(`${at()} ${role.padEnd(4)} log ${ev.text}`);
      else if (ev.type === 'phase') trace(`${at()} ${role.padEnd(4)} phase ${ev.phase}`);
    });
  }
}
