import { describe, expect, it } from 'vitest';
import { flushMicrotasks } from '../../util/clock.js';

/** The loop it replaced: the virtual clock's order of promise reactions against timers depends on it. */
async function awaitLoop(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** A chain of `depth` reactions started before the flush, and where the flush's caller resumes in it. */
async function interleaving(flush: (rounds?: number) => Promise<void>, rounds: number | undefined, depth: number): Promise<string> {
  const seen: string[] = [];
  let n = 0;
  const step = (): void => {
    seen.push(String(n));
    if (++n < depth) void Promise.resolve().then(step);
  };
  void Promise.resolve().then(step);
  await flush(rounds);
  seen.push('flushed');
  return seen.join(',');
}

describe('flushMicrotasks (issue 12 target 4, eighth round)', () => {
  it('resumes its caller after the same number of hops as twenty awaits in a loop', async () => {
    for (const rounds of [undefined, 0, 1, 2, 5, 20, 25]) {
      for (const depth of [0, 1, 19, 20, 21, 22, 40]) {
        expect(await interleaving(flushMicrotasks, rounds, depth)).toBe(await interleaving(awaitLoop, rounds, depth));
      }
    }
  });
});
