/**
 * Control Pilot service (manual chapter 15) as an XState machine: `stopped` / `running`, with
 * the EVSE's PWM duty cycle or the EV's resistor level in context. The virtual cable turns both
 * sides' outputs into the IEC 61851-1 state each side measures; this service reports changes
 * (StateChanged 15.5.2, DutyCycleChanged 15.5.1 on the EV with its threshold).
 */
import { assign, createActor, setup } from 'xstate';
import { CP_STATES, type CpStateName, ControlPilot } from '../../codec/modules/control-pilot.js';
import { ResultCode } from '../../codec/message.js';
import { type ModuleContext, type Service, fail, ok } from '../module.js';

interface CpContext {
  dutyCyclePermill: number;
  level: 0 | 1 | 2;
  thresholdPermill: number;
}

type CpEvent = { type: 'START' } | { type: 'STOP' } | { type: 'SET_DUTY'; permill: number } | { type: 'SET_LEVEL'; level: 0 | 1 | 2 } | { type: 'SET_THRESHOLD'; permill: number };

/** Power-on values (15.4.3): 100 % PWM (X1), resistor level 0 (2.74 kOhm only). */
const DEFAULTS: CpContext = { dutyCyclePermill: 1000, level: 0, thresholdPermill: 10 };

export const cpMachine = setup({
  types: { context: {} as CpContext, events: {} as CpEvent },
  actions: {
    storeDuty: assign({ dutyCyclePermill: ({ event }) => (event.type === 'SET_DUTY' ? event.permill : 1000) }),
    storeLevel: assign({ level: ({ event }) => (event.type === 'SET_LEVEL' ? event.level : 0) }),
    storeThreshold: assign({ thresholdPermill: ({ event, context }) => (event.type === 'SET_THRESHOLD' ? event.permill : context.thresholdPermill) }),
    /** 15.4.4: stopping returns to the default duty cycle and resistor level. */
    restoreDefaults: assign({ dutyCyclePermill: DEFAULTS.dutyCyclePermill, level: DEFAULTS.level }),
  },
}).createMachine({
  id: 'controlPilot',
  context: { ...DEFAULTS },
  initial: 'stopped',
  on: {
    SET_DUTY: { actions: 'storeDuty' },
    SET_LEVEL: { actions: 'storeLevel' },
    SET_THRESHOLD: { actions: 'storeThreshold' },
  },
  states: {
    stopped: { on: { START: 'running' } },
    running: { on: { STOP: { target: 'stopped', actions: 'restoreDefaults' } } },
  },
});

/** 15.4.12: AD value for the CP voltage of a state (U = AD * 0.007172 - 14.84). */
const STATE_VOLTAGE: Record<CpStateName, number> = { A: 12, B: 9, C: 6, D: 3, E: 0, F: -12, unknown: 0 };
export const adValueOf = (state: CpStateName): number => Math.round((STATE_VOLTAGE[state] + 14.84) / 0.007172);

const stateCode = (s: CpStateName): number => CP_STATES.indexOf(s);

export function createControlPilotService(ctx: ModuleContext): Service {
  const { role, cable } = ctx;
  let actor = createActor(cpMachine, { clock: ctx.clock }).start();
  const idleState: CpStateName = role === 'EVSE' ? 'A' : 'E';
  let reportedState: CpStateName = idleState;
  let notifiedDuty = 0;

  const running = (): boolean => actor.getSnapshot().matches('running');
  const context = (): CpContext => actor.getSnapshot().context;
  const measured = (): CpStateName => (role === 'EVSE' ? cable.evseCpState : cable.evCpState);

  /** Drives the cable from this side's machine context. */
  const drive = (): void => {
    if (role === 'EVSE') cable.setEvseCp({ started: running(), dutyCyclePermill: context().dutyCyclePermill });
    else cable.setEvCp({ started: running(), level: context().level });
  };

  const observe = (): void => {
    if (!running()) return;
    const s = measured();
    if (s !== reportedState) {
      reportedState = s;
      // EVSE V02_00_01 measures the change but does not report it (Sevenstax/FreeV2G#90).
      if (ctx.quirks.sendsCpStateChanged) ctx.emit(ControlPilot.StateChanged, { state: stateCode(s) });
    }
    if (role === 'EV') {
      const duty = cable.evDutyCyclePermill;
      if (duty !== notifiedDuty && Math.abs(duty - notifiedDuty) >= context().thresholdPermill) {
        notifiedDuty = duty;
        ctx.emit(ControlPilot.DutyCycleChanged, { dutyCyclePermill: duty });
      }
    }
  };
  const off = cable.onChange(observe);

  const send = (e: CpEvent): void => {
    actor.send(e);
    drive();
  };

  return {
    module: 'ControlPilot',
    handlers: {
      /** 15.4.1: only this module's own role; busy while running. */
      SetMode: (m) => {
        const want = m.fields.mode === 1 ? 'EVSE' : 'EV';
        if (want !== role) return fail(ResultCode.unexpectedMessage);
        return running() ? fail(ResultCode.busy) : ok();
      },
      GetMode: () => ok({ mode: role === 'EVSE' ? 1 : 0 }),
      Start: () => {
        if (running()) return fail(ResultCode.unexpectedMessage);
        reportedState = idleState;
        notifiedDuty = 0;
        send({ type: 'START' });
        return ok();
      },
      Stop: () => {
        if (!running()) return fail(ResultCode.unexpectedMessage);
        send({ type: 'STOP' });
        return ok();
      },
      SetDutyCycle: (m) => {
        send({ type: 'SET_DUTY', permill: m.fields.dutyCyclePermill as number });
        return ok();
      },
      GetDutyCycle: () => ok({ dutyCyclePermill: role === 'EVSE' ? context().dutyCyclePermill : cable.evDutyCyclePermill }),
      SetResistorLevel: (m) => {
        send({ type: 'SET_LEVEL', level: m.fields.level as 0 | 1 | 2 });
        return ok();
      },
      GetResistorLevel: () => ok({ level: context().level }),
      GetState: () => ok({ state: stateCode(measured()) }),
      SetDutyCycleNotificationThreshold: (m) => {
        send({ type: 'SET_THRESHOLD', permill: m.fields.thresholdPermill as number });
        return ok();
      },
      GetDutyCycleNotificationThreshold: () => ok({ thresholdPermill: context().thresholdPermill }),
      GetCpAdValue: () => ok({ adValue: adValueOf(measured()) }),
    },
    reset() {
      actor.stop();
      actor = createActor(cpMachine, { clock: ctx.clock }).start();
      reportedState = idleState;
      drive();
    },
    close() {
      off();
      actor.stop();
    },
  };
}
