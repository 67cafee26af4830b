/**
 * Tiny scripted hosts for the EVSE and the EV (the sequences of manual 21.2-21.4, 21.8, 21.9),
 * built on ScriptedHost: tests drive whole sessions through both simulated modules with them,
 * and `module-sim` uses one as the opposite side when no station machine is available.
 */
import { ControlPilot, Slac, V2g } from '../codec/catalog.js';
import type { Clock } from '../util/clock.js';
import type { ScriptedHost, StatusRecord } from './host-stub.js';

export interface EvseStubOptions {
  dc?: boolean;
  ac?: boolean;
  /** Answer authorization / schedules / cable check / start+stop charging (default true). */
  answer?: Partial<Record<'authorization' | 'schedules' | 'cableCheck' | 'startCharging' | 'stopCharging', boolean>>;
  /** Send Update DC/AC Charging Parameters on each parameter change (default true). */
  updateParameters?: boolean;
  maxVoltageV?: number;
  maxCurrentA?: number;
  maxPowerW?: number;
  /** Start listening this long after configuring (a slow host, like the Python reference's 0.1 s). */
  listenAfterMs?: number;
}

/**
 * Configures the EVSE module and answers every request the way a well-behaved host does. Can be
 * called again for the next session (after Session Stopped it stops listening and goes back to
 * 100 % PWM; commands refused because the module is already started are ignored).
 */
export async function runEvseStub(host: ScriptedHost, clock: Clock, o: EvseStubOptions = {}): Promise<void> {
  const since = host.statuses.length;
  const answer = { authorization: true, schedules: true, cableCheck: true, startCharging: true, stopCharging: true, ...o.answer };
  const maxV = o.maxVoltageV ?? 500;
  const maxA = o.maxCurrentA ?? 125;
  const maxP = o.maxPowerW ?? 50_000;
  let presentV = 0;
  let presentA = 0;

  host.on('V2g.EvseAuthorizationStatusRequested', async () => {
    if (answer.authorization) await host.command(V2g.EvseSetAuthorizationStatus, { result: 0 });
  });
  host.on('V2g.EvseSchedulesRequested', async () => {
    if (!answer.schedules) return;
    await host.command(V2g.EvseSetSchedules, {
      result: 0,
      scheduleTuples: [{ scheduleTupleId: 1, entries: [{ startS: 0, intervalS: 86_400, powerW: maxP }] }],
    });
  });
  host.on('V2g.EvseCableCheckRequested', async () => {
    if (answer.cableCheck) await host.command(V2g.EvseSetCableCheckFinished, { result: 0 });
  });
  host.on('V2g.EvseDcChargeParametersChanged', async (s: StatusRecord) => {
    if (o.updateParameters === false) return;
    // An ideal power supply: present values follow the car's targets at once.
    presentV = s.fields.targetVoltageV as number;
    presentA = s.fields.targetCurrentA as number;
    await host.command(V2g.EvseUpdateDcChargingParameters, { isolationLevel: 1, presentVoltageV: presentV, presentCurrentA: presentA, status: 0 });
  });
  let acMode = false;
  let stopRefresh: (() => void) | undefined;
  host.on('V2g.EvseEnergyTransferModeSelected', (s: StatusRecord) => {
    acMode = (s.fields.selectedEnergyTransferMode as number) >= 4;
  });
  host.on('V2g.EvseStartChargingRequested', async () => {
    if (!answer.startCharging) return;
    await host.command(V2g.EvseStartCharging, {});
    if (acMode && o.updateParameters !== false) stopRefresh = keepAcParametersFresh(host, clock);
  });
  host.on('V2g.EvseStopChargingRequested', async () => {
    stopRefresh?.();
    if (answer.stopCharging) await host.command(V2g.EvseStopCharging, {});
  });
  host.on('V2g.EvseSessionStopped', async () => {
    stopRefresh?.();
    await host.request(V2g.EvseStopListen, {});
    await host.request(ControlPilot.SetDutyCycle, { dutyCyclePermill: 1000 });
  });

  await host.request(ControlPilot.SetMode, { mode: 1 });
  await host.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 1000 });
  await host.request(ControlPilot.Start, {});
  await host.request(Slac.StartSlac, { mode: 1 });
  await waitForState(host, 'B', since);
  await host.command(Slac.StartMatching, {});
  await host.command(ControlPilot.SetDutyCycle, { dutyCyclePermill: 50 });
  await host.waitFor('Slac.SlacSuccess', since);
  await host.command(V2g.SetMode, { mode: 1 });
  await host.command(V2g.EvseSetConfiguration, {
    evseIdDin: '+49*123*456*789',
    evseIdIso: 'DE*A23*E45B*78C',
    protocols: [0, 1],
    paymentMethods: [0],
    energyTransferModes: [0, 1, 2, 3, 4, 5],
    certificateInstallationSupported: false,
    certificateUpdateSupported: false,
  });
  await host.command(V2g.EvseSetDcChargingParameters, {
    isolationLevel: 0,
    minVoltageV: 150,
    minCurrentA: 0,
    maxVoltageV: maxV,
    maxCurrentA: maxA,
    maxPowerW: maxP,
    peakCurrentRippleA: 5,
    status: 0,
  });
  await host.command(V2g.EvseSetAcChargingParameters, { rcdStatus: false, nominalVoltageV: 230, maxCurrentA: 32 });
  if (o.listenAfterMs) await new Promise<void>((r) => clock.setTimeout(r, o.listenAfterMs ?? 0));
  await host.command(V2g.EvseStartListen, {});
}

