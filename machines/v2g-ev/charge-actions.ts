/**
 * EV session, charging and its end (18.11.8-18.11.14, 18.9.13-18.9.15): start when the EVSE's
 * output suits the battery, the charge loop's updates along the profile, stop at the target SOC
 * or on request (renegotiation included), notifications, Charging/Session Stopped, errors.
 */
import { V2g } from '../../codec/catalog.js';
import { EV_SESSION_ERRORS, enumName } from '../../codec/modules/v2g/common.js';
import { hostNow } from '../../util/clock.js';
import { currentForPower, reportedSoc } from '../battery.js';
import { acCurrentPerPhaseA, acParameters, acPhases } from '../ev-ac.js';
import { sendCommand } from '../hci-actors.js';
import { logEvent } from '../station-events.js';
import { dcLoopUpdate, updateGapOf } from './charge-loop.js';
import type { EvStopDone } from './stop.js';
import { stopSessionTakenNotice } from './stop-taken.js';
import { type EvSessionCommand, TOLERATE, act, at, batteryNow, command, dcParameters, f, isDc, num, profilePowerW, sendBattery, sendCp } from './common.js';

/**
 * Once the EVSE has taken the stop, the module reports Charging Stopped and then Post Charging
 * Ready and waits for Stop Session. With both statuses lost on the link the host stayed in
 * `charging` for ever, the module waiting, the EVSE in post charge re-armed by each welding
 * detection request (fuzz campaign seeds 19954 23588 23787 27968 29864 36725 49887: no record
 * after 900 s). 10 s covers Stop Charging's resends (1 s timeout each) and the V2G round trips.
 */
export const STOP_UNCONFIRMED_MS = 10_000;
export const STOP_UNCONFIRMED_ID = 'stopUnconfirmed';

type Enqueue = Parameters<Parameters<typeof act>[0]>[0]['enqueue'];
type Self = Parameters<Parameters<typeof act>[0]>[0]['self'];

/** EvStopCharging to the module, and the bound on its confirmation (above). */
function sendStopCharging(enqueue: Enqueue, self: Self, renegotiation: boolean, atMs?: number): void {
  sendCommand(enqueue, self, command(V2g.EvStopCharging, { renegotiation }, 'stopCharging', atMs, TOLERATE));
  enqueue.raise({ type: 'session.stopUnconfirmed' }, { id: STOP_UNCONFIRMED_ID, delay: STOP_UNCONFIRMED_MS });
}

