/**
 * Plays the module's side of a captured session to a host, as a Transport.
 *
 * Driven by the host: each request the host sends is matched to the captured host's next request
 * of the same module and Sub-ID (in order), compared field by field, and answered with the
 * captured response to it, re-stamped with the host's request ID, after the captured delay.
 * Status messages the module sent unasked are injected at their captured time since the start,
 * but never before the host has made every request that came before them in the capture (then
 * at the captured delay after the last of those). Captured time alone breaks as soon as the host
 * is slower than the captured one (a status would overtake the request it answers); the host's
 * requests alone cannot place statuses that follow none (the car's charge-loop messages). Both
 * together keep the capture's order and its pace.
 *
 * Reads (a Get request with no fields: CP Get State 15.4.9, SLAC Get State 16.4.6, ...) change
 * nothing in the module, and our host makes some of them on a timer (the re-reads after a lost
 * notification, every 1.4 s while SLAC matches): how many a live run captured depends on its load.
 * So reads never hold the statuses behind them, are never "missing", and are answered with the
 * latest captured answer to the same read up to the point the replay has reached (the next one
 * when a status of the same module was played after it: see `onRead`).
 *
 * The framing Ping (10.3.2) is the link's own echo, timed by the host's liveness check: the replayer
 * answers every Ping with its Ping Reply at once, and the captured Pings and replies play no part.
 *
 * A host that stops making the requests the capture holds would leave the statuses waiting: after
 * `stallMs` without progress the replay ends, with the missing request as the divergence.
 */
import { BehaviorSubject, Subject } from 'rxjs';
import { Framing, decodeMessage, encodeStatusFrame, lookup } from '../../codec/catalog.js';
import { computeChecksum, parseFrame } from '../../codec/frame.js';
import type { LinkState, Transport } from '../../transports/transport.js';
import type { Clock, TimerId } from '../../util/clock.js';
import type { CapturedFrame } from './captured.js';
import { type FieldDifference, fieldDifferences } from './compare.js';

export type Divergence =
  | { kind: 'fields'; captured: CapturedFrame; atMs: number; differences: FieldDifference[] }
  | { kind: 'unexpected'; name: string; atMs: number; fields?: Record<string, unknown> }
  | { kind: 'missing'; captured: CapturedFrame };

export interface ReplayerOptions {
  /** Give up when the next captured status waits this long for a request (default 30 s). */
  stallMs?: number;
  /** After the last captured frame, how long the host may still talk (default 5 s). */
  tailMs?: number;
}

export interface HostLine {
  atMs: number;
  name: string;
  /** The captured frame it matched, if any. */
  captured?: CapturedFrame;
  differences: FieldDifference[];
}

/** A request that only reads the module's state (see above): a Get with no fields. */
const isRead = (f: CapturedFrame): boolean => f.kind === 'request' && /\.Get[A-Z]/.test(f.name) && Object.keys(f.fields ?? {}).length === 0;

/** Framing Ping and Ping Reply (10.3.2): the link's echo, not a step of the session. */
const isPing = (f: { modId: number; subId: number }): boolean => f.modId === Framing.Ping.modId && (f.subId === Framing.Ping.subId || f.subId === Framing.PingReply.subId);

const hostName = (modId: number, subId: number): string => {
  const def = lookup(modId, subId);
  return def ? `${def.module}.${def.name}` : `0x${modId.toString(16)}/0x${subId.toString(16)}`;
};

function pushTo(map: Map<string, CapturedFrame[]>, f: CapturedFrame): void {
  const key = `${f.modId}/${f.subId}`;
  const list = map.get(key) ?? [];
  list.push(f);
  map.set(key, list);
}

export class Replayer implements Transport {
  readonly frames$ = new Subject<Uint8Array>();
  readonly linkState$ = new BehaviorSubject<LinkState>({ up: true });
  readonly divergences: Divergence[] = [];
  readonly hostLines: HostLine[] = [];
  /** Captured frames played or matched so far (the furthest point of the capture reached). */
  reachedFrameNo = 0;
  /** Repeats of a captured request beyond its captured count (periodic messages), answered alike. */
  repeats = 0;
  /** Reads the host made (answered from the capture, never gating: see above). */
  reads = 0;

