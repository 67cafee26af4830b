/**
 * EVSE session, charge loop (18.10.4/18.10.7, 18.12.6-18.12.10, 18.10.19/20): EV parameters to
 * the charger, parameter updates, cable check, energy transfer start/stop (the safety exits),
 * metering receipts, renegotiation, run-time limits, stops on an EV error or operator request.
 */
import { V2g } from '../../codec/catalog.js';
import { EV_ERROR_CODES, enumName } from '../../codec/modules/v2g/common.js';
import { CableCheckResult } from '../../codec/modules/v2g/evse.js';
import { type CableCheckEvent, cableCheckTimeoutMs } from '../cable-check.js';
import { acPhases } from '../ev-ac.js';
import { UNEXPECTED_MESSAGE, sendCommand } from '../hci-actors.js';
import { logEvent, stationRelay } from '../station-events.js';
import { chargerEvOf, dcParametersLog, evReportOf } from './parameters.js';
import type { StartChargingProbeTaken } from './start-charging-probe.js';
import { noteUpdateSent, updateCommand } from './updates.js';
import { type EvseSessionCommand, WRONG_STATE, act, at, chargerOf, command, f, isDc, limitsOf, num, presentOutput, sendCharger, toParent } from './common.js';

export const chargeActions = {
  /** In energy transfer the status child mostly does this in place (parameters.ts): keep the two alike. */
  dcParametersChanged: act(({ enqueue, self, event, system }) => {
    const fields = f(event);
    enqueue.assign(evReportOf(fields));
    const log = dcParametersLog(fields);
    // One a message: straight to the station's listeners where it has a relay (station-events.ts).
    const relay = stationRelay(system);
    if (relay) enqueue(() => relay(log.event));
    else toParent(enqueue, self, log);
    sendCharger(enqueue, system, chargerEvOf(fields));
    if (num(fields.errorCode) > 0) toParent(enqueue, self, logEvent('EVSE', `EV reports error code ${String(fields.errorCode)}`, 'warn'));
  }),
  acParametersChanged: act(({ enqueue, self, context, event, system }) => {
    const fields = f(event);
    const maxCurrentA = num(fields.maxCurrentA);
    enqueue.assign({ evMaxCurrentA: maxCurrentA });
    toParent(enqueue, self, logEvent('EVSE', '"AC Charge Parameters Changed" received', 'info', fields));
    const limits = { maxVoltageV: num(fields.maxVoltageV), maxCurrentA };
    const c = context.config.charger;
    // AC: the EV draws what it may at the nominal voltage, on each of its phases (the charger
    // model carries the sum; the EV's power limit from mode selection still applies).
    const currentA = Math.min(limitsOf(context).maxCurrentA, maxCurrentA) * acPhases(context.energyTransferMode);
    sendCharger(enqueue, system, { type: 'charger.ev', limits: { maxVoltageV: limits.maxVoltageV }, voltageV: c.maxVoltageV, currentA });
  }),
  /** Update DC/AC Charging Parameters with the present output (18.10.4 / 18.10.7), answering a status message. */
  sendUpdate: act(({ enqueue, self, context, event, system }) => {
    const warning = noteUpdateSent(context);
    if (warning) toParent(enqueue, self, logEvent('EVSE', warning, 'warn'));
    sendCommand(enqueue, self, updateCommand(context, system, at(event)));
  }),
  /** The answer waits for the power stage's isolation result (cable-check.ts). */
  cableCheckRequested: act(({ enqueue, self, event, system }) => {
    toParent(enqueue, self, logEvent('EVSE', '"Request Cable Check Status" received'));
    const stage = chargerOf(system)?.getSnapshot().context.powerStage;
    enqueue.assign({ cableCheckTimeoutMs: cableCheckTimeoutMs(num(f(event).timeoutMs), stage?.isolationTimeoutMs) });
    sendCharger(enqueue, system, { type: 'charger.cableCheck', on: true });
  }),
  /** Set Cable Check Finished: succeeded on valid/warning; a fault or no result fails it and ends the session. */
  answerCableCheck: act<{ result: CableCheckEvent['result'] | 'none' }>(({ enqueue, self, context }, p) => {
    const passed = p.result === 'valid' || p.result === 'warning';
    if (passed) {
      enqueue.assign({ cableCheckDone: true });
      if (p.result === 'warning') toParent(enqueue, self, logEvent('EVSE', 'Cable check: isolation warning, charging allowed', 'warn'));
    } else {
      const why = p.result === 'fault' ? 'isolation fault' : `no isolation result within ${context.cableCheckTimeoutMs} ms`;
      toParent(enqueue, self, logEvent('EVSE', `Cable check failed (${why}): ending the session`, 'error'));
      if (!context.stopReason) enqueue.assign({ stopReason: p.result === 'fault' ? 'isolationFault' : 'isolationTimeout' });
    }
    const result = passed ? CableCheckResult.succeeded : CableCheckResult.failed;
    sendCommand(enqueue, self, command(V2g.EvseSetCableCheckFinished, { result }, 'cableCheck'));
  }),
  startEnergyTransfer: act(({ enqueue, context, event, system }) => {
    enqueue.assign({ stopChargingSent: false, energyFlowing: true });
    // The gap is measured between updates while energy flows: from the first one in it.
    enqueue(() => {
      context.updates.lastUpdateAt = undefined;
    });
    // The pre-charge cap before the start, so no command goes out without it (charger-gates.ts);
    // only Start Charging Requested (AC, no pre-charge) starts without it.
    sendCharger(enqueue, system, { type: 'charger.preCharge', on: event.type !== 'V2g.EvseStartChargingRequested' });
    sendCharger(enqueue, system, { type: 'charger.start' });
  }),
  /** Pre-charge is over (PowerDelivery Start): the current follows the EV's target again. */
  endPreCharge: act(({ enqueue, system }) => sendCharger(enqueue, system, { type: 'charger.preCharge', on: false })),
  /** The safety exit: output 0 and EvseStopCharging (answering the stop request if there was one). */
  stopEnergyTransfer: act(({ enqueue, self, context, event, system }) => {
    sendCharger(enqueue, system, { type: 'charger.stop' });
    enqueue.assign({ energyFlowing: false });
    if (!context.stopChargingSent) {
      enqueue.assign({ stopChargingSent: true });
      sendCommand(enqueue, self, command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }
  }),
  ensureStopCharging: act(({ enqueue, self, context, event, system }) => {
    sendCharger(enqueue, system, { type: 'charger.stop' });
    if (!context.stopChargingSent) {
      enqueue.assign({ stopChargingSent: true });
      sendCommand(enqueue, self, command(V2g.EvseStopCharging, {}, 'stopCharging', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
    }
  }),
  startChargingRequested: act(({ enqueue, self, event }) => {
    const fields = f(event);
    toParent(enqueue, self, logEvent('EVSE', '"Start Charging Requested" received', 'info', fields));
    toParent(enqueue, self, logEvent('EVSE', `Schedule tuple ID: ${String(fields.scheduleTupleId)}`));
    sendCommand(enqueue, self, command(V2g.EvseStartCharging, {}, 'startCharging', at(event)));
  }),
  /** Start Charging Requested was lost and the probe's Start Charging taken (start-charging-probe.ts). */
  startChargingProbeTaken: act(({ enqueue, self, event }) => {
    const { afterMs } = event as StartChargingProbeTaken;
    const text = `"Start Charging Requested" lost: the module took Start Charging offered ${afterMs} ms after the car's last pre-charge request`;
    toParent(enqueue, self, logEvent('EVSE', text, 'warn'));
  }),
  meterReceipt: act(({ enqueue, self, context, system }) => {
    if (!context.config.meterReceipt) return;
    const out = presentOutput(system, context.clock.now());
    sendCommand(
      enqueue,
      self,
      command(
        V2g.EvseSetMeterReceiptRequest,
        {
          meterId: context.config.evseId.slice(0, 32),
          meterReadingWh: Math.round(out.energyWh),
          meterReadingSignature: new Uint8Array(0),
          meterStatus: undefined,
          meterTimestampS: Math.floor(context.clock.now() / 1000),
        },
        'meterReceipt',
      ),
    );
  }),
  /** EVSENotification ReNegotiation (18.10.20): the EV answers with Stop Charging (renegotiate). */
  askRenegotiation: act(({ enqueue, self, event }) => {
    const reason = (event as Extract<EvseSessionCommand, { type: 'session.renegotiate' }>).reason;
    toParent(enqueue, self, logEvent('EVSE', `Renegotiation requested (${reason}): notifying the EV`));
    sendCommand(enqueue, self, command(V2g.EvseSendNotification, { renegotiation: true, timeoutS: 1 }, 'notification', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
  }),
  setLimits: act(({ enqueue, self, context, event, system }) => {
    const { type: _, ...given } = event as Extract<EvseSessionCommand, { type: 'session.setLimits' }>;
    const limits = { ...context.limits, ...given };
    enqueue.assign({ limits });
    const now = limitsOf({ config: context.config, limits });
    toParent(enqueue, self, logEvent('EVSE', `Limits now ${now.maxPowerW} W, ${now.maxCurrentA} A: the next parameter update carries them`));
    // AC: the charger model carries the current summed over the phases.
    const phases = isDc(context.energyTransferMode) ? 1 : acPhases(context.energyTransferMode);
    sendCharger(enqueue, system, { type: 'charger.limits', maxPowerW: now.maxPowerW, maxCurrentA: now.maxCurrentA * phases });
  }),
  /**
   * An EV error while charging: no more current, and ask the EV to stop (EVSENotification
   * StopCharging, 18.10.20); its PowerDelivery stop then ends the transfer the normal way.
   */
  stopForEvFault: act(({ enqueue, self, event, system }) => {
    const code = num(f(event).errorCode);
    const name = enumName(EV_ERROR_CODES, code);
    toParent(enqueue, self, logEvent('EVSE', `EV error ${code} (${name}) while charging: output to 0, asking the EV to stop`, 'warn'));
    enqueue.assign({ evFaultHandled: true, stopReason: `evError:${name}` });
    // Stopped, not targets 0: the car's next DC Charge Parameters Changed would set them again (evse-stop-hold.test.ts).
    sendCharger(enqueue, system, { type: 'charger.stop' });
    sendCommand(enqueue, self, command(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 1 }, 'notification', at(event), [UNEXPECTED_MESSAGE, WRONG_STATE]));
  }),
  /** The operator stops charging: output to 0 and EVSENotification StopCharging (18.10.20). */
  stopOnRequest: act(({ enqueue, self, context, event, system }) => {
    if (context.evFaultHandled) return;
    const reason = (event as Extract<EvseSessionCommand, { type: 'session.stopCharging' }>).reason;
    toParent(enqueue, self, logEvent('EVSE', `Stop charging requested (${reason}): output to 0, asking the EV to stop`));
    enqueue.assign({ evFaultHandled: true, stopReason: reason });
    // Stopped, not targets 0: the car's next DC Charge Parameters Changed would set them again (evse-stop-hold.test.ts).
    sendCharger(enqueue, system, { type: 'charger.stop' });
    sendCommand(enqueue, self, command(V2g.EvseSendNotification, { renegotiation: false, timeoutS: 1 }, 'notification', undefined, [UNEXPECTED_MESSAGE, WRONG_STATE]));
  }),
};
