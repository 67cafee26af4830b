/**
 * A lost Authorization Status Requested (18.12.3) is offered its answer (issue 12 item 13). The
 * module asks the host once and then answers the car's AuthorizationReq "Ongoing" until Set
 * Authorization Status (18.10.12) comes or its timeout (carried by the lost message) runs out:
 * the session then ends with Session Error. Fuzz seed 200201: Payment Selected dropped and
 * Authorization Status Requested corrupted on the HCI link, 30 ms after Session Started; the host
 * waited in the session's start, the module ended the session 60 s later, the car never charged.
 *
 * The V2G module has no query for its session state (chapter 18: Get Mode tells EV or EVSE only),
 * but the answer itself is the probe: Set Authorization Status "has to be used ... after it was
 * requested" (18.10.12) and a command out of its state is refused 0x11 (18.5, "Wrong state, not
 * in the state to receive the command"). So while the session start is quiet, the host offers
 * the acceptance every `periodMs`: taken (code 0), the request had been lost and the session goes
 * on; 0x11, the car has not asked yet, and the host waits on (a later request is handled as usual).
 *
 * Only an acceptance a static policy gives (acceptAll, allowList on the EVCC ID) is offered: an
 * interactive policy would ask a person about a request that may not exist, and a refusal is left
 * to the module's own timeout (the car is not charged either way). Nothing is sent with
 * `periodMs` undefined; a normal start leaves this state within tens of milliseconds, before the
 * first period, so a session that lost nothing sends no probe.
 */
import { fromCallback } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import { AuthorizationResult } from '../../codec/modules/v2g/evse.js';
import { type AuthorizationPolicy, decideStatically } from '../authorization-policy.js';
import type { HciClient } from '../hci-types.js';
import type { Clock } from '../../util/clock.js';
import { requestEvery } from '../request-every.js';

export interface AuthorizationProbeInput {
  client: HciClient;
  clock: Clock;
  periodMs: number | undefined;
}

/** To the session: the module took the offered acceptance, so it had asked (the request was lost). */
export type AuthorizationProbeTaken = { type: 'authorization.probeTaken'; afterMs: number };

/** The period to probe with for this policy and session, or undefined (no probe). */
export function authorizationProbePeriod(policy: AuthorizationPolicy, evccId: string | undefined, periodMs: number): number | undefined {
  if (policy.mode === 'interactive') return undefined;
  return decideStatically(policy, evccId ?? '') ? periodMs : undefined;
}

export const authorizationProbe = fromCallback<{ type: 'noop' }, AuthorizationProbeInput>(({ input, sendBack }) => {
  const { client, clock, periodMs } = input;
  const since = clock.now();
  // 0x11: not asked (yet); a lost answer: tried again at the next period (request-every.ts).
  return requestEvery({
    clock,
    periodMs,
    request: () => client.request(V2g.EvseSetAuthorizationStatus, { result: AuthorizationResult.succeeded }),
    onAnswer: () => {
      sendBack({ type: 'authorization.probeTaken', afterMs: clock.now() - since } satisfies AuthorizationProbeTaken);
      return 'stop';
    },
  });
});
