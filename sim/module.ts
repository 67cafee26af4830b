/**
 * The simulated module core: a frame comes in, is parsed and decoded, dispatched by message name
 * to the service that owns the module ID, and answered the manual's way (10.1.5): the response
 * on the same Sub-ID with the host's request ID; status messages with request ID 0xFF, always
 * after the response of the command that caused them.
 */
import { Subject } from 'rxjs';
import { type DecodedMessage, MODULE_IDS, decodeMessage, encodeResponseFrame, lookup } from '../codec/catalog.js';
import { FRAMING_ERROR_SUB_ID, STATUS_REQ_ID, encodeFrame, parseFrame } from '../codec/frame.js';
import { type CommandDef, EncodeError, type ModuleName, ResultCode, type StatusDef } from '../codec/message.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import type { VirtualCable } from './cable.js';
import type { ModuleFaults } from './faults.js';
import { type ModuleQuirks, QuirkState } from './module-quirks.js';
import { NetworkConfiguration } from '../codec/modules/network-configuration.js';
import { type FirmwareEmulation, encodeStatusAs, firmwareEmulation } from './firmware-emulation.js';
import type { Prng } from './prng.js';
import type { Scenario } from './scenario.js';
import { LeanSubject } from '../util/lean-subject.js';

export type Role = 'EV' | 'EVSE';

/** A handler's answer: the result code and, for code 0, the response fields. */
export interface Reply {
  code: number;
  fields?: Record<string, unknown>;
}
export type Handler = (msg: DecodedMessage) => Reply;

export const ok = (fields?: Record<string, unknown>): Reply => (fields ? { code: ResultCode.accepted, fields } : { code: ResultCode.accepted });
export const fail = (code: number): Reply => ({ code });

/** What a service sees of its module. */
export interface ModuleContext {
  readonly role: Role;
  readonly clock: Clock;
  readonly cable: VirtualCable;
  readonly scenario: Scenario;
  readonly mac: Uint8Array;
  readonly rng: Prng;
  /** How this module's firmware departs from the manual (scenario `quirks`). */
  readonly quirks: ModuleQuirks;
  /** The firmware this module emulates (version reported, layouts, request IDs, behaviours). */
  readonly firmware: FirmwareEmulation;
  /** Sends a status message (request ID 0xFF unless given); queued behind a response in progress. */
  emit(def: StatusDef, fields?: Record<string, unknown>, reqId?: number): void;
  /** Something the simulator could not do the manual's way (reported on `problems$`). */
  problem(detail: string): void;
}

/** One HCI module (CP, SLAC, V2G, ...) of a simulated WHITE-beet. */
export interface Service {
  readonly module: ModuleName;
  readonly handlers: Readonly<Record<string, Handler>>;
  /** Back to the power-on state (Restart System, fault "reset"). */
  reset(): void;
  close?(): void;
}

export type TrafficEntry = { dir: 'rx' | 'tx'; at: number; bytes: Uint8Array };

export class ModuleCore implements ModuleContext {
  readonly services = new Map<ModuleName, Service>();
  readonly traffic$ = new LeanSubject<TrafficEntry>();
  readonly problems$ = new Subject<string>();
  private transport: Transport | undefined;
  private unsubscribe: (() => void) | undefined;
  private queue: Uint8Array[] | undefined;
  /** Fault: the module is hung and answers nothing. */
  silent = false;
  /** Restarting (Sevenstax/FreeV2G#72): deaf and mute until then, slow until `slowUntil`. */
  private bootingUntil = Number.NEGATIVE_INFINITY;
  private slowUntil = Number.NEGATIVE_INFINITY;
  private readonly quirkState: QuirkState;
  firmware: FirmwareEmulation;

  constructor(
    readonly role: Role,
    readonly clock: Clock,
    readonly cable: VirtualCable,
    readonly scenario: Scenario,
    readonly mac: Uint8Array,
    readonly rng: Prng,
    private readonly faults: ModuleFaults = {},
  ) {
    this.quirkState = new QuirkState(scenario.quirks[role === 'EVSE' ? 'evse' : 'ev']);
    this.firmware = firmwareEmulation(role);
  }

  get quirks(): ModuleQuirks {
    return this.quirkState.quirks;
  }

  add(service: Service): void {
    this.services.set(service.module, service);
  }

  /** Serves HCI frames arriving on `transport` (the module's end of a link). */
  attach(transport: Transport): void {
    this.detach();
    this.transport = transport;
    const sub = transport.frames$.subscribe({ next: (f) => this.receive(f) });
    this.unsubscribe = () => sub.unsubscribe();
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.transport = undefined;
  }

