/**
 * Model-based tests: a small model of what can happen in a charging session (energy transfer
 * mode, authorization, how it ends) is traversed with @xstate/graph; every path to a final state
 * becomes a scenario that the EVSE and EV stations run against the simulated modules on the
 * virtual clock. At every frame the EVSE host sends or receives, the safety invariant is checked
 * (outside energy transfer the charger's command is 0); at the end, the HCI commands the EVSE
 * host sent must contain the path's expected sequence, and the station must be back in the
 * right state.
 */
import { getShortestPaths, getSimplePaths } from '@xstate/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import type { DecodedMessage } from '../../codec/catalog.js';
import { commandedOutput } from '../../machines/charger.js';
import { createHciClient } from '../../machines/hci-client.js';
import { type AuthorizationPolicy, createEvStation, createEvseStation, evConfig, evseConfig } from '../../machines/index.js';
import type { SessionRecord, StationEmitted } from '../../machines/station-events.js';
import { type FaultConfig, type SessionPhase, type SimulatedPair, createSimulatedPair, parseScenario } from '../../sim/index.js';
import { v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import { chargerMachine } from '../../machines/charger.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, harness } from '../helpers/machines-stub.js';

type Ending =
  | { type: 'COMPLETE' }
  | { type: 'STATION_ERROR'; phase: SessionPhase }
  | { type: 'UNPLUG'; phase: SessionPhase }
  | { type: 'EV_ERROR' }
  | { type: 'SHUTDOWN' }
  /** The EVSE asks for a renegotiation while charging; the session then charges to the end. */
  | { type: 'RENEGOTIATE' }
  /** The EV renegotiates on its own (Stop Charging with the renegotiation flag, 18.9.14). */
  | { type: 'EV_RENEGOTIATE' }
  /** The car pauses (Session Stopped closure type 1, 18.12.13) and resumes with the same Session ID. */
  | { type: 'PAUSE' };
type ModelEvent = { type: 'DC' } | { type: 'AC' } | { type: 'ACCEPT' } | { type: 'DENY' } | Ending;

/** The session model: mode, then authorization, then one way of ending. */
const sessionModel = setup({ types: { events: {} as ModelEvent } }).createMachine({
  id: 'sessionModel',
  initial: 'plugged',
  states: {
    plugged: { on: { DC: 'dc', AC: 'ac' } },
    dc: { on: { ACCEPT: 'dcCharging', DENY: 'denied' } },
    ac: { on: { ACCEPT: 'acCharging', DENY: 'denied' } },
    dcCharging: { on: { COMPLETE: 'ended', STATION_ERROR: 'ended', UNPLUG: 'ended', EV_ERROR: 'ended', SHUTDOWN: 'ended', RENEGOTIATE: 'ended', EV_RENEGOTIATE: 'ended', PAUSE: 'ended' } },
    acCharging: { on: { COMPLETE: 'ended', STATION_ERROR: 'ended', UNPLUG: 'ended', SHUTDOWN: 'ended', RENEGOTIATE: 'ended', EV_RENEGOTIATE: 'ended', PAUSE: 'ended' } },
    denied: { type: 'final' },
    ended: { type: 'final' },
  },
});

const paths = getSimplePaths(sessionModel, {
  events: (state): ModelEvent[] => {
    if (state.matches('plugged')) return [{ type: 'DC' }, { type: 'AC' }];
    if (state.matches('dc') || state.matches('ac')) return [{ type: 'ACCEPT' }, { type: 'DENY' }];
    const dc = state.matches('dcCharging');
    const endings: ModelEvent[] = [
      { type: 'COMPLETE' },
      ...(dc ? [{ type: 'STATION_ERROR', phase: 'cableCheck' } as const, { type: 'STATION_ERROR', phase: 'preCharge' } as const] : []),
      { type: 'STATION_ERROR', phase: 'chargeLoop' },
      { type: 'UNPLUG', phase: 'chargeLoop' },
      ...(dc ? [{ type: 'EV_ERROR' } as const] : []),
      { type: 'SHUTDOWN' },
      { type: 'RENEGOTIATE' },
      { type: 'EV_RENEGOTIATE' },
      { type: 'PAUSE' },
    ];
    return endings;
  },
  toState: (s) => s.status === 'done',
});

interface Plan {
  name: string;
  dc: boolean;
  accept: boolean;
  ending?: Ending;
}

function planOf(events: ModelEvent[]): Plan {
  const dc = events.some((e) => e.type === 'DC');
  const accept = events.some((e) => e.type === 'ACCEPT');
  const ending = events.find((e): e is Ending => ['COMPLETE', 'STATION_ERROR', 'UNPLUG', 'EV_ERROR', 'SHUTDOWN', 'RENEGOTIATE', 'EV_RENEGOTIATE', 'PAUSE'].includes(e.type));
  const name = events.map((e) => ('phase' in e ? `${e.type}@${e.phase}` : e.type)).join(' > ');
  return { name, dc, accept, ...(ending ? { ending } : {}) };
}

const plans = paths.map((p) => planOf(p.steps.map((s) => s.event as { type: string }).filter((e) => e.type !== 'xstate.init') as ModelEvent[]));

/** `expected` appears in `actual` in this order (other commands in between allowed). */
function subsequence(actual: string[], expected: string[]): boolean {
  let i = 0;
  for (const a of actual) if (a === expected[i]) i++;
  return i === expected.length;
}

const pairs: SimulatedPair[] = [];
afterAll(async () => {
  for (const p of pairs) await p.close();
});

async function runPlan(plan: Plan) {
  const clock = new VirtualClock(1_700_000_000_000);
  const faults: FaultConfig = {};
  const e = plan.ending;
  if (e?.type === 'STATION_ERROR') faults.stationErrors = [{ phase: e.phase, evseSessionError: 12, evSessionError: 3 }];
  if (e?.type === 'UNPLUG') faults.unplugIn = e.phase;
  if (e?.type === 'EV_ERROR') faults.evErrors = [{ phase: 'chargeLoop', evErrorCode: 4 }];
  const scenario = parseScenario({
    ev: {
      battery: { capacityWh: 200, socTargetPercent: 80 },
      energyTransferMode: plan.dc ? 'dcCore' : 'acThreePhase',
      ...(e?.type === 'PAUSE' ? { pause: { afterChargingMs: 3000, resumeAfterMs: 8000 } } : {}),
    },
  });
  const pair = createSimulatedPair({ clock, scenario, faults });
  pairs.push(pair);
  const policy: AuthorizationPolicy = plan.accept ? { mode: 'acceptAll' } : { mode: 'denyAll' };
  const evseClient = createHciClient({ transport: pair.evseHost, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  const slac = { startDelayMs: 600, evMatchDelayMs: 0 };
  const evse = createEvseStation({ client: evseClient, clock, config: evseConfig({ slac }), policy });
  const ev = createEvStation({
    client: evClient,
    clock,
    config: evConfig({ battery: { capacityWh: 200, levelWh: 100 }, targetSocPercent: 80, slac, energyTransferModes: plan.dc ? [0] : [5] }),
  });
  const sent: DecodedMessage[] = [];
  const violations: string[] = [];
  const emitted: StationEmitted[] = [];
  evse.on('*', (x) => emitted.push(x as StationEmitted));

  /** The invariant, checked whenever the EVSE host talks to its module. */
  const check = (what: string): void => {
    const session = evse.system.get('session')?.getSnapshot() as { status?: string; matches?: (v: unknown) => boolean } | undefined;
    const inTransfer = session?.status === 'active' && (session.matches?.({ session: { phase: 'energyTransfer' } }) ?? false);
    const charger = evse.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] } | undefined;
    if (!charger) return;
    const cmd = commandedOutput(charger.context);
    if (!inTransfer && (cmd.voltageV !== 0 || cmd.currentA !== 0)) violations.push(`${what} at ${clock.now()}: output ${cmd.voltageV} V ${cmd.currentA} A outside energy transfer`);
  };
  evseClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx' && t.message) sent.push(t.message);
    check(`${t.dir} ${t.message ? `${t.message.module}.${t.message.message}` : 'frame'}`);
  });

  const records = (): SessionRecord[] => emitted.flatMap((x) => (x.type === 'sessionEnded' ? [x.record] : []));
  if (e?.type === 'SHUTDOWN') {
    await clock.runUntil(() => emitted.some((x) => x.type === 'phase' && x.phase === 'charging'), 600_000, 100);
    await clock.runUntil(() => false, 3000, 100);
    evse.send({ type: 'shutdown' });
    await clock.runUntil(() => evse.getSnapshot().status === 'done', 30_000, 100);
  } else {
    if (e?.type === 'RENEGOTIATE' || e?.type === 'EV_RENEGOTIATE') {
      await clock.runUntil(() => emitted.some((x) => x.type === 'phase' && x.phase === 'charging'), 600_000, 100);
      await clock.runUntil(() => false, 3000, 100);
      (e.type === 'RENEGOTIATE' ? evse : ev).send({ type: 'renegotiate' });
    }
    // A paused session is recorded, then its resumed segment.
    await clock.runUntil(() => records().length >= (e?.type === 'PAUSE' ? 2 : 1), 3_600_000, 100);
    // Let the station finish its after-session steps.
    await clock.runUntil(() => false, 3000, 100);
  }
  check('end');
  const commands = sent.map((m) => `${m.module}.${m.message}`);
  const stationState = JSON.stringify(evse.getSnapshot().value);
  evse.stop();
  ev.stop();
  return { commands, sent, violations, record: records()[0], records: records(), stationState, status: evse.getSnapshot().status };
}

