/**
 * Injectable time. Every timer in machines, simulator and transports goes through a `Clock`, so
 * a whole charging session can run on a virtual clock in milliseconds of wall time.
 * The shape matches XState's `clock` actor option (setTimeout/clearTimeout), plus `now()`.
 */
export type TimerId = number;

/**
 * Real time on the host (monotonic, ms), whichever clock drives the protocol. The deadline
 * figures (longest gap between parameter updates, longest reaction to a status message) are
 * measured in it: they are what a module on the wire sees, where a sped-up clock would multiply
 * the host's jitter (x60: 17 ms of event-loop delay reads as 1 s) and a virtual one hide it.
 */
export function hostNow(): number {
  return performance.now();
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
  /**
   * Runs `fn` once, after the input already waiting has been read (Node: `setImmediate`, which
   * runs after this turn's poll phase), and before the host goes back to sleep. Optional: a clock
   * without it (the virtual one) leaves callers to arm their timer at once. The liveness watch
   * arms a Ping's deadline this way, only when the reply is not in by then: a deadline armed and
   * cleared again still wakes an idle Node host at its due time (docs/performance.md, target 2).
   */
  afterPendingInput?(fn: () => void): void;
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
      setTimeout(
        () => {
          this.timers.delete(id);
          fn();
        },
        Math.max(0, ms / this.speed),
      ),
    );
    return id;
  }

  clearTimeout(id: TimerId): void {
    const t = this.timers.get(id);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(id);
  }

  afterPendingInput(fn: () => void): void {
    setImmediate(fn);
  }
}

interface VirtualTimer {
  id: TimerId;
  at: number;
  seq: number;
  fn: () => void;
}

/** Earlier due time first; timers due at the same instant in the order they were set. */
const before = (a: VirtualTimer, b: VirtualTimer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * Deterministic time for tests: nothing happens until `advance`/`runUntil*` moves the clock.
 * Timers due at the same instant fire in the order they were set.
 *
 * Timers sit in a binary min-heap on (due time, order set), so setting and firing one is
 * O(log n); a cleared timer is only forgotten by id and skipped when it reaches the top (a
 * session sets and clears thousands of deadline timers).
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private nextId = 1;
  private readonly heap: VirtualTimer[] = [];
  /** Timers set and neither fired nor cleared. */
  private readonly live = new Map<TimerId, VirtualTimer>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.nextId++;
    const timer: VirtualTimer = { id, at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.live.set(id, timer);
    this.push(timer);
    return id;
  }

  clearTimeout(id: TimerId): void {
    if (!this.live.delete(id)) return;
    // Cleared timers wait in the heap until they reach the top; rebuild when they dominate.
    if (this.heap.length > 64 && this.heap.length > 4 * this.live.size) {
      this.heap.length = 0;
      for (const t of this.live.values()) this.push(t);
    }
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.live.size;
  }

  private popDue(limit: number): VirtualTimer | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (this.live.get(top.id) !== top) {
        this.pop(); // cleared earlier
        continue;
      }
      if (top.at > limit) return undefined;
      this.pop();
      this.live.delete(top.id);
      return top;
    }
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = h[up] as VirtualTimer;
      if (!before(timer, parent)) break;
      h[i] = parent;
      i = up;
    }
    h[i] = timer;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const left = h[l] as VirtualTimer;
      const right = h[r];
      const useRight = right !== undefined && before(right, left);
      const child = useRight ? right : left;
      if (!before(child, last)) break;
      h[i] = child;
      i = useRight ? r : l;
    }
    h[i] = last;
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
   *
   * The loop `await flushMicrotasks()` after each timer, written as one chain of reactions: the
   * flush's 20 hops and the resume of the awaiting loop are 21 jobs queued one behind the other,
   * and this chain queues the same 21 (`FLUSH_JOBS`), so promise reactions and timers interleave
   * as they did (test/util/virtual-run.test.ts runs both on chains of every depth). It costs no
   * promise, closure or async resume per timer: a session fires ~25,000 timers
   * (docs/performance.md, target 4, ninth round).
   */
  runUntil(done: () => boolean, maxMs = 24 * 3600_000, stepMs?: number): Promise<boolean> {
    const end = this.t + maxMs;
    return new Promise<boolean>((resolve, reject) => {
      const hops = new HopChain(() => step());
      const flush = (): void => hops.start(FLUSH_JOBS);
      // One turn of the loop: from a resume to the next flush (or the end).
      const step = (): void => {
        try {
          if (done()) {
            resolve(true);
            return;
          }
          const next = this.popDue(stepMs === undefined ? end : Math.min(end, this.t + stepMs));
          if (!next) {
            if (stepMs !== undefined && this.t < end && this.live.size > 0) {
              this.t = Math.min(end, this.t + stepMs);
              flush();
              return;
            }
            resolve(done());
            return;
          }
          this.t = Math.max(this.t, next.at);
          next.fn();
          flush();
        } catch (e) {
          reject(e);
        }
      };
      flush();
    });
  }
}

const settled = Promise.resolve();

/** `flushMicrotasks()`'s 20 hops and the resume of the function that awaited it. */
const FLUSH_JOBS = 21;

/**
 * Lets queued promise reactions run (several hops, as chained awaits need). Each hop queues the
 * next behind whatever is waiting then, as `await Promise.resolve()` in a loop did, so reactions
 * interleave the same; reactions on one settled promise cost ~60 % of an async function's resumes,
 * and the virtual clock runs this after every timer (docs/performance.md, target 4, eighth round).
 */
export function flushMicrotasks(rounds = 20): Promise<void> {
  return new Promise((resolve) => new HopChain(resolve).start(rounds));
}

/**
 * Queues `n` promise jobs one behind the other on a settled promise, then calls `then` from the
 * last (at once for 0): each hop goes behind whatever was queued meanwhile. `flushMicrotasks` and
 * the virtual run's loop share it; the loop keeps one chain for the whole run, so a timer costs no
 * closure.
 */
class HopChain {
  private left = 0;
  constructor(private readonly then: () => void) {}

  start(n: number): void {
    this.left = n;
    if (n > 0) settled.then(this.hop);
    else this.then();
  }

  private readonly hop = (): void => {
    if (--this.left > 0) settled.then(this.hop);
    else this.then();
  };
}
