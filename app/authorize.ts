/**
 * Who may charge (EVSE side, "Authorization Status Requested", manual 18.12.x / 21.8.4). On a
 * TTY the operator is asked, with a countdown from the module's timeout; otherwise, or when the
 * prompt is off, the configured policy answers: accept all, deny all, or an allow-list of EVCC
 * IDs and (Plug & Charge) EMAIDs. An unanswered prompt counts as "no" one second before the module's own timeout, as the
 * reference application does.
 */
import type { Clock } from '../util/clock.js';
import { normaliseEmaid } from '../machines/contract.js';
import type { EvseSettings } from './config.js';

export type AuthorizationPolicy = EvseSettings['authorization'];

const normalizeId = (id: string): string => id.replace(/[^0-9a-f]/gi, '').toLowerCase();

/** `emaid`: the contract of a Plug & Charge session; the allow-list matches EVCC ID or EMAID. */
export function policyDecision(policy: AuthorizationPolicy, evccId: string, emaid?: string): boolean {
  switch (policy.policy) {
    case 'accept':
      return true;
    case 'deny':
      return false;
    case 'allowList':
      return policy.allow.some((id) => normalizeId(id) === normalizeId(evccId)) || (emaid !== undefined && (policy.allowEmaid ?? []).some((e) => normaliseEmaid(e) === normaliseEmaid(emaid)));
  }
}

export interface PromptIo {
  /** Shows the question (replaces the status line); undefined removes it. */
  show(text: string | undefined): void;
  /** Resolves with the next line typed; `cancel` stops waiting. */
  readLine(): { answer: Promise<string>; cancel(): void };
  /** A log line ("Vehicle was authorized by user!"). */
  log(text: string): void;
}

export interface PromptRequest {
  evccId: string;
  /** Plug & Charge: shown with the question. */
  emaid?: string;
  timeoutMs: number;
  clock: Clock;
  io: PromptIo;
  /** The session no longer needs the answer (timeout or end): close the prompt. */
  signal?: AbortSignal;
}

/** Asks the operator; resolves true (yes), false (no, anything else, or no answer in time). */
export function promptAuthorization(req: PromptRequest): Promise<boolean> {
  const { clock, io } = req;
  const deadline = clock.now() + Math.max(0, req.timeoutMs - 1000);
  return new Promise((resolve) => {
    let timer: number | undefined;
    let settled = false;
    const line = io.readLine();
    /** `why` is logged only for outcomes the station does not report itself. */
    const finish = (ok: boolean, why?: string): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      line.cancel();
      io.show(undefined);
      if (why) io.log(why);
      resolve(ok);
    };
    const tick = (): void => {
      const left = Math.ceil((deadline - clock.now()) / 1000);
      if (left <= 0) {
        finish(false, 'No answer in time: vehicle was NOT authorized');
        return;
      }
      io.show(`Authorize the vehicle ${req.evccId}${req.emaid ? ` (contract ${req.emaid})` : ''}? yes/no, ${left}s left: `);
      timer = clock.setTimeout(tick, Math.min(1000, deadline - clock.now()));
    };
    req.signal?.addEventListener('abort', () => finish(false), { once: true });
    line.answer.then(
      (text) => {
        // The station logs "Vehicle was (NOT) authorized by user!" with the answer.
        finish(/^\s*y(es)?\s*$/i.test(text));
      },
      () => undefined,
    );
    tick();
  });
}

/** Reads lines from a TTY stdin one question at a time. */
export function ttyLineReader(input: NodeJS.ReadStream): PromptIo['readLine'] {
  return () => {
    let onData: ((chunk: Buffer) => void) | undefined;
    let buf = '';
    const answer = new Promise<string>((resolve) => {
      onData = (chunk: Buffer): void => {
        buf += chunk.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(buf.slice(0, nl));
      };
      input.on('data', onData);
      input.resume();
    });
    const cancel = (): void => {
      if (onData) input.off('data', onData);
      input.pause();
    };
    void answer.finally(cancel);
    return { answer, cancel };
  };
}