export const chargeActions = {
  /**
   * State C before Start Charging ([V2G2-847], v2g-ev-session.ts `closingS2`). DC switched to it
   * before the cable check and the CP service confirms it at once; AC switches now (the reference
   * before its session), and so does a renegotiated DC session (back in B since Charging Stopped,
   * no cable check this time). No CP service (a bare session in tests): nothing to wait for.
   */
  askStateC: act(({ enqueue, system }) => {
    if (system.get('cp')) sendCp(enqueue, system, 'C');
    else enqueue.raise({ type: 'cp.resistorSet', level: 'C' });
  }),
  startCharging: act(({ enqueue, self, event }) => {
    enqueue.sendParent(logEvent('EV', 'Start charging: EVSE output within the battery limits'));
    sendCommand(enqueue, self, command(V2g.EvStartCharging, {}, 'startCharging', at(event)));
  }),
  chargingStarted: act(({ enqueue, context, system }) => {
    enqueue.assign({ chargingStartedAt: context.clock.now(), stopChargingSent: false, renegotiating: false, lastUpdateAt: undefined });
    enqueue.sendParent(logEvent('EV', '"Charging Started" received'));
    sendBattery(enqueue, system, { type: 'battery.charging', on: true });
  }),
  /** Periodic update while charging: follow the profile's power, report SOC, stop at target. */
  chargeTick: act(({ enqueue, self, context, event, system }) => {
    const now = context.clock.now();
    const b = batteryNow(system, context.config.battery, now);
    const soc = reportedSoc(b);
    enqueue.assign(updateGapOf(context, hostNow()));
    if (soc >= context.config.targetSocPercent) {
      if (!context.stopChargingSent) {
        enqueue.sendParent(logEvent('EV', 'charging done'));
        // The SOC that ended the charge goes out once more, so the EVSE sees it (its record, display).
        if (isDc(context.energyTransferMode)) {
          sendCommand(enqueue, self, command(V2g.EvUpdateDcChargingParameters, dcParameters(b, context.targetCurrentA), 'update', at(event)));
        }
        enqueue.assign({ stopChargingSent: true, stopReason: 'targetSocReached' });
        sendStopCharging(enqueue, self, false);
      }
      return;
    }
    if (isDc(context.energyTransferMode)) {
      // Below the target the timer mostly does this in place (charge-loop.ts tickInPlace).
      const { targetCurrentA, request } = dcLoopUpdate(context, b, now, at(event));
      enqueue.assign({ targetCurrentA });
      sendCommand(enqueue, self, request);
    } else {
      const elapsedS = (now - (context.chargingStartedAt ?? now)) / 1000;
      const powerW = profilePowerW(context.profile, elapsedS, context.config.battery.maxPowerW);
      enqueue.assign({ targetCurrentA: currentForPower(b, powerW) });
      // AC: the car says how much it takes now (its maximum current per phase) and draws it.
      const phases = acPhases(context.energyTransferMode);
      const nominalVoltageV = context.acNominalVoltageV ?? 0;
      const currentA = acCurrentPerPhaseA({ nominalVoltageV, maxCurrentA: context.acMaxCurrentA ?? 0 }, context.config.battery, powerW, phases);
      sendBattery(enqueue, system, { type: 'battery.input', voltageV: nominalVoltageV, currentA: currentA * phases });
      enqueue.assign({ peakVoltageV: Math.max(context.peakVoltageV, nominalVoltageV), peakCurrentA: Math.max(context.peakCurrentA, currentA * phases) });
      sendCommand(enqueue, self, command(V2g.EvUpdateAcChargingParameters, acParameters(context.config.battery, currentA), 'update', at(event)));
    }
  }),
  requestStop: act(({ enqueue, self, context }, p: { reason: string; renegotiation?: boolean }) => {
    if (context.stopChargingSent) return;
    const renegotiating = p.renegotiation === true;
    enqueue.assign({ stopChargingSent: true, renegotiating, ...(context.stopReason || renegotiating ? {} : { stopReason: p.reason }) });
    if (renegotiating) enqueue.sendParent(logEvent('EV', `Renegotiation requested (${p.reason})`));
    sendStopCharging(enqueue, self, p.renegotiation ?? false);
  }),
  notification: act(({ enqueue, self, context, event }) => {
    const fields = f(event);
    const renegotiation = num(fields.type) === 1;
    enqueue.sendParent(logEvent('EV', '"Notification Received" received', 'info', fields));
    enqueue.sendParent(logEvent('EV', `Type : ${renegotiation ? 'renegotiation' : 'stop charging'}`));
    if (context.stopChargingSent) return;
    // 21.9.6: both answers go through Stop Charging, with the renegotiation flag.
    enqueue.assign({ stopChargingSent: true, renegotiating: renegotiation, ...(renegotiation ? {} : { stopReason: 'evseRequestedStop' }) });
    sendStopCharging(enqueue, self, renegotiation, at(event));
  }),
  chargingStopped: act(({ enqueue, system }) => {
    enqueue.sendParent(logEvent('EV', '"Charging Stopped" received'));
    sendBattery(enqueue, system, { type: 'battery.charging', on: false });
    sendCp(enqueue, system, 'B');
  }),
  /** Stop Session; its answer 0 is told to the session (v2g-ev/stop-taken.ts). */
  stopSession: act(({ enqueue, self, event }) => {
    sendCommand(enqueue, self, { ...command(V2g.EvStopSession, {}, 'stopSession', at(event), TOLERATE), onAnswer: stopSessionTakenNotice(self) });
  }),
  sessionStopped: act(({ enqueue, context, system }) => {
    enqueue.sendParent(logEvent('EV', '"Session Stopped" received'));
    if (!context.stopReason) enqueue.assign({ stopReason: 'sessionStopped' });
    sendBattery(enqueue, system, { type: 'battery.charging', on: false });
    sendCp(enqueue, system, 'B');
  }),
  sessionError: act(({ enqueue, event, system }) => {
    const code = num(f(event).code);
    const name = enumName(EV_SESSION_ERRORS, code);
    enqueue.sendParent(logEvent('EV', '"Session Error" received'));
    enqueue.sendParent(logEvent('EV', `Error code: ${code} - "${name}"`, 'error'));
    enqueue.assign({ error: { code, name } });
    sendBattery(enqueue, system, { type: 'battery.charging', on: false });
    sendCp(enqueue, system, 'B');
  }),
  aborted: act(({ enqueue, context, event, system }) => {
    const reason = (event as Extract<EvSessionCommand, { type: 'session.abort' }>).reason;
    enqueue.sendParent(logEvent('EV', `Session aborted: ${reason}`, 'warn'));
    if (!context.stopReason) enqueue.assign({ stopReason: reason });
    sendBattery(enqueue, system, { type: 'battery.charging', on: false });
    sendCp(enqueue, system, 'B');
  }),
  /** One Stop Charging per session end (issue 12 item 12): an unanswered one is the station's to send again. */
  stopChargingUnanswered: act(({ enqueue }) => {
    enqueue.assign({ stopChargingUnanswered: true });
    enqueue.sendParent({ type: 'session.stopChargingOwed' });
  }),
  /** What the module answered to the stop of a session ended while charging (v2g-ev/stop.ts). */
  logStopNotes: act(({ enqueue, event }) => {
    for (const note of (event as EvStopDone).notes) enqueue.sendParent(logEvent('EV', `Stopping: ${note}`));
  }),
};
