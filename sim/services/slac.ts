/**
 * SLAC service (manual chapter 16) as an XState machine per module. Matching succeeds when the
 * EV attempts it while the cable is plugged and the EVSE is inside its 50 s matching window
 * (16.4.5); each side then reports SlacSuccess (16.3.1), the EV alone SlacFailed (16.3.2) for a
 * failed attempt, the EVSE SlacFailed when its window closes unmatched. Scenario
 * `ev.slacFailures` makes the first N attempts after a plug-in fail.
 */
import { assign, createActor, setup } from 'xstate';
import { Slac, SlacResultCode, SlacState } from '../../codec/modules/slac.js';
import { ResultCode } from '../../codec/message.js';
import { type ModuleContext, type Service, fail, ok } from '../module.js';

/** 16.4.5: the EVSE stays ready for matching this long. */
export const EVSE_MATCHING_WINDOW_MS = 50_000;
/** Time the SLAC firmware takes to come up after Start SLAC (the reference waits ~2 s). */
export const SLAC_STARTUP_MS = 500;
const POLL_MS = 100;

type SlacEvent = { type: 'START' } | { type: 'STOP' } | { type: 'MATCH' } | { type: 'MATCHED' } | { type: 'UNPLUGGED' } | { type: 'LINK_LOST' };

/** What a SLAC actor is started with: its module and the scenario's scripted failures. */
interface SlacInput {
  ctx: ModuleContext;
  attemptFails: () => boolean;
}

interface SlacContext extends SlacInput {
  /** Start Matching arrived while the firmware was still starting. */
  matchPending: boolean;
  /** When the current EV attempt began waiting for the EVSE. */
  waitStartedAt: number;
}

/**
 * One definition per role and process, the module passed as input: XState's per-state-node caches
 * stay warm across modules and sessions (docs/performance.md, issue 12 target 4).
 */
const slacSetup = setup({
  types: { context: {} as SlacContext, events: {} as SlacEvent, input: {} as SlacInput },
  delays: {
    startup: SLAC_STARTUP_MS,
    evseWindow: EVSE_MATCHING_WINDOW_MS,
    poll: POLL_MS,
    sounding: ({ context }) => context.ctx.scenario.ev.slacMatchMs,
  },
  guards: {
    matchPending: ({ context }) => context.matchPending,
    evseReady: ({ context }) => context.ctx.cable.canMatch,
    waitedTooLong: ({ context }) => context.ctx.clock.now() - context.waitStartedAt >= context.ctx.scenario.ev.slacWaitMs,
    attemptSucceeds: ({ context }) => context.ctx.cable.canMatch && !context.attemptFails(),
  },
  actions: {
    rememberMatch: assign({ matchPending: true }),
    forgetMatch: assign({ matchPending: false }),
    openWindow: ({ context }) => context.ctx.cable.setEvseMatching(true),
    // Only the EVSE owns the matching window: an EV stopping its SLAC must not close it.
    closeWindow: ({ context }) => {
      if (context.ctx.role === 'EVSE') context.ctx.cable.setEvseMatching(false);
    },
    startWaiting: assign({ waitStartedAt: ({ context }) => context.ctx.clock.now() }),
    reportSuccess: ({ context }) => context.ctx.emit(Slac.SlacSuccess),
    reportFailure: ({ context }) => context.ctx.emit(Slac.SlacFailed),
    evMatched: ({ context }) => context.ctx.cable.slacResult(true),
    evFailed: ({ context }) => context.ctx.cable.slacResult(false),
  },
});

/** The machine of a role: the matching state is the EVSE's window or the EV's attempt. */
function slacMachineFor(role: ModuleContext['role']) {
  return slacSetup.createMachine({
    id: 'slac',
    context: ({ input }) => ({ ...input, matchPending: false, waitStartedAt: 0 }),
    initial: 'idle',
    on: { STOP: { target: '.idle', actions: ['closeWindow', 'forgetMatch'] } },
    states: {
      idle: { on: { START: 'starting' } },
      starting: {
        on: { MATCH: { actions: 'rememberMatch' } },
        after: {
          startup: [{ guard: 'matchPending', target: 'matching', actions: 'forgetMatch' }, { target: 'started' }],
        },
      },
      started: { on: { MATCH: 'matching' } },
      matching: role === 'EVSE' ? evseMatching() : evMatching(),
      // The logical network is gone (unplugged, or the other modem restarted and left it): the
      // module can be asked to match again, as after a plug-in.
      ready: { on: { UNPLUGGED: 'started', LINK_LOST: 'started' } },
      failure: { on: { MATCH: 'matching', UNPLUGGED: 'started' } },
    },
  });
}

function evseMatching() {
  return {
    entry: 'openWindow' as const,
    exit: 'closeWindow' as const,
    on: { MATCHED: { target: 'ready', actions: 'reportSuccess' as const } },
    after: { evseWindow: { target: 'failure', actions: 'reportFailure' as const } },
  };
}