describe('model-based: session paths on the simulated modules', () => {
  it('the model yields every combination of mode, authorization and ending', () => {
    expect(plans.length).toBe(2 /* deny */ + 10 /* DC endings */ + 7 /* AC endings */);
  });

  for (const plan of plans) {
    it(plan.name, async () => {
      const r = await runPlan(plan);
      expect(r.violations).toEqual([]);
      const auth = r.sent.find((m) => m.message === 'EvseSetAuthorizationStatus');
      expect(auth?.fields).toEqual({ result: plan.accept ? 0 : 1 });
      const e = plan.ending;

      if (!plan.accept) {
        expect(r.commands).not.toContain('V2g.EvseStartCharging');
        expect(r.record?.stopReason).toBe('authorizationDenied');
      } else if (e?.type === 'COMPLETE') {
        const flow = plan.dc
          ? ['V2g.EvseSetSchedules', 'V2g.EvseSetCableCheckFinished', 'V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseStopListen']
          : ['V2g.EvseSetSchedules', 'V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseStopListen'];
        expect(subsequence(r.commands, flow), r.commands.join(',')).toBe(true);
        expect(r.record?.error).toBeUndefined();
        expect(r.record?.stopReason).toBe('evStopped');
        expect(r.record?.energyDeliveredWh).toBeGreaterThan(0);
      } else if (e?.type === 'STATION_ERROR') {
        expect(r.record?.error).toMatchObject({ code: 12, name: 'wrongChargeParameter' });
        // Whatever the phase, the station answers the error with Stop Charging, then stops listening.
        const afterError = r.commands.slice(r.commands.lastIndexOf('V2g.EvseStopCharging'));
        expect(afterError).toContain('V2g.EvseStopListen');
        if (e.phase !== 'chargeLoop') expect(r.commands).not.toContain('V2g.EvseStartCharging');
      } else if (e?.type === 'UNPLUG') {
        expect(subsequence(r.commands, ['V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseStopListen'])).toBe(true);
        expect(r.record?.error ?? r.record?.stopReason).toBeDefined();
        expect(r.stationState).toContain('waitingForVehicle');
      } else if (e?.type === 'EV_ERROR') {
        expect(subsequence(r.commands, ['V2g.EvseStartCharging', 'V2g.EvseSendNotification', 'V2g.EvseStopCharging', 'V2g.EvseStopListen'])).toBe(true);
        expect(r.record?.stopReason).toBe('evError:evRessMalfunction');
      } else if (e?.type === 'RENEGOTIATE') {
        // Charging stops for new schedules, then starts again and runs to the target SOC.
        const again = ['V2g.EvseStartCharging', 'V2g.EvseSendNotification', 'V2g.EvseStopCharging', 'V2g.EvseSetSchedules', 'V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseStopListen'];
        expect(subsequence(r.commands, again), r.commands.filter((c) => !c.includes('Update')).join(',')).toBe(true);
        expect(r.record).toMatchObject({ renegotiations: 1, stopReason: 'evStopped' });
        expect(r.record?.error).toBeUndefined();
      } else if (e?.type === 'EV_RENEGOTIATE') {
        // The EV's Stop Charging with the renegotiation flag: new schedules, charging again, to the end.
        const again = ['V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseSetSchedules', 'V2g.EvseStartCharging', 'V2g.EvseStopCharging', 'V2g.EvseStopListen'];
        expect(subsequence(r.commands, again), r.commands.filter((c) => !c.includes('Update')).join(',')).toBe(true);
        expect(r.commands).not.toContain('V2g.EvseSendNotification');
        expect(r.record).toMatchObject({ renegotiations: 1, stopReason: 'evStopped' });
        expect(r.record?.error).toBeUndefined();
      } else if (e?.type === 'PAUSE') {
        // Paused: output 0 (the invariant above holds in `paused` too), listening stopped, X1;
        // then 5 %, SLAC and listening again, and the resumed session charges to the end.
        const resumed = [
          'V2g.EvseStartCharging',
          'V2g.EvseStopCharging',
          'V2g.EvseStopListen',
          'ControlPilot.SetDutyCycle',
          'V2g.EvseStartListen',
          'V2g.EvseStartCharging',
          'V2g.EvseStopCharging',
          'V2g.EvseStopListen',
        ];
        expect(subsequence(r.commands, resumed), r.commands.filter((c) => !c.includes('Update')).join(',')).toBe(true);
        const [paused, again] = r.records;
        expect(paused).toMatchObject({ closure: 'pause', stopReason: 'paused' });
        expect(again).toMatchObject({ resumed: true, sessionId: paused?.sessionId, stopReason: 'evStopped' });
        expect(r.records.every((x) => x.error === undefined)).toBe(true);
        expect(again?.energyDeliveredWh).toBeGreaterThan(0);
      } else if (e?.type === 'SHUTDOWN') {
        expect(r.status).toBe('done');
        expect(r.stationState).toBe('"stopped"');
        expect(r.commands.slice(-4)).toEqual(['V2g.EvseStopCharging', 'V2g.EvseStopListen', 'Slac.StopSlac', 'ControlPilot.Stop']);
      }
      if (e?.type !== 'SHUTDOWN' && e?.type !== 'UNPLUG') {
        // Still plugged: the station waits for the car to leave, CP back at 100 %.
        expect(r.stationState).toContain('waitingForUnplug');
        const lastDuty = [...r.sent].reverse().find((m) => m.message === 'SetDutyCycle');
        expect(lastDuty?.fields).toEqual({ dutyCyclePermill: 1000 });
      }
    });
  }
});

