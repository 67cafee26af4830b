/**
 * Setting the module's clock at start (Time module, manual chapter 12): Set Time (12.3.1) with
 * the host clock's UTC date and time, when the station's config asks for it. The reference has
 * the same step (Whitebeet.setTime, commented out in its Application.py) but sends local time
 * labelled as UTC; we send UTC. A module that refuses it is logged, not fatal: the station runs
 * without a valid module time as it does when the step is off.
 */
import { Time, TimeType, utcDateTime } from '../codec/modules/time.js';
import type { HciStep } from './hci-actors.js';

/** The start steps that set the module clock: none unless `setModuleTime`. */
export function moduleClockSteps(setModuleTime: boolean | undefined, nowMs: number): HciStep[] {
  if (!setModuleTime) return [];
  const fields = { type: TimeType.utc, ...utcDateTime(nowMs) };
  const text = `Set the module time to ${new Date(nowMs).toISOString().slice(0, 19)}Z (UTC)`;
  return [{ text, def: Time.SetTime, fields, bestEffort: true }];
}
