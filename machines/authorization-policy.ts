/**
 * Who may charge (EVSE side, 18.12.3 Authorization Status Requested). The policy is an actor the
 * session invokes with the EVCC ID and the module's timeout; its answer is sent to the module
 * unless the timeout ran out first (then the session answers "failed" itself).
 *
 * - acceptAll / denyAll
 * - allowList: EVCC IDs (MAC, any of "00:01:01:63:77:31", "000101637731", case-insensitive) and,
 *   for Plug & Charge sessions, EMAIDs ("DE-8AC-C12345678-X" = "de8acc12345678x", contract.ts);
 *   either match authorizes
 * - interactive: the app's callback (a prompt, a web dialog); the AbortSignal fires when the
 *   module's timeout has run out or the session ended, so a prompt can close itself.
 */
import { fromPromise } from 'xstate';
import type { AuthorizationMode, EvseConfig } from './config.js';
import { normaliseEmaid } from './contract.js';

export interface AuthorizationRequest {
  evccId: string;
  /** The contract's EMAID when the EV pays by contract (PnC, Payment Selected). */
  emaid?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export type AuthorizationPolicy =
  | { mode: 'acceptAll' }
  | { mode: 'denyAll' }
  | { mode: 'allowList'; evccIds: readonly string[]; emaids?: readonly string[] }
  | { mode: 'interactive'; ask: (request: AuthorizationRequest) => Promise<boolean> };

export interface PolicyInput {
  policy: AuthorizationPolicy;
  evccId: string;
  emaid?: string;
  timeoutMs: number;
}

const normalise = (id: string): string => id.replace(/[^0-9a-f]/gi, '').toLowerCase();

export function decideStatically(policy: Exclude<AuthorizationPolicy, { mode: 'interactive' }>, evccId: string, emaid?: string): boolean {
  switch (policy.mode) {
    case 'acceptAll':
      return true;
    case 'denyAll':
      return false;
    case 'allowList':
      return policy.evccIds.some((id) => normalise(id) === normalise(evccId)) || (emaid !== undefined && (policy.emaids ?? []).some((e) => normaliseEmaid(e) === normaliseEmaid(emaid)));
  }
}

export const authorizationPolicyLogic = fromPromise<boolean, PolicyInput>(async ({ input, signal }) => {
  const p = input.policy;
  if (p.mode !== 'interactive') return decideStatically(p, input.evccId, input.emaid);
  return p.ask({ evccId: input.evccId, ...(input.emaid !== undefined ? { emaid: input.emaid } : {}), timeoutMs: input.timeoutMs, signal });
});

/** The policy the config names (interactive needs the app's callback, so it cannot come from JSON alone). */
export function policyFromConfig(auth: EvseConfig['authorization'], ask?: (r: AuthorizationRequest) => Promise<boolean>): AuthorizationPolicy {
  const mode: AuthorizationMode = auth.mode;
  switch (mode) {
    case 'acceptAll':
      return { mode };
    case 'denyAll':
      return { mode };
    case 'allowList':
      return { mode, evccIds: auth.allowList, emaids: auth.allowEmaids ?? [] };
    case 'interactive':
      if (!ask) throw new Error('authorization mode "interactive" needs a callback from the app');
      return { mode, ask };
  }
}