/**
 * The EVSE session machine itself, traversed with getShortestPaths over its status-message
 * events: every reachable state, then every way out of it (stop request, session error, session
 * stopped, abort). Each path is replayed on the real machine with a stub HCI client; after every
 * step the implementation must be in the traversed state, the charger's command must be 0
 * outside energy transfer, and leaving energy transfer must send EvseStopCharging.
 */
describe('model-based: EVSE session machine paths (stub HCI client)', () => {
  const st = (message: string, fields: Record<string, unknown> = {}) => ({ type: `V2g.${message}`, module: 'V2g', message, fields, at: 0 });
  const dc = { maxVoltageV: 400, maxCurrentA: 20, maxPowerW: 8000, ready: true, errorCode: 0, socPercent: 50, targetVoltageV: 380, targetCurrentA: 10, chargingComplete: false };
  const flowEvents = [
    { type: 'hci.sequenceDone', responses: {} },
    st('EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31) }),
    st('EvseAuthorizationStatusRequested', { timeoutMs: 60_000 }),
    st('EvseEnergyTransferModeSelected', { maxVoltageV: 400, maxCurrentA: 20, maxPowerW: 8000, selectedEnergyTransferMode: 0 }),
    st('EvseSchedulesRequested', { timeoutMs: 5000, maxEntries: 4 }),
    st('EvseCableCheckRequested', { timeoutMs: 38_000 }),
    st('EvsePreChargeStarted'),
    st('EvseDcChargeParametersChanged', dc),
    st('EvseStartChargingRequested', { timeoutMs: 5000, scheduleTupleId: 1, chargingProfile: [{ startS: 0, powerW: 8000 }] }),
    // Renegotiation (postCharge, then charging again) and limits changed at run time.
    st('EvseStopChargingRequested', { timeoutMs: 5000, renegotiation: true }),
    { type: 'session.renegotiate', reason: 'model' },
    { type: 'session.setLimits', maxPowerW: 4000, maxCurrentA: 10 },
    // The car opens S2 in the charge loop and closes it again (machines/v2g-evse/s2-open.ts).
    { type: 'session.s2', closed: false },
    { type: 'session.s2', closed: true },
  ];
  const endings = [
    st('EvseStopChargingRequested', { timeoutMs: 5000, renegotiation: false }),
    st('EvseWeldingDetectionStarted'),
    st('EvseSessionError', { errorCode: 16 }),
    st('EvseSessionStopped', { closureType: 0 }),
    // The EV paused (18.12.13 closure type 1): from any state, output 0 and the session ends.
    st('EvseSessionStopped', { closureType: 1 }),
    { type: 'session.abort', reason: 'unplugged' },
  ];
  const clock0 = new VirtualClock();
  const input = { client: new StubHciClient(clock0), clock: clock0, config: evseConfig(), policy: { mode: 'acceptAll' } as AuthorizationPolicy };
  const reach = getShortestPaths(v2gEvseSessionMachine, {
    input,
    events: [...flowEvents, ...endings] as never,
    serializeState: (s) => JSON.stringify(s.value),
  });
  const label = (e: { type: string; fields?: { closureType?: number } }) => `${e.type.replace('V2g.Evse', '')}${e.fields?.closureType === 1 ? '(pause)' : ''}`;
  const cases = reach.flatMap((p) => {
    const steps = p.steps.map((s) => s.event as { type: string }).filter((e) => e.type !== 'xstate.init');
    if (p.state.status === 'done') return [{ steps, name: steps.map(label).join(' > ') }];
    return endings.map((end) => {
      const all = [...steps, end];
      return { steps: all, name: all.map(label).join(' > ') };
    });
  });

  it('reaches every session state', () => {
    const values = reach.map((p) => JSON.stringify(p.state.value));
    expect(values.some((v) => v.includes('"energyTransfer":"preCharge"'))).toBe(true);
    expect(values.some((v) => v.includes('"energyTransfer":{"charging":"s2Closed"}'))).toBe(true);
    expect(values.some((v) => v.includes('"charging":"s2Open"'))).toBe(true);
    expect(values.some((v) => v.includes('"updater":"running"'))).toBe(true);
    expect(values.some((v) => v.includes('postCharge'))).toBe(true);
    expect(values).toContain('"done"');
  });

  for (const c of cases) {
    it(c.name, async () => {
      const clock = new VirtualClock();
      const client = new StubHciClient(clock);
      const config = evseConfig();
      const h = harness(v2gEvseSessionMachine, { client, clock, config, policy: { mode: 'acceptAll' } }, clock, [
        { systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } },
      ]);
      const session = () => h.child()?.getSnapshot() as { status: string; matches(v: unknown): boolean } | undefined;
      const inTransfer = () => session()?.status === 'active' && (session()?.matches({ session: { phase: 'energyTransfer' } }) ?? false);
      const charger = () => (h.system.get('charger')?.getSnapshot() as { context: Parameters<typeof commandedOutput>[0] }).context;
      await flushMicrotasks();
      for (const e of c.steps) {
        const before = client.sent.length;
        const wasInTransfer = inTransfer();
        if (e.type.startsWith('V2g.')) {
          const s = e as ReturnType<typeof st>;
          client.status(s.type as `V2g.${string}`, s.fields);
        } else if (e.type === 'session.abort') {
          h.send(e);
        }
        await flushMicrotasks();
        await clock.runUntil(() => false, 300, 50);
        const cmd = commandedOutput(charger());
        if (!inTransfer()) expect(cmd, `after ${e.type}`).toEqual({ voltageV: 0, currentA: 0 });
        if (wasInTransfer && !inTransfer()) expect(client.names().slice(before), `leaving energy transfer on ${e.type}`).toContain('V2g.EvseStopCharging');
      }
    });
  }
});
