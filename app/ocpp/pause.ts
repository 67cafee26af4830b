/**
 * Pause and resume under OCPP 1.6 (docs/ocpp.md; the station side in docs/service.md "Pause and
 * resume"): the EV pauses its session (record closure "pause", 18.12.13) and may resume it with
 * the same Session ID. The transaction stays open over the pause: no StopTransaction at the pause,
 * no StartTransaction at the resume, MeterValues go on (flat while paused), the connector shows
 * SuspendedEV. It stops when the pause ends without a resume, or when the CSMS stops it.
 */
import type { StationState } from '../control/controller.js';
import type { OcppChargePoint } from './charge-point.js';
import type { Connector } from './connector.js';

export type PauseStep = 'resumed' | { stopReason: string } | undefined;

/**
 * What a station's state means for its paused transaction: energy flows again in the resumed
 * segment (a fresh sample in `charging`, so a stale one of the paused segment is not counted
 * twice), or the pause ended without a resume and the transaction stops with this reason:
 * unplugged (or the pause given up: the EVSE station waits for a car again), disabled, failed.
 */
export function pauseStep(s: StationState, changed: ReadonlyArray<keyof StationState>, requested: string | undefined): PauseStep {
  if (s.phase === 'charging' && changed.includes('energyWh')) return 'resumed';
  if (s.phase === 'error') return { stopReason: requested ?? 'Other' };
  if (s.phase === 'waitingForVehicle' || !s.online) return { stopReason: requested ?? (!s.online ? 'Reboot' : s.available ? 'EVDisconnected' : 'Local') };
  return undefined;
}

/** The paused segment's energy goes into the register; the transaction stays open. */
export function pauseTransaction(cp: OcppChargePoint, c: Connector, energyWh: number): void {
  if (!c.tx) return;
  c.registerWh += Math.max(0, energyWh);
  c.sessionWh = 0;
  c.tx.paused = true;
  cp.log(`OCPP: connector ${c.id}: the EV paused; transaction kept open (SuspendedEV)`);
}

export function followPause(cp: OcppChargePoint, c: Connector, step: PauseStep): void {
  if (!c.tx || step === undefined) return;
  if (step !== 'resumed') return cp.closeTransaction(c, () => step.stopReason);
  c.tx.paused = false;
  cp.log(`OCPP: connector ${c.id}: the EV resumed; same transaction`);
}

/**
 * RemoteStopTransaction or Reset while the EV has paused: nothing to stop on the station (output
 * already 0, no session), so the transaction stops at once, and the car's resume is refused by
 * the authorizer (authorizer.ts), so no energy flows after the CSMS stopped it.
 */
export function stopPausedTransaction(cp: OcppChargePoint, c: Connector, reason: string): void {
  c.refuseResume = true;
  cp.closeTransaction(c, () => reason);
  const s = cp.controller.state(c.station);
  if (s) cp.updateStatus(c, s);
}
