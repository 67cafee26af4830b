/**
 * EVSE session, the end (18.12.11, 18.12.13, 18.12.14, 18.12.17): the EV's stop request
 * (renegotiation or stop), Session Stopped with its closure type (pause keeps it resumable),
 * session errors, module failures, aborts and Stop Listen.
 */
import { V2g } from '../../codec/catalog.js';
import { EVSE_SESSION_ERRORS, enumName } from '../../codec/modules/v2g/common.js';
import { type CommanderEvent, UNEXPECTED_MESSAGE, sendCommand } from '../hci-actors.js';
import { HciError } from '../hci-types.js';
import { logEvent } from '../station-events.js';
import { type StatusWatchdogEvent, noModuleStatus } from '../status-watchdog.js';
import { type EvseSessionCommand, WRONG_STATE, act, command, f, num, toParent } from './common.js';
import { S2_OPEN_END_MS } from './s2-open.js';

export const stopActions = {
  stopChargingRequested: act(({ enqueue, self, context, event }) => {
    const fields = f(event);
    toParent(enqueue, self, logEvent('EVSE', '"Request Stop Charging" received', 'info', fields));
    if (fields.renegotiation === true) {
      // The session goes on: schedules again, then a new Start Charging Requested.
      toParent(enqueue, self, logEvent('EVSE', 'Renegotiation: new schedules follow'));
      enqueue.assign({ renegotiations: context.renegotiations + 1 });
      return;
    }
    if (!context.stopReason) enqueue.assign({ stopReason: 'evStopped' });
  }),
  meteringReceiptStatus: act(({ enqueue, self, event }) => toParent(enqueue, self, logEvent('EVSE', `Metering receipt status: ${f(event).status ? 'verified' : 'not verified'}`))),
  sessionStopped: act(({ enqueue, self, context, event }) => {
    const closure = f(event).closureType === 1 ? 'pause' : 'terminate';
    enqueue.assign({ closure });
    toParent(enqueue, self, logEvent('EVSE', '"Session stopped" received', 'info', { closureType: closure }));
    toParent(enqueue, self, logEvent('EVSE', `Closure type: ${closure}`));
    // 18.12.13 closure type 1: "Session can be resumed later on" (ISO 15118-2 8.4.1, Sevenstax/FreeV2G#21).
    // The EV's own stop request set `evStopped` just before: a pause is what it was.
    if (closure === 'pause' && (context.stopReason === undefined || context.stopReason === 'evStopped')) enqueue.assign({ stopReason: 'paused' });
    else if (!context.stopReason) enqueue.assign({ stopReason: 'sessionStopped' });
  }),
  sessionError: act(({ enqueue, self, event }) => {
    const code = num(f(event).errorCode);
    const name = enumName(EVSE_SESSION_ERRORS, code);
    toParent(enqueue, self, logEvent('EVSE', '"Session Error" received'));
    toParent(enqueue, self, logEvent('EVSE', `Session error: ${code}: ${name}`, 'error'));
    enqueue.assign({ error: { code, name } });
  }),
  /**
   * The module no longer carries the session: it stopped answering (timeouts with nothing
   * received), or it answers an update with 0x11 (it restarted and has no session). Named in
   * the record; the exits then put the output to 0.
   */
  moduleFailed: act(({ enqueue, self, event }) => {
    const e = event as Extract<CommanderEvent, { type: 'hci.failed' }>;
    const name = e.moduleSilent ? 'moduleNotResponding' : 'moduleLostSession';
    toParent(enqueue, self, logEvent('EVSE', `Module failure (${name}): ${e.error.message}; output to 0`, 'error'));
    enqueue.assign({ error: { name, detail: e.error.message, ...(e.error instanceof HciError && e.error.code !== undefined ? { code: e.error.code } : {}) } });
  }),
  /** Issue 9 item 4: the wait for the module ended by the watchdog (machines/status-watchdog.ts). */
  noModuleStatus: act(({ enqueue, self, event }) => {
    const n = noModuleStatus((event as StatusWatchdogEvent).boundMs);
    toParent(enqueue, self, logEvent('EVSE', n.text, 'error'));
    enqueue.assign({ error: n.error });
  }),
  aborted: act(({ enqueue, self, context, event }) => {
    const reason = (event as Extract<EvseSessionCommand, { type: 'session.abort' }>).reason;
    toParent(enqueue, self, logEvent('EVSE', `Session aborted: ${reason}`, 'warn'));
    if (!context.stopReason) enqueue.assign({ stopReason: reason });
  }),
  /** The EV kept S2 open (CP B) in the charge loop (s2-open.ts says why that ends the session). */
  evLeftStateC: act(({ enqueue, self, context }) => {
    toParent(enqueue, self, logEvent('EVSE', `The EV kept S2 open (CP state B) for ${S2_OPEN_END_MS / 1000} s in the charge loop with no stop request: ending the session`, 'warn'));
    if (!context.stopReason) enqueue.assign({ stopReason: 'evLeftStateC' });
  }),
  evseStopListen: act(({ enqueue, self }) => {
    sendCommand(enqueue, self, command(V2g.EvseStopListen, {}, 'stopListen', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
  }),
};