function evMatching() {
  return {
    initial: 'waiting',
    entry: 'startWaiting' as const,
    on: { UNPLUGGED: { target: 'failure', actions: 'reportFailure' as const } },
    states: {
      waiting: {
        always: { guard: 'evseReady' as const, target: 'sounding' },
        after: {
          poll: [
            { guard: 'evseReady' as const, target: 'sounding' },
            { guard: 'waitedTooLong' as const, target: '#slac.failure', actions: ['evFailed', 'reportFailure'] as const },
            { target: 'waiting', reenter: true },
          ],
        },
      },
      sounding: {
        after: {
          sounding: [
            { guard: 'attemptSucceeds' as const, target: '#slac.ready', actions: ['evMatched', 'reportSuccess'] as const },
            { target: '#slac.failure', actions: ['evFailed', 'reportFailure'] as const },
          ],
        },
      },
    },
  };
}

const SLAC_MACHINES = { EVSE: slacMachineFor('EVSE'), EV: slacMachineFor('EV') };

const STATE_CODES: Record<string, number> = {
  idle: SlacState.idle,
  starting: SlacState.starting,
  started: SlacState.startedNotRunning,
  matching: SlacState.running,
  ready: SlacState.ready,
  failure: SlacState.failure,
};

export function createSlacService(ctx: ModuleContext): Service {
  const { role, cable } = ctx;
  let failuresLeft = ctx.scenario.ev.slacFailures;
  const attemptFails = (): boolean => {
    if (failuresLeft <= 0) return false;
    failuresLeft--;
    return true;
  };
  const start = () => createActor(SLAC_MACHINES[role], { clock: ctx.clock, input: { ctx, attemptFails } }).start();
  let actor = start();
  let attnRx: Uint8Array = new Uint8Array(58);
  let attnTxRef: Uint8Array = new Uint8Array(58);
  let validation = false;
  let iface = 0;
  let wasPlugged = cable.isPlugged;
  let wasLinked = cable.plcLinkUp;

  const offSlac = cable.onSlac((side, success) => {
    if (side === role && role === 'EVSE' && success) actor.send({ type: 'MATCHED' });
  });
  const offChange = cable.onChange(() => {
    if (wasPlugged && !cable.isPlugged) actor.send({ type: 'UNPLUGGED' });
    if (!wasPlugged && cable.isPlugged) failuresLeft = ctx.scenario.ev.slacFailures;
    wasPlugged = cable.isPlugged;
    if (wasLinked && !cable.plcLinkUp) actor.send({ type: 'LINK_LOST' });
    wasLinked = cable.plcLinkUp;
  });

  const stateName = (): string => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : (Object.keys(v)[0] ?? 'idle');
  };

  return {
    module: 'Slac',
    handlers: {
      SetInterface: (m) => {
        iface = m.fields.index as number;
        return ok();
      },
      GetInterface: () => ok({ index: iface }),
      StartSlac: (m) => {
        if ((m.fields.mode === 1 ? 'EVSE' : 'EV') !== role) return fail(ResultCode.unexpectedMessage);
        if (stateName() !== 'idle') return fail(SlacResultCode.wrongState);
        actor.send({ type: 'START' });
        return ok();
      },
      /** 16.4.4: 0x10 when already stopped or never started. */
      StopSlac: () => {
        if (stateName() === 'idle') return fail(SlacResultCode.wrongState);
        actor.send({ type: 'STOP' });
        return ok();
      },
      StartMatching: () => {
        const s = stateName();
        if (s === 'idle' || s === 'matching' || s === 'ready') return fail(SlacResultCode.wrongState);
        actor.send({ type: 'MATCH' });
        return ok();
      },
      GetState: () => ok({ state: STATE_CODES[stateName()] ?? SlacState.notInitialized }),
      SetAttnRxValues: (m) => {
        attnRx = m.fields.attnRx as Uint8Array;
        return ok();
      },
      GetAttnRxValues: () => ok({ attnRx }),
      SetAttnTxRefValues: (m) => {
        attnTxRef = m.fields.attnTxRef as Uint8Array;
        return ok();
      },
      GetAttnTxRefValues: () => ok({ attnTxRef }),
      SetValidationConfiguration: (m) => {
        validation = m.fields.enabled as boolean;
        return ok();
      },
      GetValidationConfiguration: () => ok({ enabled: validation }),
      /** BCB toggling (21.7) is not simulated: the EV never asks for it, so a result is unexpected. */
      SetBcbToggleResult: () => fail(SlacResultCode.wrongState),
    },
    reset() {
      actor.stop();
      if (role === 'EVSE') cable.setEvseMatching(false);
      actor = start();
      attnRx = new Uint8Array(58);
      attnTxRef = new Uint8Array(58);
      validation = false;
      failuresLeft = ctx.scenario.ev.slacFailures;
    },
    close() {
      offSlac();
      offChange();
      actor.stop();
    },
  };
}
