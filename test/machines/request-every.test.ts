import { describe, expect, it } from 'vitest';
import { requestEvery } from '../../machines/request-every.js';
import { flushMicrotasks, VirtualClock } from '../../util/clock.js';

describe('requestEvery (one request a period until the stop condition)', () => {
  it('asks a period after the start and after each settled request; a failure is asked again', async () => {
    const clock = new VirtualClock();
    const asked: number[] = [];
    const answers: number[] = [];
    const stop = requestEvery({
      clock,
      periodMs: 100,
      request: () => {
        asked.push(clock.now());
        return asked.length === 2 ? Promise.reject(new Error('lost')) : Promise.resolve(asked.length);
      },
      onAnswer: (n) => {
        answers.push(n);
        return n === 3 ? 'stop' : undefined;
      },
    });
    for (let i = 0; i < 6; i++) {
      clock.advance(100);
      await flushMicrotasks();
    }
    expect(asked).toEqual([100, 200, 300]);
    expect(answers).toEqual([1, 3]);
    expect(clock.pending).toBe(0);
    stop();
  });

  it('drops an answer that arrives after the stop and sends nothing without a period', async () => {
    const clock = new VirtualClock();
    let release: (n: number) => void = () => undefined;
    const answers: number[] = [];
    const stop = requestEvery({
      clock,
      periodMs: 50,
      request: () => new Promise<number>((r) => (release = r)),
      onAnswer: (n) => void answers.push(n),
    });
    clock.advance(50);
    stop();
    release(1);
    await flushMicrotasks();
    expect(answers).toEqual([]);
    expect(clock.pending).toBe(0);

    let sent = 0;
    requestEvery({ clock, periodMs: undefined, request: () => Promise.resolve(sent++), onAnswer: () => undefined });
    clock.advance(10_000);
    expect(sent).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