/** In the AC charge loop the host keeps its parameters fresh (18.10.7: at least every 500 ms). */
export function keepAcParametersFresh(host: ScriptedHost, clock: Clock, everyMs = 200): () => void {
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    void host.request(V2g.EvseUpdateAcChargingParameters, { rcdStatus: false, maxCurrentA: 32 }).catch(() => undefined);
    clock.setTimeout(tick, everyMs);
  };
  tick();
  return () => {
    stopped = true;
  };
}

export interface EvStubOptions {
  energyTransferMode: number;
  /** Stop charging this long after Charging Started (else when the car reports complete). */
  chargeForMs?: number;
  targetVoltageV?: number;
  targetCurrentA?: number;
  socPercent?: number;
}

/** CP state B (a car plugged in), seen since status index `since`. */
async function waitForState(host: ScriptedHost, state: 'B', since: number): Promise<void> {
  for (let i = since; ; ) {
    const s = await host.waitFor('ControlPilot.StateChanged', i);
    if (s.fields.state === 1) return;
    i = host.statuses.indexOf(s) + 1;
    void state;
  }
}

/** Waits for a PWM duty cycle of 5 % (ISO 15118 high-level communication, IEC 61851-1). */
async function waitForFivePercent(host: ScriptedHost, since: number): Promise<void> {
  for (let i = since; ; ) {
    const s = await host.waitFor('ControlPilot.DutyCycleChanged', i);
    if (s.fields.dutyCyclePermill === 50) return;
    i = host.statuses.indexOf(s) + 1;
  }
}

/** Configures the EV module, starts a session after SLAC and walks it to Session Stopped. */
export async function runEvStub(host: ScriptedHost, clock: Clock, o: EvStubOptions): Promise<void> {
  const since = host.statuses.length;
  const dc = o.energyTransferMode <= 3;
  host.on('V2g.EvCableCheckReady', async () => {
    await host.command(ControlPilot.SetResistorLevel, { level: 1 });
    await host.command(V2g.EvStartCableCheck, {});
  });
  host.on('V2g.EvPreChargingReady', async () => {
    await host.command(V2g.EvStartPreCharging, {});
  });
  host.on('V2g.EvChargingReady', async () => {
    if (!dc) await host.command(ControlPilot.SetResistorLevel, { level: 1 });
    await host.command(V2g.EvStartCharging, {});
  });
  host.on('V2g.EvChargingStarted', () => {
    if (o.chargeForMs !== undefined) {
      clock.setTimeout(() => void host.request(V2g.EvStopCharging, { renegotiation: false }), o.chargeForMs);
    }
  });
  host.on('V2g.EvPostChargingReady', async () => {
    await host.command(V2g.EvStopSession, {});
  });

  // A failed matching attempt (scenario slacFailures): try again inside the EVSE's window.
  host.on('Slac.SlacFailed', async () => {
    await host.request(Slac.StartMatching, {});
  });
  host.on('V2g.EvSessionStopped', async () => {
    await host.request(ControlPilot.SetResistorLevel, { level: 0 });
  });

  await host.request(ControlPilot.SetMode, { mode: 0 });
  await host.request(ControlPilot.Start, {});
  await host.command(Slac.SetValidationConfiguration, { enabled: false });
  await host.request(Slac.StartSlac, { mode: 0 });
  await waitForFivePercent(host, since);
  await host.command(Slac.StartMatching, {});
  await host.waitFor('Slac.SlacSuccess', since);
  await host.command(V2g.SetMode, { mode: 0 });
  await host.command(V2g.EvSetConfiguration, {
    evId: Uint8Array.of(0xc4, 0x93, 0x00, 0x33, 0x33, 0x33),
    protocols: [0, 1],
    paymentMethods: [0],
    energyTransferModes: [o.energyTransferMode],
    batteryCapacityWh: 40_000,
  });
  if (dc) {
    await host.command(V2g.EvSetDcChargingParameters, {
      minVoltageV: 0,
      minCurrentA: 0,
      minPowerW: 0,
      maxVoltageV: 450,
      maxCurrentA: 100,
      maxPowerW: 45_000,
      socPercent: o.socPercent ?? 50,
      status: 0,
      targetVoltageV: o.targetVoltageV ?? 400,
      targetCurrentA: o.targetCurrentA ?? 50,
      fullSocPercent: 100,
      bulkSocPercent: 80,
      energyRequestWh: 20_000,
      departureTimeS: 3600,
    });
  } else {
    await host.command(V2g.EvSetAcChargingParameters, {
      minVoltageV: 200,
      minCurrentA: 6,
      minPowerW: 1_200,
      maxVoltageV: 250,
      maxCurrentA: 16,
      maxPowerW: 11_000,
      energyRequestWh: 10_000,
      departureTimeS: 3600,
    });
  }
  await host.command(V2g.EvStartSession, {});
}