  emit(def: StatusDef, fields: Record<string, unknown> = {}, reqId = STATUS_REQ_ID): void {
    if (!this.quirkState.sends(def, this.clock.now())) return;
    let frame: Uint8Array;
    try {
      frame = encodeStatusAs(this.firmware, def, fields, reqId);
    } catch (e) {
      this.problem(`cannot encode ${def.module}.${def.name}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.send(frame);
  }

  problem(detail: string): void {
    this.problems$.next(`${this.role}: ${detail}`);
  }

  /** Handles one frame from the host (public for tests that bypass a transport). */
  receive(bytes: Uint8Array): void {
    if (this.silent || this.booting()) return;
    this.traffic$.next({ dir: 'rx', at: this.clock.now(), bytes });
    const parsed = parseFrame(bytes);
    if ('error' in parsed) {
      this.sendFramingError(FRAMING_ERROR_SUB_ID[parsed.error.kind]);
      return;
    }
    const { frame } = parsed;
    const def = lookup(frame.modId, frame.subId);
    if (!def) {
      // 10.3.1 0xF4 for a module ID the firmware lacks; 10.1.5 0x02 for an unknown Sub-ID.
      if (MODULE_IDS[frame.modId] === undefined) this.sendFramingError(0xf4);
      else this.sendRaw(frame.modId, frame.subId, frame.reqId, ResultCode.unknownSubId);
      return;
    }
    if (def.kind === 'status') {
      this.sendRaw(frame.modId, frame.subId, frame.reqId, ResultCode.unknownSubId);
      return;
    }
    this.dispatch(def, frame.reqId, frame.payload);
  }

  private dispatch(def: CommandDef, reqId: number, payload: Uint8Array): void {
    const service = this.services.get(def.module);
    if (!service) {
      this.answer(def, reqId, { code: ResultCode.unknownCommand });
      return;
    }
    const decoded = decodeMessage({ modId: def.modId, subId: def.subId, reqId, payload }, { direction: 'toModule' });
    if (!decoded.ok) {
      this.answer(def, reqId, { code: ResultCode.malformedData });
      return;
    }
    // 15.4.5 etc.: a command of the other role is an unexpected message.
    if (def.role && def.role !== this.role) {
      this.answer(def, reqId, { code: ResultCode.unexpectedMessage });
      return;
    }
    const handler = service.handlers[def.name];
    if (!handler) {
      this.answer(def, reqId, { code: ResultCode.unknownCommand });
      return;
    }
    if (def.module !== 'Framing' && this.faults.busyRate && this.rng.chance(this.faults.busyRate)) {
      this.answer(def, reqId, { code: ResultCode.busy });
      return;
    }
    const quirkCode = def.module === 'Framing' ? undefined : this.quirkState.intercept(def, this.clock.now());
    if (quirkCode !== undefined) {
      this.answer(def, reqId, { code: quirkCode });
      return;
    }
    // Real firmware reports its interface going down and up between a request and its response.
    if (this.quirkState.flapsBefore(def)) {
      this.emit(NetworkConfiguration.InterfaceDown, { interface: 0 });
      this.emit(NetworkConfiguration.InterfaceUp, { interface: 0 });
    }
    // Status messages the handler emits wait until its response is out.
    this.queue = [];
    let reply: Reply;
    try {
      reply = handler(decoded.message);
    } catch (e) {
      this.problem(`${def.module}.${def.name} handler threw: ${e instanceof Error ? e.stack : String(e)}`);
      reply = { code: ResultCode.internalError };
    }
    const queued = this.queue;
    this.queue = undefined;
    this.answer(def, reqId, reply);
    for (const f of queued) this.send(f);
  }

  private answer(def: CommandDef, reqId: number, reply: Reply): void {
    if (def.module === 'Framing') return; // Ping answers with its own PingReply status.
    let frame: Uint8Array;
    try {
      frame = encodeResponseFrame(def, reqId, reply.code, reply.code === 0 ? (reply.fields ?? {}) : undefined);
    } catch (e) {
      const why = e instanceof EncodeError ? e.message : String(e);
      this.problem(`cannot encode response of ${def.module}.${def.name}: ${why}`);
      frame = encodeResponseFrame(def, reqId, ResultCode.internalError);
    }
    this.send(frame);
  }

  private sendRaw(modId: number, subId: number, reqId: number, code: number): void {
    this.send(encodeFrame({ modId, subId, reqId, payload: Uint8Array.of(code) }));
  }

  /** 10.3.1: module ID 0xFF, the error as Sub-ID, no payload, request ID 0xFF. */
  private sendFramingError(subId: number): void {
    this.send(encodeFrame({ modId: 0xff, subId, reqId: STATUS_REQ_ID, payload: new Uint8Array(0) }));
  }

  private booting(): boolean {
    return this.clock.now() < this.bootingUntil;
  }

  private send(frame: Uint8Array): void {
    if (this.silent || this.booting()) return;
    if (this.queue) {
      this.queue.push(frame);
      return;
    }
    const lateMs = this.clock.now() < this.slowUntil ? this.quirks.restart.slowReplyMs : 0;
    if (lateMs > 0) this.clock.setTimeout(() => this.transmit(frame), lateMs);
    else this.transmit(frame);
  }

  private transmit(frame: Uint8Array): void {
    const t = this.transport;
    if (!t) return;
    this.traffic$.next({ dir: 'tx', at: this.clock.now(), bytes: frame });
    t.send(frame).catch(this.sendRefused);
  }

  /** One handler for every frame sent (not a closure per frame). */
  private readonly sendRefused = (e: unknown): void => this.problem(`frame lost, transport refused it: ${e instanceof Error ? e.message : String(e)}`);

  /** Power-on state for every service (Restart System, fault injection). */
  resetAll(): void {
    this.quirkState.reset();
    for (const s of this.services.values()) s.reset();
  }

  /**
   * A restart the way real modules take it (Sevenstax/FreeV2G#72, quirk `restart`): power-on
   * state now, then silent for `silentMs`, then slow answers for `slowForMs`.
   */
  restart(): void {
    this.resetAll();
    const { silentMs, slowForMs } = this.quirks.restart;
    this.bootingUntil = this.clock.now() + silentMs;
    this.slowUntil = this.bootingUntil + slowForMs;
  }

  close(): void {
    this.detach();
    for (const s of this.services.values()) s.close?.();
    this.traffic$.complete();
    this.problems$.complete();
  }
}
