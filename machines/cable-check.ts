/**
 * The EVSE's cable check (manual 18.12.8 Cable Check Requested, 18.10.14 Set Cable Check
 * Finished; ISO 15118-2 CableCheck): the host answers only once the power stage's isolation
 * monitor has spoken. This child of the session watches the charger (systemId 'charger') for an
 * isolation result measured since the check began and reports it; the session bounds the wait.
 *
 * - No external stage (the simulated charger): the cable is sound at once ('valid').
 * - valid / warning: the check passed (ISO 15118-2 lets a warning charge).
 * - fault, or no result within the bound: the check failed; the session answers "failed" and
 *   ends (no energy was ever enabled).
 */
import { type ActorRefFrom, fromCallback } from 'xstate';
import type { chargerMachine } from './charger.js';
import { type IsolationResult, POWER_STAGE_DEFAULTS } from './power-stage.js';

export type CableCheckEvent = { type: 'cableCheck.isolation'; result: Exclude<IsolationResult, 'invalid'> };

type ChargerRef = ActorRefFrom<typeof chargerMachine>;

/** A result counts once the charger has started the check (which forgot the previous one). */
function freshResult(charger: ChargerRef): CableCheckEvent['result'] | undefined {
  const c = charger.getSnapshot().context;
  if (!c.powerStage) return 'valid';
  if (c.isolationCheck !== true || c.isolation === undefined || c.isolation === 'invalid') return undefined;
  return c.isolation;
}

export const isolationWatch = fromCallback<{ type: 'none' }, { charger: ChargerRef | undefined }>(({ input, sendBack }) => {
  const { charger } = input;
  if (!charger) {
    sendBack({ type: 'cableCheck.isolation', result: 'valid' } satisfies CableCheckEvent);
    return undefined;
  }
  let reported = false;
  const check = (): void => {
    const result = reported ? undefined : freshResult(charger);
    if (result === undefined) return;
    reported = true;
    sendBack({ type: 'cableCheck.isolation', result } satisfies CableCheckEvent);
  };
  const subscription = charger.subscribe(check);
  check();
  return () => subscription.unsubscribe();
});

/**
 * How long the session waits for the result: the stage's bound, and never past the module's own
 * timeout (Cable Check Requested), less a margin for the answer (as for authorization).
 */
export function cableCheckTimeoutMs(moduleTimeoutMs: number, stageTimeoutMs: number | undefined): number {
  const bound = stageTimeoutMs ?? POWER_STAGE_DEFAULTS.isolationTimeoutMs;
  if (!(moduleTimeoutMs > 0)) return bound;
  const margin = Math.min(1000, moduleTimeoutMs / 2);
  return Math.max(0, Math.min(bound, moduleTimeoutMs - margin));
}
