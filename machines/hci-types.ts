/**
 * The contract between the HCI client actor and the machines that use it. Machines speak typed
 * messages: a command definition from the codec catalog plus its fields, never bytes.
 */
import type { Observable } from 'rxjs';
import type { DecodedMessage } from '../codec/catalog.js';
import type { LayoutVariant } from '../codec/layouts.js';
import type { CommandDef, ModuleName, RequestOf, ResponseOf } from '../codec/message.js';

/** How long a command waits for its response unless the client or the command says otherwise (ms). */
export const DEFAULT_ANSWER_TIMEOUT_MS = 1000;

export interface RequestOptions {
  /** How long to wait for the response (default: the client's answer timeout, on the injected clock). */
  timeoutMs?: number;
  /** Keep retrying a busy (0x01) answer with backoff until this long after the first send. */
  busyDeadlineMs?: number;
}

/** A status message as delivered to machines: `type` is `<Module>.<MessageName>`. */
export interface StatusEvent {
  type: `${ModuleName}.${string}`;
  module: ModuleName;
  message: string;
  fields: Record<string, unknown>;
  /** Clock time the message arrived (set by the client; lets hosts measure their reaction). */
  at?: number;
  /** Host real time it arrived (util/clock.ts hostNow): reaction times are measured in it. */
  hostAt?: number;
}

/**
 * A status message that reached the host but was not delivered on `status$` (issue 9 item 4):
 * `unusable`: it decoded tolerantly but its bytes do not mean what the layout says (the client's
 * notice names them); `undecodable`: a status Sub-ID the catalog does not know, or a frame with a
 * status header that failed its checksum. Command responses (late or malformed) are never one.
 */
export interface UnusableStatus {
  module: ModuleName;
  kind: 'unusable' | 'undecodable';
  /** The message's name when the catalog knows it (`EvSessionStopped`). */
  message?: string;
  /** Clock time it arrived. */
  at: number;
}

export type HciErrorKind = 'result' | 'timeout' | 'closed' | 'encode' | 'desync';

/** A command failed: names the command and, for result codes, the code and its name. */
/** `<Module>.<Name>`, the name a command goes by in errors, events and logs (as HciError.command). */
export const commandName = (def: CommandDef): string => `${def.module}.${def.name}`;

export class HciError extends Error {
  constructor(
    readonly kind: HciErrorKind,
    readonly command: string,
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'HciError';
  }
}

export interface HciClient {
  /** Sends a command and resolves with its response fields (code 0), or rejects with HciError. */
  request<D extends CommandDef>(def: D, fields: RequestOf<D>, options?: RequestOptions): Promise<ResponseOf<D>>;
  /** Status messages (request ID 0xFF and Sub-IDs >= 0x80) as typed events. */
  readonly status$: Observable<StatusEvent>;
  /** Every decoded frame in both directions (for logs, dashboard, captures). */
  readonly traffic$: Observable<{ dir: 'tx' | 'rx'; at: number; bytes: Uint8Array; message?: DecodedMessage }>;
  /**
   * Status messages that arrived but could not be used (machines/status-watchdog.ts bounds the
   * wait that follows); optional so test doubles need not implement it (then nothing is watched).
   */
  readonly unusableStatus$?: Observable<UnusableStatus>;
  /**
   * The firmware the module reported and the status layouts its profile expects
   * (firmware/profiles.ts); optional so test doubles need not implement it.
   */
  useFirmware?(version: string, layouts: readonly LayoutVariant[]): void;
  /**
   * Calls `listener` with the clock time of every frame that arrives from the module, right after
   * its `traffic$` record; returns the unsubscribe. For those that only keep the time of the last
   * frame (the commander, the liveness watch): a plain call per frame instead of an RxJS
   * subscriber each. Optional so test doubles need not implement it (`onModuleFrame` falls back to `traffic$`).
   */
  onReceive?(listener: (at: number) => void): () => void;
  /** Liveness: a framing Ping (10.3.2), resolved by its Ping Reply (clients without it are not watched). */
  checkAlive?(timeoutMs?: number): Promise<void>;
  /**
   * Liveness without a waiter: one framing Ping, its reply seen on `traffic$` like any frame, the
   * verdict left to the caller (machines/liveness.ts, which has its own deadline). False when the
   * client is closed (nothing sent). Optional: the watch falls back to `checkAlive`.
   */
  sendPing?(): boolean;
  /**
   * How long a command waits for its response unless it says otherwise (ms; the client's
   * `timeoutMs`); optional so test doubles need not implement it (DEFAULT_ANSWER_TIMEOUT_MS then).
   */
  readonly answerTimeoutMs?: number;
  close(): Promise<void>;
}

/**
 * Calls `listener` with the time of every frame from the module; returns the unsubscribe. The
 * client's plain `onReceive` where it has one (an RxJS subscriber costs several calls per frame,
 * cold at rest), else `traffic$` (test doubles). For those that keep only the last frame's time:
 * the commander and the liveness watch.
 */
export function onModuleFrame(client: HciClient, listener: (at: number) => void): () => void {
  if (client.onReceive) return client.onReceive(listener);
  const sub = client.traffic$.subscribe((t) => {
    if (t.dir === 'rx') listener(t.at);
  });
  return () => sub.unsubscribe();
}
