/**
 * The OCPP transaction message queue: StartTransaction, MeterValues and StopTransaction wait
 * here, in order, until the central system has answered them, so that neither a lost connection
 * nor a crash loses one (OCPP 1.6 section 4.7: transaction messages are delivered when back
 * online). Persistent as an append-only JSON-lines journal, fsync'd per change:
 *
 *   {"op":"push","seq":7,"method":"MeterValues","params":{...},"localTx":2}
 *   {"op":"ack","seq":7}
 *   {"op":"tx","localTx":2,"transactionId":4711}     (the id the CSMS gave the local transaction)
 *   {"op":"open","localTx":2,"idTag":"...","meterWh":1200,"at":"..."}   (compaction: a running transaction)
 *
 * A transaction is open from its StartTransaction until its StopTransaction is queued; the last
 * queued meter value keeps its register. What is open when the journal is read again was cut by
 * a crash or a power loss: `interrupted` lists it, so the charge point can stop it.
 *
 * Bounded: when full, the oldest MeterValues are dropped first (and it says so); Start/Stop are
 * never dropped. The journal is rewritten compactly when most of it is acknowledged.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

export interface QueuedCall {
  seq: number;
  method: 'StartTransaction' | 'MeterValues' | 'StopTransaction';
  params: Record<string, unknown>;
  /** The station's own number of the transaction (its CSMS id comes with StartTransaction's answer). */
  localTx: number;
}

/** A transaction whose StopTransaction is not queued yet: what a stop after a crash needs. */
export interface OpenTransaction {
  localTx: number;
  idTag: string;
  /** The last energy register queued for it (Wh) and when it was read. */
  meterWh: number;
  at: string;
}

type Line = ({ op: 'push' } & QueuedCall) | { op: 'ack'; seq: number } | { op: 'tx'; localTx: number; transactionId: number } | ({ op: 'open' } & OpenTransaction);

/** The energy register of a MeterValues request (Wh), if it has one. */
function registerOf(params: Record<string, unknown>): { meterWh: number; at: string } | undefined {
  const [value] = (params.meterValue ?? []) as Array<{ timestamp: string; sampledValue: Array<{ measurand?: string; value: string }> }>;
  const register = value?.sampledValue.find((v) => v.measurand === 'Energy.Active.Import.Register');
  return value && register && Number.isFinite(Number(register.value)) ? { meterWh: Number(register.value), at: value.timestamp } : undefined;
}

export class TransactionQueue {
  private items: QueuedCall[] = [];
  private readonly txIds = new Map<number, number>();
  private readonly open = new Map<number, OpenTransaction>();
  /** Transactions the journal left open: the process ended without stopping them. */
  readonly interrupted: OpenTransaction[] = [];
  private nextSeq = 1;
  private nextLocalTx = 1;
  private fd: number | undefined;
  private journalLines = 0;

  constructor(
    private readonly path: string | undefined,
    private readonly maxItems = 10_000,
    private readonly warn: (text: string) => void = () => undefined,
  ) {
    if (path === undefined) return;
    if (existsSync(path)) this.replay(readFileSync(path, 'utf8'));
    this.interrupted.push(...this.open.values());
    this.compact();
  }

  get size(): number {
    return this.items.length;
  }

  peek(): QueuedCall | undefined {
    return this.items[0];
  }

  /** A new local transaction number (unique across restarts: it continues from the journal). */
  newLocalTx(): number {
    return this.nextLocalTx++;
  }

  push(method: QueuedCall['method'], params: Record<string, unknown>, localTx: number): void {
    if (this.items.length >= this.maxItems) {
      const i = this.items.findIndex((q) => q.method === 'MeterValues');
      if (i < 0 || method === 'MeterValues') {
        this.warn(`OCPP queue full (${this.maxItems} messages): dropping this ${method}`);
        if (method === 'MeterValues') return;
      } else {
        const [dropped] = this.items.splice(i, 1);
        if (dropped) this.write({ op: 'ack', seq: dropped.seq });
        this.warn(`OCPP queue full (${this.maxItems} messages): dropped the oldest meter values`);
      }
    }
    const item: QueuedCall = { seq: this.nextSeq++, method, params, localTx };
    this.items.push(item);
    this.follow(item);
    this.write({ op: 'push', ...item });
  }

  /** Keeps the open transactions up to date with a queued message (live and on replay). */
  private follow(item: QueuedCall): void {
    const p = item.params;
    if (item.method === 'StartTransaction')
      this.open.set(item.localTx, { localTx: item.localTx, idTag: String(p.idTag ?? 'unknown'), meterWh: Number(p.meterStart ?? 0), at: String(p.timestamp ?? '') });
    else if (item.method === 'StopTransaction') this.open.delete(item.localTx);
    else {
      const open = this.open.get(item.localTx);
      const reg = registerOf(p);
      if (open && reg) this.open.set(item.localTx, { ...open, ...reg });
    }
  }

  /** The head was delivered (or refused for good). */
  ack(seq: number): void {
    const i = this.items.findIndex((q) => q.seq === seq);
    if (i < 0) return;
    this.items.splice(i, 1);
    this.write({ op: 'ack', seq });
    if (this.journalLines > 1000 && this.journalLines > 4 * this.items.length) this.compact();
  }

  setTransactionId(localTx: number, transactionId: number): void {
    this.txIds.set(localTx, transactionId);
    this.write({ op: 'tx', localTx, transactionId });
  }

  transactionId(localTx: number): number | undefined {
    return this.txIds.get(localTx);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private replay(text: string): void {
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // a torn last line from a crash mid-write
      }
      if (line.op === 'push') {
        const item: QueuedCall = { seq: line.seq, method: line.method, params: line.params, localTx: line.localTx };
        this.items.push(item);
        this.follow(item);
        this.nextSeq = Math.max(this.nextSeq, line.seq + 1);
        this.nextLocalTx = Math.max(this.nextLocalTx, line.localTx + 1);
      } else if (line.op === 'ack') this.items = this.items.filter((q) => q.seq !== line.seq);
      else if (line.op === 'tx') {
        this.txIds.set(line.localTx, line.transactionId);
        this.nextLocalTx = Math.max(this.nextLocalTx, line.localTx + 1);
      } else if (line.op === 'open') {
        const { op: _op, ...open } = line;
        this.open.set(line.localTx, open);
        this.nextLocalTx = Math.max(this.nextLocalTx, line.localTx + 1);
      }
    }
  }

  /** Rewrites the journal with what is still needed (atomically: write, fsync, rename). */
  private compact(): void {
    if (this.path === undefined) return;
    if (this.fd !== undefined) closeSync(this.fd);
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    const needed = new Set([...this.items.map((q) => q.localTx), ...this.open.keys()]);
    // Open transactions last: their state is the latest, over what a queued StartTransaction says.
    const lines: Line[] = [
      ...[...this.txIds].filter(([local]) => needed.has(local)).map(([localTx, transactionId]) => ({ op: 'tx' as const, localTx, transactionId })),
      ...this.items.map((q) => ({ op: 'push' as const, ...q })),
      ...[...this.open.values()].map((o) => ({ op: 'open' as const, ...o })),
    ];
    // Keeps local transaction numbers growing across a compaction that leaves nothing behind.
    if (lines.length === 0 && this.nextLocalTx > 1) lines.push({ op: 'tx', localTx: this.nextLocalTx - 1, transactionId: -1 });
    writeSync(fd, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.journalLines = lines.length;
  }

  private write(line: Line): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
    this.journalLines++;
  }
}
