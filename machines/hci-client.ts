/**
 * The HCI client: turns typed commands into request frames, matches their responses, and
 * delivers the module's status messages as typed events (manual chapter 10).
 *
 * - Request IDs 0..254 rotate; 0xFF is what the module uses for unsolicited messages (10.1.3).
 * - A response is matched by module ID, Sub-ID and request ID; everything else with a Sub-ID
 *   >= 0x80 that decodes as a status message goes to `status$`.
 * - Commands to one module are sent one at a time (the module answers in order, and a busy
 *   module is retried rather than flooded); different modules run concurrently.
 * - Result 0x01 (busy) is retried with growing backoff until `busyDeadlineMs` after the first send.
 * - A frame from module 0xFF reports a framing error (10.3.1). Following 10.2 the client stops
 *   sending commands and pings the framing module every 50 ms until a reply comes back; commands
 *   that were waiting for an answer are then sent again with a fresh request ID.
 */
import { Subject, type Subscription } from 'rxjs';
import { type DecodedMessage, decodeMessage, encodeRequest } from '../codec/catalog.js';
import { START, STATUS_REQ_ID, parseFrame } from '../codec/frame.js';
import { sentRequest } from '../codec/sent-request.js';
import { type CommandDef, EncodeError, type ModuleName, type RequestOf, type ResponseOf, resultCodeName } from '../codec/message.js';
import type { LayoutVariant } from '../codec/layouts.js';
import type { Transport } from '../transports/transport.js';
import type { Clock, TimerId } from '../util/clock.js';
import { DEFAULT_ANSWER_TIMEOUT_MS, HciError, type RequestOptions, type UnusableStatus, commandName as name } from './hci-types.js';
import { decodedOrNot, parseFrameOrThrow, record } from './hci-records.js';
import { FRAMING_MOD_ID, PING_REPLY_SUB_ID, PingTemplates, PingWaiters } from './hci-ping.js';
import { StatusReceiver } from './hci-status-rx.js';
import { TrafficLine } from './hci-traffic.js';
import type { HciClientHandle, HciClientOptions, HciNotice, TimedStatusEvent, TrafficRecord } from './hci-client-types.js';
import { LeanSubject } from '../util/lean-subject.js';

export type { HciClientHandle, HciClientOptions, HciNotice, TimedStatusEvent, TrafficRecord } from './hci-client-types.js';

/** Module ID of framing error status frames (10.1.2). */
const FRAMING_ERROR_MOD_ID = 0xff;

interface Pending {
  def: CommandDef;
  fields: unknown;
  reqId: number;
  timeoutMs: number;
  busyDeadline: number;
  backoffMs: number;
  timer?: TimerId;
  resolve(value: unknown): void;
  reject(error: HciError): void;
}

export function createHciClient(options: HciClientOptions): HciClientHandle {
  return new Client(options);
}

class Client implements HciClientHandle {
  readonly status$ = new LeanSubject<TimedStatusEvent>();
  private readonly line = new TrafficLine();
  readonly traffic$ = this.line.traffic$;
  readonly notices$ = new Subject<HciNotice>();
  readonly unusableStatus$ = new Subject<UnusableStatus>();
  private readonly statusRx = new StatusReceiver(this);
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly defaults: Required<Omit<HciClientOptions, 'transport' | 'clock'>>;
  private nextReqId = 0;
  /** In flight per module ID (at most one). */
  private readonly inFlight = new Map<number, Pending>();
  /** Waiting per module ID, in order. */
  private readonly queues = new Map<number, Pending[]>();
  /** Stops receiving (the transport's listener or the `frames$` subscription). */
  private readonly unlisten: () => void;
  private closed = false;
  /** While resynchronising: since when, and whether the commands waiting were given up. */
  private resync: { timer?: TimerId; pingReqId: number; startedAt: number; gaveUp: boolean } | undefined;
  private readonly pings = new PingTemplates();
  private readonly pingWaiters: PingWaiters;
  constructor(options: HciClientOptions) {
    this.transport = options.transport;
    this.clock = options.clock;
    this.pingWaiters = new PingWaiters(options.clock);
    this.defaults = {
      timeoutMs: options.timeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
      busyDeadlineMs: options.busyDeadlineMs ?? 5000,
      busyBackoffMs: options.busyBackoffMs ?? 10,
      maxBackoffMs: options.maxBackoffMs ?? 200,
      resyncPingMs: options.resyncPingMs ?? 50,
    };
    // A transport that hands frames over by a plain call (Ethernet) is listened to directly:
    // no RxJS Subject between a status and its answer (docs/performance.md, target 1, ninth round).
    this.unlisten = this.transport.listen
      ? this.transport.listen({ frame: (bytes) => this.onFrame(bytes), end: () => this.failAll('transport closed', true) })
      : subscriptionEnd(
          this.transport.frames$.subscribe({
            next: (bytes) => this.onFrame(bytes),
            complete: () => this.failAll('transport closed', true),
            error: (e: unknown) => this.failAll(`transport failed: ${String(e)}`, true),
          }),
        );
  }

