/**
 * Named points of a charging session, as the virtual cable reports them (events$) and as
 * scenarios and fault configurations refer to them ("unplug in chargeLoop").
 */
export const SESSION_PHASES = [
  'idle',
  'slac',
  'sessionSetup',
  'serviceDiscovery',
  'paymentSelection',
  'authorization',
  'chargeParameterDiscovery',
  'cableCheck',
  'preCharge',
  'powerDelivery',
  'chargeLoop',
  'powerDeliveryStop',
  'weldingDetection',
  'sessionStop',
] as const;

export type SessionPhase = (typeof SESSION_PHASES)[number];
