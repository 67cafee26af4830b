/**
 * The HCI client's public shapes (machines/hci-client.ts): its options, the traffic record every
 * frame leaves, and the handle the app holds. Apart so that the client file holds only its logic.
 */
import type { Observable } from 'rxjs';
import type { DecodedMessage } from '../codec/catalog.js';
import type { LayoutVariant } from '../codec/layouts.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import type { HciClient, StatusEvent, UnusableStatus } from './hci-types.js';

export interface HciClientOptions {
  transport: Transport;
  clock: Clock;
  /** Default response timeout (ms). */
  timeoutMs?: number;
  /** Default time a busy module is retried for (ms after the first send). */
  busyDeadlineMs?: number;
  /** First busy backoff (ms); doubles up to `maxBackoffMs`. */
  busyBackoffMs?: number;
  maxBackoffMs?: number;
  /** Ping period while resynchronising (10.2 suggests 50 ms). */
  resyncPingMs?: number;
}

export interface TrafficRecord {
  dir: 'tx' | 'rx';
  at: number;
  bytes: Uint8Array;
  message?: DecodedMessage;
}

/** Status events carry the clock time they arrived, so hosts can measure their reaction. */
export interface TimedStatusEvent extends StatusEvent {
  at: number;
}

/** Something the operator must see that is not a command's result (a tolerated status layout). */
export interface HciNotice {
  level: 'warn' | 'error';
  text: string;
}

export interface HciClientHandle extends HciClient {
  readonly status$: Observable<TimedStatusEvent>;
  readonly traffic$: Observable<TrafficRecord>;
  /** Each distinct tolerated status layout, once (message, firmware, hex). */
  readonly notices$: Observable<HciNotice>;
  /** Every status message that arrived but was not delivered (each time, unlike `notices$`). */
  readonly unusableStatus$: Observable<UnusableStatus>;
  useFirmware(version: string, layouts: readonly LayoutVariant[]): void;
  /** True while resynchronising after a framing error. */
  readonly resyncing: boolean;
}