  private readonly requests: CapturedFrame[];
  private readonly statuses: CapturedFrame[];
  /** Captured reads by module/Sub-ID, in capture order. */
  private readonly readsByKind = new Map<string, CapturedFrame[]>();
  private readonly byKind = new Map<string, CapturedFrame[]>();
  private readonly used = new Map<string, number>();
  private readonly matched = new Set<CapturedFrame>();
  private reqCursor = 0;
  private nextStatus = 0;
  private startedAt: number | undefined;
  private gateOpenedAt = 0;
  private statusTimer: TimerId | undefined;
  private stallTimer: TimerId | undefined;
  private closed = false;
  private finishedResolve!: () => void;
  /** Resolves when the capture is played out (or the replay stalled). */
  readonly finished = new Promise<void>((r) => (this.finishedResolve = r));
  private isFinished = false;

  constructor(
    private readonly frames: CapturedFrame[],
    private readonly clock: Clock,
    private readonly o: ReplayerOptions = {},
  ) {
    this.requests = frames.filter((f) => f.kind === 'request' && !isRead(f) && !isPing(f));
    this.statuses = frames.filter((f) => f.kind === 'status' && !isPing(f));
    for (const r of this.requests) pushTo(this.byKind, r);
    for (const r of frames.filter(isRead)) pushTo(this.readsByKind, r);
  }

  private now(): number {
    return this.clock.now() - (this.startedAt ?? this.clock.now());
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.startedAt ??= this.clock.now();
    const item = parseFrame(frame);
    if ('frame' in item) this.onRequest(item.frame.modId, item.frame.subId, item.frame.reqId, frame);
    return Promise.resolve();
  }

  private onRequest(modId: number, subId: number, reqId: number, bytes: Uint8Array): void {
    const key = `${modId}/${subId}`;
    const reads = this.readsByKind.get(key);
    if (isPing({ modId, subId }) || reads) {
      if (reads) this.onRead(reads, reqId, modId, subId);
      else this.onPing(bytes, reqId);
      // Neither moves the capture on, but the first frame of the host starts its clock.
      return this.pump();
    }
    const list = this.byKind.get(key) ?? [];
    const n = this.used.get(key) ?? 0;
    this.used.set(key, n + 1);
    const decoded = parseFrame(bytes);
    const msg = 'frame' in decoded ? decodeMessage(decoded.frame, { direction: 'toModule' }) : undefined;
    const fields = msg?.ok ? msg.message.fields : undefined;
    const atMs = this.now();
    const captured = list[n];
    if (!captured) {
      const last = list.at(-1);
      if (last) {
        // A periodic request the host sent more often than the captured one: not a divergence.
        this.repeats++;
        this.answer(last, reqId);
      } else if (!this.isFinished) {
        this.divergences.push({ kind: 'unexpected', name: hostName(modId, subId), atMs, ...(fields ? { fields } : {}) });
      }
      this.hostLines.push({ atMs, name: hostName(modId, subId), differences: [] });
      return;
    }
    const differences = fields && captured.fields ? fieldDifferences(captured.fields, fields) : [];
    if (differences.length > 0 && !this.isFinished) this.divergences.push({ kind: 'fields', captured, atMs, differences });
    this.hostLines.push({ atMs, name: captured.name, captured, differences });
    this.matched.add(captured);
    this.reachedFrameNo = Math.max(this.reachedFrameNo, captured.frameNo);
    this.answer(captured, reqId);
    this.advanceCursor();
    this.pump();
  }

  /** The module's framing layer echoes a Ping's data in a Ping Reply with the Ping's request ID. */
  private onPing(bytes: Uint8Array, reqId: number): void {
    const decoded = parseFrame(bytes);
    const msg = 'frame' in decoded ? decodeMessage(decoded.frame, { direction: 'toModule' }) : undefined;
    const data = msg?.ok ? (msg.message.fields as { data: Uint8Array }).data : new Uint8Array(0);
    this.clock.setTimeout(() => this.emit(encodeStatusFrame(Framing.PingReply, { data }, reqId), undefined), 0);
  }

  /**
   * A read: the latest captured answer up to the point reached (or the first one, before it). A
   * status of the same module played after that read (the car's CP State Changed B after the
   * start-up Get State's A) says the module's state moved on: the captured read after the point
   * reached answers then, else the host, which re-reads with a car connected too, would be told
   * the state before the status and undo it (the car gone again).
   */
  private onRead(reads: CapturedFrame[], reqId: number, modId: number, subId: number): void {
    let latest = reads.find((r) => r.response) ?? (reads[0] as CapturedFrame);
    for (const r of reads) if (r.response && r.frameNo <= this.reachedFrameNo) latest = r;
    const movedOn = this.statuses.slice(0, this.nextStatus).some((st) => st.modId === modId && st.frameNo > latest.frameNo);
    if (movedOn) latest = reads.find((r) => r.response && r.frameNo > this.reachedFrameNo) ?? latest;
    this.reads++;
    this.hostLines.push({ atMs: this.now(), name: hostName(modId, subId), captured: latest, differences: [] });
    this.matched.add(latest);
    // Its answer does not move the point reached: a read is not a step of the session.
    this.answer(latest, reqId, false);
  }

