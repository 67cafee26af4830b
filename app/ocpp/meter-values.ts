/**
 * OCPP 1.6 MeterValues of a connector: the sampled values (the measurands of configuration.ts,
 * from the station's state), sent every MeterValueSampleInterval during a transaction
 * (Sample.Periodic) and on a TriggerMessage. During a transaction they go through the
 * transaction queue, so they survive going offline; otherwise they are sent once, if online.
 */
import type { OcppChargePoint } from './charge-point.js';
import type { MEASURANDS } from './configuration.js';
import type { Connector } from './connector.js';

/** (Re)starts a connector's periodic samples; none without a transaction or with interval 0. */
export function restartMeterValues(cp: OcppChargePoint, c: Connector): void {
  if (c.meterTimer !== undefined) cp.clock.clearTimeout(c.meterTimer);
  const intervalS = cp.config.seconds('MeterValueSampleInterval');
  if (!c.tx || intervalS <= 0) return;
  c.meterTimer = cp.clock.setTimeout(() => {
    sendMeterValues(cp, c, 'Sample.Periodic');
    restartMeterValues(cp, c);
  }, intervalS * 1000);
}

/** One MeterValues of the connector now; `context` as OCPP names it (Sample.Periodic, Trigger). */
export function sendMeterValues(cp: OcppChargePoint, c: Connector, context: string): void {
  const s = cp.controller.state(c.station);
  if (!s) return;
  const values: Record<(typeof MEASURANDS)[number], [number | undefined, string]> = {
    'Energy.Active.Import.Register': [c.meterWh(), 'Wh'],
    'Power.Active.Import': [s.powerW, 'W'],
    'Current.Import': [s.currentA, 'A'],
    Voltage: [s.voltageV, 'V'],
    SoC: [s.socPercent, 'Percent'],
  };
  const sampledValue = Object.entries(values)
    .filter(([, [v]]) => v !== undefined && Number.isFinite(v))
    .map(([measurand, [v, unit]]) => ({ value: String(Math.round((v as number) * 10) / 10), context, measurand, unit, ...(measurand === 'SoC' ? { location: 'EV' } : {}) }));
  const meterValue = [{ timestamp: new Date(cp.clock.now()).toISOString(), sampledValue }];
  if (c.tx) cp.enqueue('MeterValues', { connectorId: c.id, meterValue }, c.tx.localTx);
  else void cp.call('MeterValues', { connectorId: c.id, meterValue });
}
