/**
 * A station's authorization through the central system: a RemoteStartTransaction's id tag is
 * taken at once; otherwise Authorize with the EVCC ID (or, under Plug & Charge, the whitepaper's
 * Authorize with the contract's certificate data, else the EMAID as id tag). Offline, or no
 * answer in time: the local policy decides (LocalAuthorizeOffline), so the module gets its answer
 * before its timeout. An id tag the CSMS does not accept waits for a RemoteStartTransaction.
 */
import { decideStatically } from '../../machines/authorization-policy.js';
import type { OcppChargePoint } from './charge-point.js';
import { type ContractData, pncAuthorize } from './pnc-messages.js';

type Params = Record<string, unknown>;
export type StationAuthorizer = (req: { evccId: string; timeoutMs: number; signal: AbortSignal; emaid?: string }) => Promise<boolean>;

/** Plug & Charge: Authorize with the contract's certificate data first; a CSMS without it gets the EMAID as id tag. */
async function authorize(cp: OcppChargePoint, idTag: string, contract: ContractData | undefined): Promise<Params | undefined> {
  const status = contract ? await pncAuthorize(cp, contract) : undefined;
  return status !== undefined ? { idTagInfo: { status } } : cp.call('Authorize', { idTag });
}

export function ocppAuthorizer(cp: OcppChargePoint, station: string): StationAuthorizer {
  return async (req) => {
    const c = cp.connectorOf(station);
    const idTag = (req.emaid ?? req.evccId).slice(0, 20);
    if (c) c.idTag = idTag;
    const now = cp.clock.now();
    if (c?.remote && c.remote.until > now) return true;
    // A resumed session (docs/ocpp.md): its transaction, authorized at its start, goes on; one the
    // CSMS stopped during the pause is not resumed.
    if (c?.refuseResume) return false;
    if (c?.tx?.paused) return true;
    const local = (): boolean => {
      const policy = cp.localPolicy(station);
      return cp.config.get('LocalAuthorizeOffline') === 'true' && policy.mode !== 'interactive' && decideStatically(policy, req.evccId, req.emaid);
    };
    if (!cp.isOnline) return local();
    const answer = await Promise.race([
      authorize(cp, idTag, req.emaid !== undefined && c?.contract?.emaid === req.emaid ? c.contract : undefined),
      new Promise<'late'>((resolve) => {
        const t = cp.clock.setTimeout(() => resolve('late'), Math.max(0, req.timeoutMs - 1000));
        req.signal.addEventListener('abort', () => cp.clock.clearTimeout(t));
      }),
    ]);
    if (answer === 'late' || answer === undefined) return local();
    if ((answer.idTagInfo as { status?: string } | undefined)?.status === 'Accepted') return true;
    // Not known to the CSMS: the vehicle waits for a RemoteStartTransaction (a driver's app)
    // until shortly before the module's timeout.
    if (!c) return false;
    return new Promise<boolean>((resolve) => {
      const finish = (ok: boolean): void => {
        if (c.waiting !== finish) return;
        c.waiting = undefined;
        cp.clock.clearTimeout(t);
        resolve(ok);
      };
      const t = cp.clock.setTimeout(() => finish(false), Math.max(0, req.timeoutMs - 1000 - (cp.clock.now() - now)));
      req.signal.addEventListener('abort', () => finish(false));
      c.waiting = finish;
    });
  };
}
