/**
 * Injectable time. Every timer in machines, simulator and transports goes through a `Clock`, so
 * a whole charging session can run on a virtual clock in milliseconds of wall time.
 * The shape matches XState's `clock` actor option (setTimeout/clearTimeout), plus `now()`.
 */
export type TimerId = number;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** Wall time, optionally sped up (`speed` 10 makes a 500 ms timer fire after 50 ms). */
export class RealClock implements Clock {
  private readonly t0 = Date.now();
  private readonly timers = new Map<TimerId, ReturnType<typeof setTimeout>>();
  private nextId = 1;

  constructor(readonly speed = 1) {
    if (!(speed > 0)) throw new RangeError(`clock speed must be > 0, got ${speed}`);
  }

  now(): number {
    return this.t0 + (Date.now() - this.t0) * this.speed;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        fn();
      }, Math.max(0, ms / this.speed)),
    );
    return id;
  }

  clearTimeout(id: TimerId): void {
    const t = this.timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(id);
  }
}

interface VirtualTimer {
  id: TimerId;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Deterministic time for tests: nothing happens until `advance`/`runUntil*` moves the clock.
 * Timers due at the same instant fire in the order they were set.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private nextId = 1;
  private timers: VirtualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.length;
  }

  private popDue(limit: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    if (best) this.timers = this.timers.filter((t) => t !== best);
    return best;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const next = this.popDue(target);
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = target;
  }

  /**
   * Fires timers (and lets promise callbacks run between them) until `done()` holds or no timer
   * is left, or `maxMs` of virtual time passed. Returns whether `done()` held.
   */
  async runUntil(done: () => boolean, maxMs = 24 * 3600_000, stepMs?: number): Promise<boolean> {
    const end = this.t + maxMs;
    await flushMicrotasks();
    while (!done()) {
      const next = this.popDue(stepMs === undefined ? end : Math.min(end, this.t + stepMs));
      if (!next) {
        if (stepMs !== undefined && this.t < end && this.timers.length > 0) {
          this.t = Math.min(end, this.t + stepMs);
          await flushMicrotasks();
          continue;
        }
        return done();
      }
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flushMicrotasks();
    }
    return true;
  }
}

/** Lets queued promise reactions run (several hops, as chained awaits need). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