  /** The captured response to `captured`, with the host's request ID, after the captured delay. */
  private answer(captured: CapturedFrame, reqId: number, advances = true): void {
    const res = captured.response;
    if (!res) return;
    const out = res.bytes.slice();
    out[3] = reqId;
    // Keep "checksum not computed" (0x00) as captured; otherwise make it right for the new ID.
    if (out[out.length - 2] !== 0) out[out.length - 2] = computeChecksum(out, 0, out.length, out.length - 2);
    this.clock.setTimeout(() => this.emit(out, advances ? res : undefined), Math.max(0, res.atMs - captured.atMs));
  }

  private emit(bytes: Uint8Array, captured: CapturedFrame | undefined): void {
    if (this.closed) return;
    if (captured) this.reachedFrameNo = Math.max(this.reachedFrameNo, captured.frameNo);
    this.frames$.next(bytes);
  }

  private advanceCursor(): void {
    const before = this.reqCursor;
    while (this.requests[this.reqCursor] && this.matched.has(this.requests[this.reqCursor] as CapturedFrame)) this.reqCursor++;
    if (this.reqCursor !== before) this.gateOpenedAt = this.clock.now();
  }

  /** Whether every captured request before `s` has been made by the host. */
  private gateOpen(s: CapturedFrame): boolean {
    const next = this.requests[this.reqCursor];
    return !next || next.frameNo > s.frameNo;
  }

  /** Schedules the next captured status, or waits for the host (with a stall limit), or ends. */
  private pump(): void {
    if (this.closed || this.isFinished || this.statusTimer !== undefined || this.startedAt === undefined) return;
    const s = this.statuses[this.nextStatus];
    if (!s) {
      this.clearStall();
      if (!this.requests[this.reqCursor]) this.finishAfter(this.o.tailMs ?? 5_000);
      else this.armStall();
      return;
    }
    if (!this.gateOpen(s)) return this.armStall();
    this.clearStall();
    const anchor = this.requests[this.reqCursor - 1];
    const byTime = this.startedAt + s.atMs;
    const byAnchor = anchor && anchor.frameNo < s.frameNo ? this.gateOpenedAt + Math.max(0, s.atMs - anchor.atMs) : byTime;
    const due = Math.max(byTime, byAnchor, this.clock.now());
    this.statusTimer = this.clock.setTimeout(() => {
      this.statusTimer = undefined;
      this.nextStatus++;
      this.emit(s.bytes, s);
      this.pump();
    }, due - this.clock.now());
  }

  private armStall(): void {
    if (this.stallTimer !== undefined) return;
    this.stallTimer = this.clock.setTimeout(() => {
      this.stallTimer = undefined;
      this.finish();
    }, this.o.stallMs ?? 30_000);
  }

  private clearStall(): void {
    if (this.stallTimer !== undefined) this.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private finishAfter(ms: number): void {
    this.clock.setTimeout(() => this.finish(), ms);
  }

  /** The capture is played out or the host stalled: what it never asked for is missing. */
  finish(): void {
    if (this.isFinished) return;
    this.isFinished = true;
    this.clearStall();
    for (const r of this.requests) if (!this.matched.has(r)) this.divergences.push({ kind: 'missing', captured: r });
    // Reads and their answers after the last frame reached are the captured host's timers, not the session.
    const unreached = this.frames.filter((f) => f.frameNo > this.reachedFrameNo);
    if (unreached.every((f) => isRead(f) || (f.kind === 'response' && this.isReadAnswer(f)))) this.reachedFrameNo = this.frames.at(-1)?.frameNo ?? 0;
    this.finishedResolve();
  }

  private isReadAnswer(f: CapturedFrame): boolean {
    return this.readsByKind.get(`${f.modId}/${f.subId}`)?.some((r) => r.response === f) ?? false;
  }

  get ended(): boolean {
    return this.isFinished;
  }

  /** Reads in the capture (the captured host's count, timed by its own load). */
  get capturedReads(): number {
    let n = 0;
    for (const list of this.readsByKind.values()) n += list.length;
    return n;
  }

  /** Captured frames in all. */
  get total(): number {
    return this.frames.length;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.clearStall();
    if (this.statusTimer !== undefined) this.clock.clearTimeout(this.statusTimer);
    this.linkState$.next({ up: false, reason: 'closed' });
    this.frames$.complete();
    this.linkState$.complete();
    return Promise.resolve();
  }
}
