/**
 * Whether the module answered a station's Stop Charging (issue 12 item 12, one Stop Charging per
 * session end), read off the HCI traffic: used by station-common.ts and the stations.
 */
import type { Clock, TimerId } from '../util/clock.js';
import { DEFAULT_ANSWER_TIMEOUT_MS, type HciClient } from './hci-types.js';

/** The longest wait for a Stop Charging asked for but not on the wire yet (busy retries: 5 s). */
export const STOP_SETTLE_BOUND_MS = 6000;
const BUSY = 0x01;

/**
 * "Sent" means answered (issue 12 item 12): whether the module answered the station's last Stop
 * Charging request, read off the HCI traffic, so it holds whoever sent it (the session through its
 * commander, a stop actor, a shutdown step) and outlives a session cut while it waits. A request
 * on the wire and not answered yet counts as owed; the owed stop waits for it to settle
 * (`settled`) and sends none if it was answered: never two to a module that answered. The
 * client has one request in flight per module, so the earlier one settles before a second goes.
 */
export class StopChargingWire {
  /** A request went out this session (`newSession` clears it). */
  seen = false;
  /** The last request's outcome: answered (any code but busy), unanswered, or not known yet. */
  answered?: boolean;
  private onWire = false;
  /** The session asked for one (its commander) that is not on the wire yet (queued in the client). */
  private expected = false;
  private timer?: TimerId;
  private waiters: Array<() => void> = [];
  /**
   * The client's answer timeout (Stop Charging is sent with it): a request not answered by then
   * never will be, the client has given it up.
   */
  private readonly answerWaitMs: number;

  constructor(
    client: HciClient,
    private readonly clock: Clock,
    command: string,
  ) {
    this.answerWaitMs = client.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
    client.traffic$.subscribe((t) => {
      const m = t.message;
      if (m?.message !== command) return;
      if (t.dir === 'tx' && m.direction === 'request') this.sent();
      else if (t.dir === 'rx' && m.direction === 'response' && m.fields.code !== BUSY) this.settle(true);
    });
  }

  /** A new session: what went before is not its Stop Charging (one still on the wire stays so). */
  newSession(): void {
    this.seen = false;
    this.expected = false;
    if (!this.onWire) this.answered = undefined;
  }

  /**
   * Whether the session's Stop Charging is owed at its end: not sent, or not answered (yet). A
   * session that says it sent one not seen on the wire has it queued in the client: expected.
   */
  owedAtEnd(sentBySession: boolean): boolean {
    if (!sentBySession) return true;
    if (!this.seen) this.expected = true;
    return this.onWire || this.expected || this.answered !== true;
  }

  /** Resolves once no Stop Charging is pending (at most STOP_SETTLE_BOUND_MS): whether the last was answered. */
  settled(): Promise<boolean> {
    if (!this.onWire && !this.expected) return Promise.resolve(this.answered === true);
    return new Promise<boolean>((resolve) => {
      const bound = this.clock.setTimeout(() => {
        this.expected = false;
        resolve(false);
      }, STOP_SETTLE_BOUND_MS);
      this.waiters.push(() => {
        this.clock.clearTimeout(bound);
        resolve(this.answered === true);
      });
    });
  }

  private sent(): void {
    this.seen = true;
    this.expected = false;
    this.onWire = true;
    this.answered = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.settle(false), this.answerWaitMs);
  }

  private settle(answered: boolean): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.onWire = false;
    this.answered = answered;
    if (this.expected) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
