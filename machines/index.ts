/**
 * Public entry points of the session machines: two started station actors.
 *
 *   const evse = createEvseStation({ client, clock, config: evseConfig(), policy });
 *   evse.on('*', (e) => console.log(e));      // StationEmitted: log, phase, sample, ...
 *   evse.send({ type: 'shutdown' });
 *
 * Both actors run on the injected clock (XState timers included) and accept an `inspect`
 * observer (e.g. @statelyai/inspect).
 */
import { type InspectionEvent, type Observer, createActor } from 'xstate';
import { type AuthorizationPolicy, type AuthorizationRequest, policyFromConfig } from './authorization-policy.js';
import { type EvStationInput, evStationMachine } from './station-ev.js';
import { evseStationMachine } from './station-evse.js';
import type { EvseStationInput } from './station-evse-types.js';
import { relayEmitted } from './station-events.js';
import { EVSE_STATION_SYSTEM_ID } from './v2g-evse-session.js';

/** The station's input (station-evse-types.ts), with the policy from the config by default. */
export interface EvseStationOptions extends Omit<EvseStationInput, 'policy'> {
  /** Defaults to the config's authorization (acceptAll / denyAll / allowList). */
  policy?: AuthorizationPolicy;
  /** For config mode 'interactive': how to ask the user. */
  ask?: (request: AuthorizationRequest) => Promise<boolean>;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The station's input (station-ev.ts). */
export interface EvStationOptions extends EvStationInput {
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export function createEvseStation(options: EvseStationOptions) {
  const policy = options.policy ?? policyFromConfig(options.config.authorization, options.ask);
  const actor = createActor(evseStationMachine, {
    systemId: EVSE_STATION_SYSTEM_ID,
    input: {
      client: options.client,
      clock: options.clock,
      config: options.config,
      policy,
      ...(options.certificateProvider ? { certificateProvider: options.certificateProvider } : {}),
      ...(options.behaviour ? { behaviour: options.behaviour } : {}),
      ...(options.powerStage ? { powerStage: options.powerStage } : {}),
      ...(options.setUpAttempts !== undefined ? { setUpAttempts: options.setUpAttempts } : {}),
    },
    clock: options.clock,
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  // Safety net: should the station machine itself fail, its charger must not keep its output.
  actor.subscribe({ error: () => actor.system.get('charger')?.send({ type: 'charger.stop' }) });
  relayEmitted(actor);
  actor.start();
  return actor;
}

export function createEvStation(options: EvStationOptions) {
  const actor = createActor(evStationMachine, {
    input: {
      client: options.client,
      clock: options.clock,
      config: options.config,
      ...(options.behaviour ? { behaviour: options.behaviour } : {}),
      ...(options.battery ? { battery: options.battery } : {}),
      ...(options.setUpAttempts !== undefined ? { setUpAttempts: options.setUpAttempts } : {}),
    },
    clock: options.clock,
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  relayEmitted(actor);
  actor.start();
  return actor;
}

export type EvseStationActor = ReturnType<typeof createEvseStation>;
export type EvStationActor = ReturnType<typeof createEvStation>;

export { evseStationMachine } from './station-evse.js';
export { evStationMachine } from './station-ev.js';
export { createHciClient, type HciClientHandle, type HciClientOptions, type TrafficRecord } from './hci-client.js';
export { HciError, type HciClient, type StatusEvent } from './hci-types.js';
export * from './config.js';
export { type ModuleBehaviour, DEFAULT_MODULE_BEHAVIOUR, moduleBehaviour } from './module-quirks.js';
export * from './station-events.js';
export { type AuthorizationPolicy, type AuthorizationRequest, policyFromConfig } from './authorization-policy.js';
export { checkFirmware, FIRMWARE_TABLE } from './firmware.js';
export type { CertificateProvider, CertificateRequest, CertificateRequestKind } from './certificate-provider.js';
export { type Contract, normaliseEmaid } from './contract.js';
export type { IsolationResult, PowerStage, PowerStageBinding, PowerStageMeasurement, PowerStageSetpoint } from './power-stage.js';
export type { EvBattery, EvBatteryBinding, EvBatteryCommand, EvBatteryReport } from './ev-battery.js';
