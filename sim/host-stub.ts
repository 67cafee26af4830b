/**
 * A minimal scripted HCI host for tests and for `module-sim` when no station machine drives the
 * other side: request/response by request ID over a Transport, status messages collected in
 * order. It uses only the codec and a transport, never the project's machines.
 */
import { type DecodedMessage, decodeMessage, encodeRequest } from '../codec/catalog.js';
import { decodeStatusTolerant } from '../codec/tolerant.js';
import { parseFrame } from '../codec/frame.js';
import type { CommandDef, RequestOf } from '../codec/message.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';

export interface StatusRecord {
  /** "V2g.EvseSessionStarted" */
  type: string;
  message: string;
  fields: Record<string, unknown>;
  reqId: number;
  at: number;
}

export interface ResponseRecord {
  code: number;
  fields: Record<string, unknown>;
}

export class ScriptedHost {
  readonly statuses: StatusRecord[] = [];
  /** Frames that did not decode (framing errors arrive as FramingError status messages). */
  readonly undecodable: Uint8Array[] = [];
  private reqId = 0;
  private readonly pending = new Map<string, (r: ResponseRecord) => void>();
  private readonly waiters: Array<{ type: string; after: number; resolve: (s: StatusRecord) => void }> = [];
  private readonly handlers = new Map<string, (s: StatusRecord) => void | Promise<void>>();
  private readonly sub;

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
  ) {
    this.sub = transport.frames$.subscribe((f) => this.receive(f));
  }

  /** Runs `fn` for every status message of this type (e.g. answer a request from the module). */
  on(type: string, fn: (s: StatusRecord) => void | Promise<void>): void {
    this.handlers.set(type, fn);
  }

  private receive(bytes: Uint8Array): void {
    const parsed = parseFrame(bytes);
    if ('error' in parsed) {
      this.undecodable.push(bytes);
      return;
    }
    // Status messages in any firmware's layout (codec/layouts.ts); the stub does not know which.
    const st = decodeStatusTolerant(parsed.frame);
    const r = st?.kind === 'exact' ? { ok: true as const, message: st.message } : decodeMessage(parsed.frame, { direction: 'toHost' });
    if (!r.ok) {
      this.undecodable.push(bytes);
      return;
    }
    const m: DecodedMessage = r.message;
    if (m.direction === 'status') {
      const rec: StatusRecord = { type: `${m.module}.${m.message}`, message: m.message, fields: m.fields, reqId: m.reqId, at: this.clock.now() };
      this.statuses.push(rec);
      for (const w of [...this.waiters]) {
        if (w.type === rec.type && this.statuses.length > w.after) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
      const h = this.handlers.get(rec.type);
      if (h) void Promise.resolve(h(rec)).catch(() => undefined);
      return;
    }
    const key = `${m.modId}/${m.subId}/${m.reqId}`;
    const resolve = this.pending.get(key);
    if (resolve) {
      this.pending.delete(key);
      const { code, ...fields } = m.fields as { code: number } & Record<string, unknown>;
      resolve({ code, fields });
    }
  }

  /** Sends a command; resolves with the result code and fields (rejects on timeout). */
  request<D extends CommandDef>(def: D, fields: RequestOf<D>, timeoutMs = 1000): Promise<ResponseRecord> {
    const reqId = this.reqId;
    this.reqId = (this.reqId + 1) % 0xff;
    const key = `${def.modId}/${def.subId}/${reqId}`;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`${def.module}.${def.name}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, (r) => {
        this.clock.clearTimeout(timer);
        resolve(r);
      });
      this.transport.send(encodeRequest(def, reqId, fields)).catch(reject);
    });
  }

  /** Like request, but throws unless the module accepted (code 0). */
  async command<D extends CommandDef>(def: D, fields: RequestOf<D>, timeoutMs = 1000): Promise<Record<string, unknown>> {
    const r = await this.request(def, fields, timeoutMs);
    if (r.code !== 0) throw new Error(`${def.module}.${def.name} refused with 0x${r.code.toString(16).padStart(2, '0')}`);
    return r.fields;
  }

  /** The next status message of this type (one already received counts if `since` is before it). */
  waitFor(type: string, since = this.statuses.length): Promise<StatusRecord> {
    const seen = this.statuses.slice(since).find((s) => s.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ type, after: since, resolve }));
  }

  /** Status message types received, in order (optionally only some modules). */
  types(prefix = ''): string[] {
    return this.statuses.filter((s) => s.type.startsWith(prefix)).map((s) => s.type);
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