  useFirmware(version: string, layouts: readonly LayoutVariant[]): void {
    this.statusRx.useFirmware(version, layouts);
  }

  get resyncing(): boolean {
    return this.resync !== undefined;
  }

  get answerTimeoutMs(): number {
    return this.defaults.timeoutMs;
  }

  request<D extends CommandDef>(def: D, fields: RequestOf<D>, options: RequestOptions = {}): Promise<ResponseOf<D>> {
    if (this.closed) return Promise.reject(new HciError('closed', name(def), `${name(def)}: client closed`));
    if (this.resync?.gaveUp) return Promise.reject(new HciError('desync', name(def), `${name(def)}: module not answering pings after a framing error (10.2)`));
    return new Promise<ResponseOf<D>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.defaults.timeoutMs;
      const p: Pending = {
        def,
        fields,
        reqId: -1,
        timeoutMs,
        busyDeadline: this.clock.now() + (options.busyDeadlineMs ?? this.defaults.busyDeadlineMs),
        backoffMs: this.defaults.busyBackoffMs,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      const queue = this.queues.get(def.modId) ?? [];
      queue.push(p);
      this.queues.set(def.modId, queue);
      this.pump(def.modId);
    });
  }

  onReceive(listener: (at: number) => void): () => void {
    return this.line.onReceive(listener);
  }

  /** A frame from the module: its record, then the receive listeners (machines/hci-traffic.ts). */
  recordRx(t: TrafficRecord): void {
    this.line.recordRx(t);
  }

  /** A status: listeners, the status, then its record and its answers' (machines/hci-traffic.ts). */
  deliverStatus(t: TrafficRecord, e: TimedStatusEvent): void {
    // The subject and the event, not a closure: this runs for every status.
    this.line.deliverStatus(t, this.status$, e);
  }

  /** Liveness (10.3.2): one framing Ping; resolves on a Ping Reply, rejects after `timeoutMs`. */
  checkAlive(timeoutMs = this.defaults.timeoutMs): Promise<void> {
    if (this.closed) return Promise.reject(new HciError('closed', 'Framing.Ping', 'Framing.Ping: client closed'));
    const answered = this.pingWaiters.wait(timeoutMs);
    this.pingFrame();
    return answered;
  }

  /**
   * One Ping, no waiter and no timer: the liveness watch at rest (machines/liveness.ts) judges the
   * silence with its own deadline, so a backstop timer and a promise per Ping would be work the
   * idle host does cold every 1.5 s for nothing (docs/performance.md, target 2, sixth round).
   */
  sendPing(): boolean {
    if (this.closed) return false;
    this.pingFrame();
    return true;
  }

  /** A Ping: its frame and record without the encode/decode of the general path (machines/hci-ping.ts). */
  private pingFrame(): number {
    const reqId = this.allocReqId();
    this.send(this.pings.frame(reqId), this.pings.requestMessage(reqId));
    return reqId;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.failAll('client closed', true);
    this.closed = true;
    this.unlisten();
    this.status$.complete();
    this.line.close();
    this.unusableStatus$.complete();
  }

  /** Sends the next queued command of a module when none is in flight. */
  private pump(modId: number): void {
    if (this.inFlight.has(modId) || this.resync || this.closed) return;
    const next = this.queues.get(modId)?.shift();
    if (!next) return;
    this.inFlight.set(modId, next);
    this.transmit(next);
  }

  private allocReqId(): number {
    const id = this.nextReqId;
    this.nextReqId = (this.nextReqId + 1) % STATUS_REQ_ID;
    return id;
  }

  private transmit(p: Pending): void {
    p.reqId = this.allocReqId();
    let frame: Uint8Array;
    try {
      frame = encodeRequest(p.def, p.reqId, p.fields);
    } catch (e) {
      const detail = e instanceof EncodeError ? e.message : String(e);
      this.finish(p, () => p.reject(new HciError('encode', name(p.def), detail)));
      return;
    }
    // The frame leaves before its answer timeout is armed (~25 µs of a cold timer on the wire,
    // docs/performance.md target 1): no transport answers in the same call, so the timer is
    // armed before any response can arrive.
    this.toMedium(frame);
    p.timer = this.clock.setTimeout(() => this.onTimeout(p), p.timeoutMs);
    this.recordTx(frame, sentRequest(p.def, p.reqId, frame));
  }

  /** `message`: the frame's decode when the caller has it (a Ping), else it is decoded here. */
  private send(frame: Uint8Array, message?: DecodedMessage): void {
    this.toMedium(frame);
    this.recordTx(frame, message);
  }

  private toMedium(frame: Uint8Array): void {
    // To the medium first: the record (a decode of the bytes just encoded) and its taps (capture,
    // dashboard, figures) need not hold the answer back. No transport delivers a frame back in
    // the same call (memory: a microtask later; Ethernet, SPI: from the event loop), so the
    // records keep their order.
    this.transport.send(frame).catch(this.sendRefused);
  }

  /**
   * The medium refused a frame: every command waiting on this link fails now rather than at its
   * timeout. One handler for every frame sent (not a closure per frame).
   */
  private readonly sendRefused = (e: unknown): void => {
    this.failAll(`send failed: ${e instanceof Error ? e.message : String(e)}`, false);
  };

  private recordTx(frame: Uint8Array, message?: DecodedMessage): void {
    const at = this.clock.now();
    this.line.record(message ? { dir: 'tx', at, bytes: frame, message } : record('tx', at, frame, decodeMessage(parseFrameOrThrow(frame), { direction: 'toModule' })));
  }

  private onTimeout(p: Pending): void {
    p.timer = undefined;
    this.finish(p, () => p.reject(new HciError('timeout', name(p.def), `${name(p.def)}: no response within ${p.timeoutMs} ms`)));
  }

  /** Clears a pending command's timer, frees its module and sends the next one. */
  private finish(p: Pending, settle: () => void): void {
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    p.timer = undefined;
    if (this.inFlight.get(p.def.modId) === p) this.inFlight.delete(p.def.modId);
    settle();
    this.pump(p.def.modId);
  }

  private onFrame(bytes: Uint8Array): void {
    const at = this.clock.now();
    // A Ping Reply, told from its header bytes: the common frame of an idle host.
    const pingReply = this.pings.isReply(bytes) ? this.pings.replyMessage(bytes) : undefined;
    if (pingReply) {
      this.onPingReply({ dir: 'rx', at, bytes, message: pingReply });
      return;
    }
    const parsed = parseFrame(bytes);
    if ('error' in parsed) {
      this.recordRx({ dir: 'rx', at, bytes });
      if (bytes[0] === START) this.statusRx.undelivered(bytes[1], bytes[2], at);
      return;
    }
    const frame = parsed.frame;
    if (frame.modId === FRAMING_ERROR_MOD_ID) {
      this.recordRx({ dir: 'rx', at, bytes });
      this.startResync();
      return;
    }
    if (frame.modId === FRAMING_MOD_ID && frame.subId === PING_REPLY_SUB_ID) {
      this.onPingReply({ dir: 'rx', at, bytes, ...decodedOrNot(decodeMessage(frame, { direction: 'toHost' })) });
      return;
    }
    const p = this.inFlight.get(frame.modId);
    if (p && p.def.subId === frame.subId && p.reqId === frame.reqId) {
      const decoded = decodeMessage(frame, { direction: 'toHost' });
      this.recordRx(record('rx', at, bytes, decoded));
      this.onResponse(p, frame.payload, decoded);
      return;
    }
    if (this.statusRx.receive(frame, bytes, at)) return;
    this.recordRx(record('rx', at, bytes, decodeMessage(frame, { direction: 'toHost' })));
    // Anything else (a late response to a timed-out request, an unknown message) is only logged;
    // an unknown status Sub-ID is a status the host could not use.
    this.statusRx.undelivered(frame.modId, frame.subId, at);
  }

  private onPingReply(t: TrafficRecord): void {
    this.recordRx(t);
    if (this.resync) this.endResync();
    this.pingWaiters.answered();
  }

  private onResponse(p: Pending, payload: Uint8Array, decoded: ReturnType<typeof decodeMessage>): void {
    const code = payload[0];
    if (code === undefined) {
      this.finish(p, () => p.reject(new HciError('result', name(p.def), `${name(p.def)}: response without result code`)));
      return;
    }
    if (code === 0x01 && this.clock.now() < p.busyDeadline) {
      // Busy (10.1.5): try again after a pause; the module stays reserved for this command.
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      const wait = Math.min(p.backoffMs, Math.max(0, p.busyDeadline - this.clock.now()));
      p.backoffMs = Math.min(p.backoffMs * 2, this.defaults.maxBackoffMs);
      p.timer = this.clock.setTimeout(() => {
        p.timer = undefined;
        if (this.inFlight.get(p.def.modId) === p && !this.resync) this.transmit(p);
      }, wait);
      return;
    }
    if (code !== 0) {
      const codeName = resultCodeName(p.def.module, code);
      const hex = `0x${code.toString(16).padStart(2, '0')}`;
      this.finish(p, () => p.reject(new HciError('result', name(p.def), `${name(p.def)} failed: ${codeName} (${hex})`, code)));
      return;
    }
    if (!decoded.ok) {
      const detail = decoded.error.detail;
      this.finish(p, () => p.reject(new HciError('result', name(p.def), `${name(p.def)}: malformed response: ${detail}`, 0)));
      return;
    }
    const { code: _code, ...rest } = decoded.message.fields;
    void _code;
    this.finish(p, () => p.resolve(rest));
  }

  /** 10.2 option 2: ping every `resyncPingMs` until the framing module answers. */
  private startResync(): void {
    if (this.resync || this.closed) return;
    this.resync = { pingReqId: -1, startedAt: this.clock.now(), gaveUp: false };
    // Commands in flight may never be answered: stop their timers; they go out again after.
    for (const p of this.inFlight.values()) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.timer = undefined;
    }
    this.ping();
  }

  private ping(): void {
    const r = this.resync;
    if (!r || this.closed) return;
    if (!r.gaveUp && this.clock.now() - r.startedAt >= this.defaults.timeoutMs) {
      // No Ping Reply for a whole command timeout: the module is not there. The commands waiting
      // fail now (their own timers were stopped), new ones fail at once; pinging goes on.
      r.gaveUp = true;
      this.failWaiting(`no Ping Reply within ${this.defaults.timeoutMs} ms after a framing error (10.2)`);
    }
    r.pingReqId = this.pingFrame();
    r.timer = this.clock.setTimeout(() => this.ping(), this.defaults.resyncPingMs);
  }

  private endResync(): void {
    const r = this.resync;
    if (!r) return;
    if (r.timer !== undefined) this.clock.clearTimeout(r.timer);
    this.resync = undefined;
    for (const p of [...this.inFlight.values()]) this.transmit(p);
    for (const modId of this.queues.keys()) this.pump(modId);
  }

  private failWaiting(detail: string): void {
    const all = [...this.inFlight.values(), ...[...this.queues.values()].flat()];
    this.inFlight.clear();
    this.queues.clear();
    for (const p of all) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.reject(new HciError('desync', name(p.def), `${name(p.def)}: ${detail}`));
    }
  }

  private failAll(detail: string, close: boolean): void {
    if (this.resync?.timer !== undefined) this.clock.clearTimeout(this.resync.timer);
    this.resync = undefined;
    const all = [...this.inFlight.values(), ...[...this.queues.values()].flat()];
    this.inFlight.clear();
    this.queues.clear();
    for (const p of all) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.reject(new HciError('closed', name(p.def), `${name(p.def)}: ${detail}`));
    }
    this.closed = this.closed || close;
  }
}

export type { ModuleName };

function subscriptionEnd(sub: Subscription): () => void {
  return () => sub.unsubscribe();
}
