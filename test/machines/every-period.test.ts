import { describe, expect, it } from 'vitest';
import { everyPeriod } from '../../machines/every-period.js';
import { VirtualClock } from '../../util/clock.js';

describe('everyPeriod (a tick every period until stopped)', () => {
  it('ticks a period after the start and after each tick, not after the stop', () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const stop = everyPeriod(clock, 200, () => ticks.push(clock.now()));
    clock.advance(650);
    expect(ticks).toEqual([200, 400, 600]);
    stop();
    clock.advance(1000);
    expect(ticks).toEqual([200, 400, 600]);
    expect(clock.pending).toBe(0);
  });

  it('arms nothing when the tick itself stopped the loop', () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const stop = everyPeriod(clock, 100, () => {
      ticks++;
      stop();
    });
    clock.advance(1000);
    expect(ticks).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
