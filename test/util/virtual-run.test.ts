/**
 * `VirtualClock.runUntil` as one chain of promise reactions (docs/performance.md, target 4, ninth
 * round) against the loop it replaced (`await flushMicrotasks()` after each timer): promise
 * reactions and timers must interleave exactly as before, since every simulated session's frames
 * depend on that order. Each timer starts promise chains of many depths (around the flush's 20
 * hops), async functions that await, and new timers, some due at the same instant.
 */
import { describe, expect, it } from 'vitest';
import { flushMicrotasks, VirtualClock } from '../../util/clock.js';

interface Internals {
  t: number;
  live: Map<number, unknown>;
  popDue(limit: number): { at: number; fn: () => void } | undefined;
}

/** The loop of the eighth round, verbatim, on the clock's internals. */
async function loopRunUntil(clock: VirtualClock, done: () => boolean, maxMs = 24 * 3600_000, stepMs?: number): Promise<boolean> {
  const c = clock as unknown as Internals;
  const end = c.t + maxMs;
  await flushMicrotasks();
  while (!done()) {
    const next = c.popDue(stepMs === undefined ? end : Math.min(end, c.t + stepMs));
    if (!next) {
      if (stepMs !== undefined && c.t < end && c.live.size > 0) {
        c.t = Math.min(end, c.t + stepMs);
        await flushMicrotasks();
        continue;
      }
      return done();
    }
    c.t = Math.max(c.t, next.at);
    next.fn();
    await flushMicrotasks();
  }
  return true;
}

type Run = (clock: VirtualClock, done: () => boolean, maxMs?: number, stepMs?: number) => Promise<boolean>;

/** A scenario's log of everything that ran, in order, with the virtual time. */
async function scenario(run: Run, opts: { stepMs?: number; maxMs?: number; stopAfter?: number; throwAt?: number }): Promise<string[]> {
  const clock = new VirtualClock(0);
  const log: string[] = [];
  let fired = 0;
  const chain = (tag: string, depth: number): void => {
    let n = 0;
    const step = (): void => {
      log.push(`${tag}:${n}@${clock.now()}`);
      if (++n < depth) void Promise.resolve().then(step);
    };
    void Promise.resolve().then(step);
  };
  const awaiter = async (tag: string, awaits: number): Promise<void> => {
    for (let i = 0; i < awaits; i++) await null;
    log.push(`${tag}:awaited@${clock.now()}`);
    if (awaits % 3 === 0) clock.setTimeout(() => log.push(`${tag}:late@${clock.now()}`), 0);
  };
  const timer = (id: number, at: number): void => {
    clock.setTimeout(() => {
      fired++;
      log.push(`t${id}@${clock.now()}`);
      if (id === opts.throwAt) throw new Error(`timer ${id}`);
      for (const depth of [1, 2, 19, 20, 21, 22, 40]) chain(`t${id}c${depth}`, depth);
      void awaiter(`t${id}a`, id % 25);
      // Timers set from a timer: one at the same instant, one later (a few generations).
      if (id < 40) {
        timer(id * 2 + 1, 0);
        timer(id * 2 + 2, (id % 7) * 5);
      }
    }, at);
  };
  for (let i = 0; i < 4; i++) timer(i, i * 3);
  chain('start', 25);
  const stopAfter = opts.stopAfter ?? Number.POSITIVE_INFINITY;
  try {
    const r = await run(clock, () => fired >= stopAfter, opts.maxMs, opts.stepMs);
    log.push(`resolved ${r}@${clock.now()} pending ${clock.pending}`);
  } catch (e) {
    log.push(`rejected ${(e as Error).message}@${clock.now()}`);
  }
  // Reactions after the run ends belong to the order too.
  await flushMicrotasks(60);
  log.push('end');
  return log;
}

const CASES = [{}, { stopAfter: 9 }, { stopAfter: 1 }, { stepMs: 2 }, { stepMs: 7, maxMs: 30 }, { maxMs: 12 }, { throwAt: 5 }];

describe('VirtualClock.runUntil as a chain of reactions (issue 12 target 4, ninth round)', () => {
  for (const opts of CASES) {
    it(`runs reactions and timers in the order of the awaiting loop (${JSON.stringify(opts)})`, async () => {
      const loop = await scenario(loopRunUntil, opts);
      const chain = await scenario((c, d, m, s) => c.runUntil(d, m, s), opts);
      expect(loop.length).toBeGreaterThan(100);
      expect(chain).toEqual(loop);
    });
  }
});
