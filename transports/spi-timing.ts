/**
 * The SPI wire's timing (manual 9.2.6, 10.2, and what modules in the field needed): how long the
 * master waits between chip select and the first clock, and how such waits are made. The
 * exchange logic (spi.ts) takes these; the simulated slave checks them (sim/spi-slave.ts).
 */
import type { Clock } from '../util/clock.js';

/**
 * Chip select to first clock: the manual says at least 20 µs (9.2.6), but modules in the field
 * needed 40 µs (the vendor's advice in Sevenstax/FreeV2G#33, which fixed it there).
 */
export const CS_DELAY_US = 40;
/** The longest the transport lengthens the delay to when a module still answers zeros. */
export const MAX_CS_DELAY_US = 100;
/** How much longer each zero answer makes the delay. */
export const CS_DELAY_STEP_US = 20;
/** 10.2: stay silent for at least 200 ms to let the other side resynchronise. */
export const RESYNC_PAUSE_MS = 200;

/** Busy-waits `us` microseconds: tens of µs are far below any timer's resolution. */
export function spinDelayUs(us: number): Promise<void> {
  const end = process.hrtime.bigint() + BigInt(Math.ceil(us * 1000));
  while (process.hrtime.bigint() < end) {
    // Deliberately empty: bounded to a few tens of µs per transfer.
  }
  return Promise.resolve();
}

/** A delay on a clock (fractions of a millisecond work on the virtual clock). */
export function clockDelayUs(clock: Clock): (us: number) => Promise<void> {
  return (us) => new Promise((resolve) => clock.setTimeout(resolve, us / 1000));
}

/** The chip-select delay after a zero answer (a module not ready to clock, #33): one step longer, up to the bound. */
export function lengthenedCsDelayUs(currentUs: number, maxUs: number = MAX_CS_DELAY_US): number {
  return Math.min(currentUs + CS_DELAY_STEP_US, Math.max(maxUs, currentUs));
}
